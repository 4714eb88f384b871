"""Lightning's `CSVLogger` and the HF Trainer's checkpoints (`trainer_state.json`) under `lrtui
watch` and `export`: the files written by the real trainers in the test, read while they train
(a probe callback polls the watcher mid-run), then broken as live files break."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
import torch
from tiny_hf import Regressor, regression_rows
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lrtui.record.export import export_csv, input_files
from lrtui.record.readers import ReadOptions
from lrtui.record.watch import WatchSource
from lrtui.spec.events import CorruptLines, Notice, RunAdded, ScalarBlock, StatusEvent, StepBlock


class Collect(list):
    def __call__(self, batch):
        self.extend(batch)

    def steps(self, gen: int | None = None) -> list[tuple[int, int, float, float]]:
        """(step, epoch, lr, loss) of every step block, of one generation if given."""
        return [
            (s.step, s.epoch, s.lrs[0], s.loss)
            for e in self
            if isinstance(e, StepBlock) and (gen is None or e.gen == gen)
            for s in e.steps()
        ]

    def scalar(self, tag: str) -> list[int]:
        return [s for e in self if isinstance(e, ScalarBlock) and e.tag == tag for s in e.steps]


def _data() -> TensorDataset:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(160, 3, 8, 8, generator=gen)
    return TensorDataset(x, (x[:, 0].mean(dim=(1, 2)) > 0).long())


def _net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(256, 2)
    )


# ---- Lightning --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lightning_run(tmp_path_factory) -> tuple[Path, Collect, list[int]]:
    """Two epochs of a conv net (BatchNorm, a shuffling DataLoader) under CSVLogger and
    LearningRateMonitor, StepLR per step; the watcher polled at two points of the run."""
    lightning = pytest.importorskip("lightning")
    from lightning.pytorch.callbacks import LearningRateMonitor
    from lightning.pytorch.loggers import CSVLogger

    where = tmp_path_factory.mktemp("lightning")
    got = Collect()
    src = WatchSource(where, got)
    seen: list[int] = []

    class Module(lightning.LightningModule):
        def __init__(self):
            super().__init__()
            self.save_hyperparameters({"scheduler": "StepLR", "gamma": 0.5})
            self.net = _net()

        def training_step(self, batch, _):
            loss = nn.functional.cross_entropy(self.net(batch[0]), batch[1])
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch, _):
            self.log("val_loss", nn.functional.cross_entropy(self.net(batch[0]), batch[1]))

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.parameters(), lr=0.1)
            sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    class Probe(lightning.Callback):
        def on_train_batch_end(self, trainer, *_):
            if trainer.global_step in (15, 35):
                trainer.logger.save()
                src.poll_once()
                seen.append(len(got.steps()))

    data = _data()
    trainer = lightning.Trainer(
        max_epochs=2, log_every_n_steps=5, enable_progress_bar=False, enable_checkpointing=False,
        enable_model_summary=False, logger=CSVLogger(where), accelerator="cpu",
        callbacks=[LearningRateMonitor(logging_interval="step"), Probe()],
    )  # fmt: skip
    train = DataLoader(data, batch_size=8, shuffle=True)
    trainer.fit(Module(), train, DataLoader(data, batch_size=32))
    src.poll_once()
    return where, got, seen


def test_a_lightning_csv_logger_run_is_watched_live(lightning_run):
    _, got, seen = lightning_run
    steps = got.steps()
    assert 0 < seen[0] < seen[1] < len(steps)  # read while training, growing
    assert [s for s, *_ in steps] == sorted({s for s, *_ in steps}) and len(steps) >= 7
    lrs = [lr for _, _, lr, _ in steps]
    assert lrs[0] == pytest.approx(0.1) and lrs == sorted(lrs, reverse=True) and len(set(lrs)) >= 3
    assert all(lr in [pytest.approx(0.1 * 0.5**k) for k in range(6)] for lr in lrs)
    assert {e for _, e, _, _ in steps} == {1, 2}  # Lightning's 0-based epoch, shown from 1
    assert got.scalar("val_loss")  # a column that appeared mid-run: the file was rewritten wider
    info = [e.info for e in got if isinstance(e, RunAdded)][-1]
    assert info.label == "lightning_logs/version_0" and ("scheduler", "StepLR") in info.config
    assert "lr lr-SGD · loss train_loss" in info.detail
    assert not any(isinstance(e, CorruptLines) for e in got)


def test_a_lightning_run_exported(lightning_run):
    where, got, _ = lightning_run
    out = io.StringIO()
    logs = input_files(where)
    assert [log.reader.name for log in logs] == ["lightning"]
    result = export_csv(logs, out, ReadOptions(root=where))
    lines = out.getvalue().splitlines()[1:]
    assert result.rows == len(got.steps()) == len(lines)
    step, epoch, lr, loss = got.steps()[-1]
    assert lines[-1].split(",")[1:5] == [str(step), str(epoch), repr(lr), repr(loss)]


def test_a_lightning_csv_with_garbage_rows_then_replaced(lightning_run, tmp_path):
    csv = tmp_path / "metrics.csv"
    original = next(lightning_run[0].rglob("metrics.csv")).read_text()
    header, *rows = original.splitlines()
    csv.write_text("\n".join([header, *rows, "\x1b[2J,not,numbers", "oops"]) + "\n")
    got = Collect()
    src = WatchSource(tmp_path, got)
    src.poll_once()
    assert sum(e.count for e in got if isinstance(e, CorruptLines)) == 2
    shown = len(got.steps(0))
    csv.write_text("\n".join([header, *rows[:4]]) + "\n")  # a new run in the same file
    src.poll_once()
    assert any(isinstance(e, StatusEvent) and e.gen == 1 and "replaced" in e.message for e in got)
    assert 0 < len(got.steps(1)) < shown


# ---- HF Trainer ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hf_run(tmp_path_factory) -> tuple[Path, Collect, list[int]]:
    """A Trainer saving a checkpoint every 10 steps (keeping 1), cosine schedule with warm-up,
    logging every 2 steps; the watcher polled at each save."""
    transformers = pytest.importorskip("transformers")
    where = tmp_path_factory.mktemp("hf")
    got = Collect()
    src = WatchSource(where, got)
    seen: list[int] = []

    class Probe(transformers.TrainerCallback):
        def on_save(self, args, state, control, **kw):
            src.poll_once()
            seen.append(len(got.steps()))

    rows = regression_rows(200, 0)
    args = transformers.TrainingArguments(
        output_dir=str(where / "out"), report_to=[], max_steps=30, per_device_train_batch_size=4,
        learning_rate=0.05, lr_scheduler_type="cosine", warmup_steps=4, logging_steps=2,
        save_steps=10, save_total_limit=1, eval_strategy="steps", eval_steps=10, use_cpu=True,
        disable_tqdm=True,
    )  # fmt: skip
    trainer = transformers.Trainer(
        model=Regressor(), args=args, train_dataset=rows, eval_dataset=rows[:40], callbacks=[Probe()]
    )
    trainer.train()
    src.poll_once()
    return where, got, seen


def test_an_hf_trainer_is_watched_through_its_checkpoints(hf_run):
    where, got, seen = hf_run
    assert seen[:3] == [5, 10, 15]  # each save shows the steps logged up to it (every 2nd step)
    steps = got.steps()
    assert [s for s, *_ in steps] == list(range(2, 31, 2))
    assert {e.gen for e in got if isinstance(e, StepBlock)} == {0}  # rewritten, never restarted
    lrs = [lr for _, _, lr, _ in steps]
    peak = lrs.index(max(lrs))  # warm-up to 0.05, then cosine down
    assert lrs[0] < lrs[peak] <= 0.05 and lrs[peak:] == sorted(lrs[peak:], reverse=True) and lrs[-1] < 0.01
    assert got.scalar("eval/loss") == [10, 20, 30]
    info = [e.info for e in got if isinstance(e, RunAdded)][-1]
    assert info.label == "out" and info.total_steps == 30
    assert "lr train/learning_rate · loss train/loss" in info.detail
    assert list((where / "out").glob("checkpoint-*")) == [where / "out" / "checkpoint-30"]


def test_an_hf_run_exported_without_its_closing_summary(hf_run):
    where = hf_run[0]
    out = io.StringIO()
    result = export_csv(input_files(where), out, ReadOptions(extra=("eval/loss",), root=where))
    assert result.rows == 15 and result.corrupt == 0
    lines = out.getvalue().splitlines()
    assert (
        lines[0].endswith(",eval/loss") and lines[5].split(",")[1] == "10" and lines[5].split(",")[-1] != ""
    )


def test_a_torn_state_file_then_an_earlier_history(hf_run, tmp_path):
    src_state = next(hf_run[0].rglob("trainer_state.json"))
    run = tmp_path / "run" / "checkpoint-30"
    run.mkdir(parents=True)
    state = json.loads(src_state.read_text())
    file = run / "trainer_state.json"
    text = json.dumps(state)
    file.write_text(text[: len(text) // 2])  # being written
    got = Collect()
    src = WatchSource(tmp_path, got)
    src.poll_once()
    assert sum(e.count for e in got if isinstance(e, CorruptLines)) == 1 and not got.steps()
    shutil.copy(src_state, file)
    src.poll_once()
    assert len(got.steps(0)) == 15
    state["log_history"] = [
        *state["log_history"][:3],
        {"step": 7, "loss": 9.0, "learning_rate": 1e-3},
        "junk",
    ]
    file.write_text(json.dumps(state))  # resumed from an earlier checkpoint: another history
    src.poll_once()
    assert [s for s, *_ in got.steps(1)] == [2, 4, 6, 7]


def test_a_folder_mixing_sources_shows_them_all_and_says_what_took_what(lightning_run, hf_run, tmp_path):
    from lrtui import RunRecorder
    from lrtui.record.export import what_was_read

    shutil.copytree(lightning_run[0] / "lightning_logs", tmp_path / "lightning_logs")
    shutil.copytree(hf_run[0] / "out", tmp_path / "hf")
    with RunRecorder(tmp_path, "own") as rec:
        rec.log(1, epoch=1, lr=0.1, loss=1.0)
    (tmp_path / "README.txt").write_text("notes")
    got = Collect()
    src = WatchSource(tmp_path, got)
    src.poll_once()
    details = {e.info.label: e.info.detail for e in got if isinstance(e, RunAdded)}
    assert set(details) == {"own", "lightning_logs/version_0", "hf"}  # each source, one panel a run
    assert details["lightning_logs/version_0"].startswith("lightning csv · ")
    assert details["hf"].startswith("hf trainer · trainer_state.json · ")
    said = [e.message for e in got if isinstance(e, Notice)]
    assert said == [f"{tmp_path}: 1 hf run, 1 jsonl run, 1 lightning run; not read: README.txt"]
    logs = input_files(tmp_path)
    assert what_was_read(tmp_path, logs) == said[0]
    assert (
        export_csv(logs, io.StringIO(), ReadOptions(root=tmp_path)).rows
        == 1 + len(lightning_run[1].steps()) + 15
    )
