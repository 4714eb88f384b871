"""On a CUDA device: the same numbers as on the CPU, stacking through vmap, bf16 autocast, and
memory told before it runs out. Skipped where there is no GPU (CI); run on a lent GPU with
`python -m pytest --noconftest tests/test_cuda.py` (the GPU image has no Textual)."""

from __future__ import annotations

import textwrap

import pytest
import torch

from lrtui.engine.trainer import Trainer
from lrtui.modes.config import Settings, build_experiment, build_ready, parse_scheduler_flag
from lrtui.spec.events import EvalEvent, RunStatus, StatusEvent, StepBlock

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

TASK = """
import torch
from torch import nn

gen = torch.Generator().manual_seed(3)
X = torch.randn(256, 32, generator=gen)
Y = (X[:, :4].sum(dim=1) > 0).long()


def model():
    return nn.Sequential(nn.Linear(32, 256), nn.GELU(), nn.Linear(256, 2))


def batches(epoch):
    order = torch.randperm(256, generator=torch.Generator().manual_seed(epoch))
    return [(X[i], Y[i]) for i in order.view(8, 32)]


def evaluate(model):
    return nn.functional.cross_entropy(model(X[:64].cuda()), Y[:64].cuda()).item()
"""


def _losses(events, run: int) -> list[float]:
    return [loss for e in events if isinstance(e, StepBlock) and e.run == run for loss in e.losses]


def _train(ready) -> list:
    events: list = []
    Trainer(ready.exp, events.extend, workload=ready.workload).run()
    return events


def test_the_seed_experiment_gives_the_cpus_numbers():
    runs = [
        parse_scheduler_flag(s)
        for s in ("StepLR(step_size=1, gamma=0.5)", "CyclicLR(base_lr=0.01, max_lr=0.1)")
    ]
    losses = {}
    for device in ("cpu", "cuda"):
        exp = build_experiment(Settings(runs=runs, epochs=2, batches=50, device=device))
        events: list = []
        Trainer(exp, events.extend).run()
        losses[device] = _losses(events, 0) + _losses(events, 1)
    assert len(losses["cuda"]) == 200
    assert losses["cuda"] == pytest.approx(losses["cpu"], rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("amp", [False, True])
def test_a_task_file_stacks_on_the_gpu(tmp_path, amp):
    path = tmp_path / "task.py"
    path.write_text(textwrap.dedent(TASK))
    specs = [parse_scheduler_flag(s) for s in ("StepLR(step_size=1, gamma=0.5)", "OneCycleLR(max_lr=0.1)")]
    results = {}
    for engine in ("stacked", "sequential"):
        ready = build_ready(
            Settings(runs=specs, task=str(path), epochs=2, device="cuda", engine=engine, amp=amp or None)
        )
        events = _train(ready)
        assert all(e.status is not RunStatus.ERROR for e in events if isinstance(e, StatusEvent))
        assert len([e for e in events if isinstance(e, EvalEvent)]) == 4
        results[engine] = _losses(events, 0) + _losses(events, 1)
    assert len(results["stacked"]) == 32
    tolerance = 3e-2 if amp else 1e-4  # bf16 rounds differently when batched
    assert results["stacked"] == pytest.approx(results["sequential"], rel=tolerance, abs=tolerance)


def test_runs_that_cannot_fit_stop_before_training(tmp_path, monkeypatch):
    path = tmp_path / "task.py"
    path.write_text(
        textwrap.dedent(TASK).replace("256), nn.GELU(), nn.Linear(256", "65536), nn.GELU(), nn.Linear(65536")
    )
    total = torch.cuda.mem_get_info()[1]
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (64 * 2**20, total))
    specs = [parse_scheduler_flag("StepLR(step_size=1)")] * 6
    with pytest.raises(ValueError, match=r"6 runs need about .* GiB is free: compare fewer schedules"):
        build_ready(Settings(runs=specs, task=str(path), epochs=1, device="cuda", optimizer=None))
