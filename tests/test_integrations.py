"""The callbacks for Hugging Face's Trainer and Lightning, run with the real libraries."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from tiny_hf import Regressor, regression_rows
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lrtui.record.format import decode, decode_header
from lrtui.record.watch import WatchSource
from lrtui.spec.events import EvalEvent, PlanEvent, RunStatus, StatusEvent, StepEvent
from lrtui.state.runs import ExperimentState
from lrtui.state.traces import x_values
from lrtui.ui.widgets.lines import where_line

pytest.importorskip("transformers")
pytest.importorskip("lightning")


def _read(directory):
    files = list(directory.glob("*.jsonl"))
    assert len(files) == 1
    lines = files[0].read_text().splitlines()
    return decode_header(lines[0]), [decode(line, 0, 0) for line in lines[1:]]


def test_hf_trainer_records_steps_plan_marks_and_evals(tmp_path):
    from transformers import Trainer, TrainingArguments

    from lrtui.integrations.hf import LrtuiCallback

    args = TrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=20, per_device_train_batch_size=4, learning_rate=0.05,
        lr_scheduler_type="cosine", warmup_steps=5, logging_steps=2, eval_strategy="steps", eval_steps=10,
        save_strategy="no", report_to=[], use_cpu=True, seed=3, run_name="cosine-warmup",
        disable_tqdm=True,
    )  # fmt: skip
    trainer = Trainer(
        model=Regressor(), args=args, train_dataset=regression_rows(80, 1),
        eval_dataset=regression_rows(16, 2), callbacks=[LrtuiCallback(tmp_path / "runs")],
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.train()
    info, events = _read(tmp_path / "runs")
    assert info.label == "cosine-warmup" and info.total_steps == 20 and info.spec == "cosine"
    plan = next(e for e in events if isinstance(e, PlanEvent))
    assert len(plan.lrs) == 21 and plan.lrs[0] == 0.0  # warm-up from 0, as HF's schedule starts
    assert max(plan.lrs) == pytest.approx(0.05) and plan.lrs[5] == pytest.approx(0.05)
    assert (5, "warmup", "warm-up ends") in plan.marks
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert [s.step for s in steps] == list(range(2, 21, 2))
    for s in steps:  # the LR HF logged at each step is the plan's, step for step
        assert s.lrs[0] == pytest.approx(plan.lrs[s.step - 1], abs=1e-9) or s.lrs[0] == pytest.approx(
            plan.lrs[s.step]
        )
    assert [e.step for e in events if isinstance(e, EvalEvent)] == [10, 20]
    assert isinstance(events[-1], StatusEvent) and events[-1].status is RunStatus.DONE


def _lightning_model():
    """A linear regressor that logs its validation loss, stepping StepLR every batch."""
    import lightning as L

    class Model(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Linear(4, 1)

        def training_step(self, batch, _):
            x, y = batch
            return nn.functional.mse_loss(self.net(x).squeeze(-1), y)

        def validation_step(self, batch, _):
            x, y = batch
            self.log("val_loss", nn.functional.mse_loss(self.net(x).squeeze(-1), y))

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.parameters(), lr=0.1)
            sched = torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    return Model()


def test_lightning_trainer_records_steps_plan_and_validation(tmp_path):
    import lightning as L

    from lrtui.integrations.lightning import LrtuiCallback

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(40, 4, generator=gen)
    data = TensorDataset(x, x.sum(dim=1))
    trainer = L.Trainer(
        max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=[LrtuiCallback(tmp_path / "runs", name="steplr")],
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(_lightning_model(), DataLoader(data, batch_size=8), DataLoader(data, batch_size=20))
    info, events = _read(tmp_path / "runs")
    assert info.label == "steplr" and info.total_steps == 10 and info.spec == "StepLR"
    plan = next(e for e in events if isinstance(e, PlanEvent))
    assert plan.lrs[:9] == pytest.approx([0.1] * 4 + [0.05] * 4 + [0.025])
    assert [m[0] for m in plan.marks] == [4, 8] and plan.marks[0][1] == "drop"
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert len(steps) == 10 and [s.epoch for s in steps] == [1] * 5 + [2] * 5
    assert all(math.isfinite(s.loss) for s in steps)
    assert [e.epoch for e in events if isinstance(e, EvalEvent)] == [1, 2]
    assert events[-1].status is RunStatus.DONE


def _watched(path):
    """What `lrtui watch PATH` shows of its one run."""
    got: list = []
    WatchSource(path, got.extend).poll_once()
    state = ExperimentState([], lambda: 0.0)
    state.apply(got)
    assert len(state.runs) == 1
    return state.runs[0]


def _gapless(series, width: int) -> bool:
    """No empty column in the panel's sparkline from the first logged step on."""
    cols = series.columns(width)
    start = next(c for c, col in enumerate(cols) if col is not None)
    return all(col is not None for col in cols[start:])


