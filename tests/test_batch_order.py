"""Same batches for every run, rerun and rank: a task's own unseeded shuffling DataLoader is
drawn on a random stream of (seed, epoch), and a task file imports the modules beside it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from helpers import plain_task_loop, steps_of
from torch.nn import functional as F

from lrtui.engine.seeding import seeded_batches
from lrtui.engine.trainer import Trainer
from lrtui.modes.config import Settings, build_ready, parse_scheduler_flag

ROOT = Path(__file__).resolve().parent.parent
SCHEDULES = ("StepLR(step_size=1, gamma=0.5)", "ExponentialLR(gamma=0.8)")

SHUFFLED = """
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

g = torch.Generator().manual_seed(0)
X = torch.randn(64, 4, generator=g)
Y = (X[:, 0] > X[:, 1]).long()


def model():
    layer = nn.Linear(4, 2)  # the same start under every seed: only the order differs
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.3, -0.2, 0.1, 0.0], [-0.1, 0.2, 0.0, 0.4]]))
        layer.bias.zero_()
    return layer


def batches(epoch):
    return DataLoader(TensorDataset(X, Y), batch_size=8, shuffle=True, {extra})
"""


def _task(tmp_path: Path, extra: str = "", name: str = "shuffled.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(SHUFFLED).replace("{extra}", extra))
    return path


def _losses(task: Path, seed: int = 0) -> list[list[float]]:
    """Every run's step losses, trained to the end by the project's own trainer (one engine:
    under auto a timing race picks it, and the two round differently in the last bit)."""
    runs = [parse_scheduler_flag(s) for s in SCHEDULES]
    exp = Settings(runs=runs, task=str(task), epochs=2, lr=0.1, seed=seed, device="cpu", engine="sequential")
    ready = build_ready(exp)
    events: list = []
    Trainer(ready.exp, events.extend, workload=ready.workload).run()
    return [[s.loss for s in steps_of(events, i)] for i in range(len(runs))]


def test_an_unseeded_shuffling_loader_gives_the_same_losses_on_a_rerun(tmp_path):
    path = _task(tmp_path)
    first = _losses(path)
    torch.rand(7)  # whatever the caller drew in between (a notebook's other cells)
    again = _losses(path)
    assert len(first[0]) == 16 and first == again
    assert first[0] != first[1]  # the schedules differ; the batches they saw did not


def test_another_seed_gives_another_order(tmp_path):
    path = _task(tmp_path)
    zero, one = _losses(path, seed=0), _losses(path, seed=1)
    assert zero[0][0] != one[0][0]  # same start (constant weights), another first batch
    assert _losses(path, seed=1) == one


def test_a_loader_with_workers_trains_and_is_reproducible(tmp_path):
    path = _task(tmp_path, "num_workers=2")
    first = _losses(path)
    assert len(first[0]) == 16 and first == _losses(path)


def test_a_loader_with_its_own_generator_is_left_as_the_user_made_it(tmp_path):
    path = _task(tmp_path, "generator=torch.Generator().manual_seed(100 + epoch)", "own.py")
    runs = [parse_scheduler_flag("StepLR(step_size=1, gamma=0.5)")]
    ready = build_ready(Settings(runs=runs, task=str(path), epochs=2, lr=0.1, device="cpu"))
    events: list = []
    Trainer(ready.exp, events.extend, workload=ready.workload).run()
    module = ready.workload(torch.device("cpu"))._task._obj  # the user's module, as loaded once
    step = lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)  # noqa: E731
    expected = plain_task_loop(module, step, F.cross_entropy, epochs=2, lr=0.1)
    assert [s.loss for s in steps_of(events, 0)] == pytest.approx(expected, rel=1e-6, abs=1e-7)


def test_drawing_an_epoch_leaves_the_callers_random_state_alone():
    loader = torch.utils.data.DataLoader(torch.arange(32.0), batch_size=4, shuffle=True)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    epoch = seeded_batches(lambda e: loader, 0, 0)
    torch.rand(5)  # the caller draws between batches (dropout): the order must not follow it
    order = [b.tolist() for b in epoch]
    assert len(order) == 8 and order == [b.tolist() for b in seeded_batches(lambda e: loader, 0, 0)]
    after_five = torch.get_rng_state()
    torch.set_rng_state(before)
    torch.rand(5)
    assert torch.equal(torch.get_rng_state(), after_five)  # as if no data had been drawn
    assert order != [b.tolist() for b in seeded_batches(lambda e: loader, 0, 1)]  # epochs differ


def test_a_task_file_imports_the_module_beside_it(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # the folder the task adds goes with the test
    (tmp_path / "beside_helpers_7f3.py").write_text("SIZE = 8\n\ndef scale(x):\n    return x * 2\n")
    body = """
    import torch
    from torch import nn
    from beside_helpers_7f3 import SIZE

    X = torch.randn(32, 4, generator=torch.Generator().manual_seed(0))
    Y = X.sum(1, keepdim=True)

    def model():
        return nn.Linear(4, 1)

    def batches(epoch):
        from beside_helpers_7f3 import scale  # a lazy import, while training
        return [(scale(X[i : i + SIZE]), Y[i : i + SIZE]) for i in range(0, 32, SIZE)]
    """
    path = tmp_path / "with_helpers.py"
    path.write_text(textwrap.dedent(body))
    try:
        runs = [parse_scheduler_flag("StepLR(step_size=1)")]
        ready = build_ready(Settings(runs=runs, task=str(path), epochs=1, lr=0.01, device="cpu"))
        events: list = []
        Trainer(ready.exp, events.extend, workload=ready.workload).run()
    finally:
        sys.modules.pop("beside_helpers_7f3", None)
    assert ready.exp.batches == 4 and len(steps_of(events, 0)) == 4


def _step_losses(log_dir: Path) -> dict[str, list[float]]:
    """Each recorded run's step losses, by file name."""
    out: dict[str, list[float]] = {}
    for path in sorted(log_dir.glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        out[path.name] = [r["loss"] for r in rows if "event" not in r and "step" in r]
    return out


def test_torchrun_ranks_see_the_same_batches_as_one_process(tmp_path):
    path = _task(tmp_path)
    flags = ["--headless", "--task", str(path), "--epochs", "1", "--device", "cpu", "--engine", "sequential"]
    flags += [arg for s in SCHEDULES for arg in ("-s", s)]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    spread = subprocess.run(
        [*cmd, "-m", "lrtui", *flags, "--log-dir", str(tmp_path / "ranks")],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert spread.returncode == 0, spread.stderr
    single = subprocess.run(
        [sys.executable, "-m", "lrtui", *flags, "--log-dir", str(tmp_path / "one")],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert single.returncode == 0, single.stderr
    ranks, one = _step_losses(tmp_path / "ranks"), _step_losses(tmp_path / "one")
    assert len(ranks) == 2 and all(len(v) == 8 for v in ranks.values())
    assert ranks == one  # run 1, trained on rank 1, saw rank 0's batches, and one process's
