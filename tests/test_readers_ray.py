"""Ray Tune trials under `lrtui watch` and `export`: a schedule sweep run by Ray Tune itself on a
local `ray.init(num_cpus=2)`, each trial training a small net with its own torch scheduler."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from lrtui.record.export import export_csv, input_files
from lrtui.record.readers import ReadOptions
from lrtui.record.watch import WatchSource
from lrtui.spec.events import CorruptLines, Notice, RunAdded, StatusEvent, StepBlock

SCHEDULES = {"StepLR": {"step_size": 5, "gamma": 0.5}, "CosineAnnealingLR": {"T_max": 20}}


def train(config: dict) -> None:
    """A Tune trainable: a small net under the trial's schedule, a report per step."""
    import torch
    from ray import tune
    from torch import nn

    torch.manual_seed(0)
    x = torch.randn(64, 8)
    y = x.sum(dim=1, keepdim=True)
    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = torch.optim.SGD(net.parameters(), lr=config["lr"])
    kind = getattr(torch.optim.lr_scheduler, config["scheduler"])
    sched = kind(opt, **SCHEDULES[config["scheduler"]])
    for _ in range(20):
        lr = opt.param_groups[0]["lr"]
        loss = nn.functional.mse_loss(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        tune.report({"lr": lr, "loss": loss.item()})


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    ray = pytest.importorskip("ray")
    from ray import cloudpickle, tune

    cloudpickle.register_pickle_by_value(sys.modules[train.__module__])  # workers cannot import tests/

    storage = tmp_path_factory.mktemp("ray_results")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        space = {"scheduler": tune.grid_search(list(SCHEDULES)), "lr": 0.05}
        tuner = tune.Tuner(
            train, param_space=space, run_config=tune.RunConfig(name="schedules", storage_path=str(storage))
        )
        results = tuner.fit()
        assert not results.errors
    finally:
        ray.shutdown()
    return storage


def test_a_tune_sweep_shows_one_panel_per_trial_with_its_config(sweep):
    got = []
    WatchSource(sweep, got.extend).poll_once()
    infos = {e.run: e.info for e in got if isinstance(e, RunAdded)}
    assert len(infos) == 2  # Tune's TensorBoard files in each trial folder are not a second panel
    said = [e.message for e in got if isinstance(e, Notice)]
    assert said and said[-1].startswith(
        f"{sweep}: 2 ray runs (with 2 tensorboard runs in them); not read: schedules/"
    )  # Tune's TensorBoard files are its trials', its own state files are not read
    assert all(info.label.startswith("schedules/train_") for info in infos.values())
    schedulers = sorted(dict(info.config)["scheduler"] for info in infos.values())
    assert schedulers == sorted(SCHEDULES)
    steps = {e.run: e.steps() for e in got if isinstance(e, StepBlock)}
    for run, info in infos.items():
        lrs = [s.lrs[0] for s in steps[run]]
        assert [s.step for s in steps[run]] == list(range(1, 21))
        if dict(info.config)["scheduler"] == "StepLR":
            assert lrs == [pytest.approx(0.05 * 0.5 ** (i // 5)) for i in range(20)]
        else:
            assert lrs[0] == pytest.approx(0.05) and lrs[10] == pytest.approx(0.025)
        assert steps[run][-1].time > 0  # Tune's time_total_s


def test_a_trial_watched_as_its_result_file_grows_then_exported(sweep, tmp_path):
    trial = next(sweep.rglob("result.json")).parent
    copy = tmp_path / "exp" / trial.name
    copy.mkdir(parents=True)
    (copy / "params.json").write_bytes((trial / "params.json").read_bytes())
    lines = (trial / "result.json").read_bytes().splitlines(keepends=True)
    got = []
    src = WatchSource(tmp_path, got.extend)
    result = copy / "result.json"
    result.write_bytes(b"".join(lines[:5]) + lines[5][:30])  # a line still being written
    src.poll_once()
    assert [s.step for e in got if isinstance(e, StepBlock) for s in e.steps()] == [1, 2, 3, 4, 5]
    with result.open("ab") as f:
        f.write(lines[5][30:] + b'{"\x1b[2J": "not a result"}\nnot json\n' + b"".join(lines[6:]))
    src.poll_once()
    assert [s.step for e in got if isinstance(e, StepBlock) for s in e.steps()] == list(range(1, 21))
    assert sum(e.count for e in got if isinstance(e, CorruptLines)) == 2
    result.write_bytes(b"".join(lines[:3]))  # the trial restarted from scratch
    src.poll_once()
    assert any(isinstance(e, StatusEvent) and e.gen == 1 for e in got)
    out = io.StringIO()
    exported = export_csv(input_files(sweep), out, ReadOptions(root=sweep))
    assert exported.rows == 40 and out.getvalue().count("\n") == 41