@pytest.mark.parametrize("max_steps", [30, 40])
def test_hf_epochs_read_as_logged_and_counted_from_max_steps(tmp_path, max_steps):
    """30 steps an epoch, logged every 5, `max_steps` ending the run after 1 or 1⅓ epochs while
    `num_train_epochs` stays at its default 3. HF logs epoch 1.0 at step 30 (epoch 1's last),
    written by HF itself to TensorBoard too; both files read the same."""
    from transformers import Trainer, TrainingArguments

    from lrtui.integrations.hf import LrtuiCallback

    args = TrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=max_steps, per_device_train_batch_size=4,
        learning_rate=0.05, logging_steps=5, save_strategy="no", report_to=["tensorboard"],
        use_cpu=True, seed=3, disable_tqdm=True,
    )  # fmt: skip
    trainer = Trainer(
        model=Regressor(), args=args, train_dataset=regression_rows(120, 1),
        callbacks=[LrtuiCallback(tmp_path / "runs", name="hf")],
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.train()
    info, events = _read(tmp_path / "runs")
    epochs = 1 if max_steps == 30 else 2
    assert (info.total_steps, info.epochs, info.batches) == (max_steps, epochs, 30)  # not 3 epochs
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert [s.step for s in steps] == list(range(5, max_steps + 1, 5))
    assert [s.epoch for s in steps] == [1] * 6 + [2] * (len(steps) - 6)  # step 30 is epoch 1, not 2
    tb = next((tmp_path / "out").rglob("events.out.tfevents.*")).parent
    for run in (_watched(tmp_path / "runs"), _watched(tb)):
        assert run.step == max_steps and run.epoch == epochs
        assert _gapless(run.loss_series, 60) and _gapless(run.lr_series, 60)  # a line, not a comb
    run = _watched(tmp_path / "runs")
    assert f"ep {epochs}/{epochs} " in where_line(run, 80).plain  # was "ep 2/3" after one epoch
    assert x_values(run, [5.0, 30.0], "epoch") == pytest.approx([5 / 30, 1.0])  # as HF logged them


def test_lightning_counts_its_epochs_from_max_steps(tmp_path):
    """`max_steps` without `max_epochs` (Lightning then says -1): 5 steps an epoch, 7 steps, 2 epochs."""
    import lightning as L

    from lrtui.integrations.lightning import LrtuiCallback

    x = torch.randn(40, 4, generator=torch.Generator().manual_seed(0))
    trainer = L.Trainer(
        max_steps=7, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=[LrtuiCallback(tmp_path / "runs", name="steps")],
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(_lightning_model(), DataLoader(TensorDataset(x, x.sum(dim=1)), batch_size=8))
    info, events = _read(tmp_path / "runs")
    assert (info.total_steps, info.epochs, info.batches) == (7, 2, 5)
    assert [s.epoch for s in events if isinstance(s, StepEvent)] == [1] * 5 + [2] * 2
