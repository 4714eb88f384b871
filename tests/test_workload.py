"""The Workload protocol: any task the protocol describes trains through the same engines,
fairly (same initial weights, same batches per epoch for every run) and exactly."""

from __future__ import annotations

import pytest
import torch
from helpers import plain_task_loop, steps_of
from torch import nn
from torch.nn import functional as F

from lrtui.engine.builtin import BuiltinWorkload
from lrtui.engine.trainer import Trainer
from lrtui.engine.workload import Workload, default_loss, has_batched_loss
from lrtui.modes.config import Settings, build_experiment, parse_scheduler_flag
from lrtui.spec.commands import Verb, toggle_verb

EPOCHS, BATCHES = 3, 5


class ShuffledRegression:
    """A small MLP regressing a noisy target, with batches that differ from epoch to epoch and
    no batched form: the engine must train its runs one after another."""

    name = "shuffled regression"
    batched = False

    def __init__(self) -> None:
        gen = torch.Generator().manual_seed(7)
        self.x = torch.randn(BATCHES * 8, 4, generator=gen)
        self.y = self.x.sum(dim=1, keepdim=True) + 0.1 * torch.randn(BATCHES * 8, 1, generator=gen)
        self.epochs_asked: list[int] = []

    def model(self) -> nn.Module:
        return nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))

    def batches(self, epoch: int):
        self.epochs_asked.append(epoch)
        order = torch.randperm(len(self.x), generator=torch.Generator().manual_seed(100 + epoch))
        return [(self.x[idx], self.y[idx]) for idx in order.view(BATCHES, 8)]

    def loss(self, model, batch):
        return default_loss(model, batch)  # floating targets: mean squared error

    def evaluate(self, model):
        return None

    def batched_loss(self, params, batch):
        return None


def _exp(*specs: str):
    runs = [parse_scheduler_flag(s) for s in specs]
    return build_experiment(Settings(runs=runs, epochs=EPOCHS, batches=BATCHES, lr=0.05, device="cpu"))


def _plain_loop(task: ShuffledRegression, make_scheduler, seed: int = 0) -> list[float]:
    """The same schedule in plain torch: same seeded initial weights, same batches per epoch."""
    return plain_task_loop(task, make_scheduler, F.mse_loss, epochs=EPOCHS, lr=0.05, seed=seed)


def test_a_custom_workload_trains_exactly_like_a_plain_loop():
    task = ShuffledRegression()
    assert isinstance(task, Workload) and not has_batched_loss(task)
    events: list = []
    exp = _exp("StepLR(step_size=1, gamma=0.5)", "ExponentialLR(gamma=0.7)")
    Trainer(exp, events.extend, workload=lambda device: task).run()
    # every epoch's batches were asked for once, and fed to both runs
    assert task.epochs_asked == list(range(EPOCHS))
    for run, make in (
        (0, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.5)),
        (1, lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.7)),
    ):
        got = [s.loss for s in steps_of(events, run)]
        assert got == pytest.approx(_plain_loop(ShuffledRegression(), make), rel=1e-5, abs=1e-7)


def test_the_builtin_workload_trains_stacked_and_sequentially_alike():
    specs = ["StepLR(step_size=1, gamma=0.5)", "CosineAnnealingLR(T_max=3)"]
    losses = {}
    for engine in ("stacked", "sequential"):
        events: list = []
        exp = build_experiment(
            Settings(
                runs=[parse_scheduler_flag(s) for s in specs],
                epochs=EPOCHS,
                batches=BATCHES,
                engine=engine,
                device="cpu",
            )
        )
        Trainer(exp, events.extend).run()
        losses[engine] = [s.loss for r in (0, 1) for s in steps_of(events, r)]
    assert len(losses["stacked"]) == 2 * EPOCHS * BATCHES
    assert losses["stacked"] == pytest.approx(losses["sequential"], rel=1e-5)
    workload = BuiltinWorkload("linear", "random", BATCHES, 4, 0, torch.device("cpu"))
    assert has_batched_loss(workload) and len(workload.batches(0)) == BATCHES


def test_one_toggle_rule():
    assert toggle_verb([False, True]) is Verb.PAUSE  # any running: the running ones pause
    assert toggle_verb([False, False]) is Verb.RESUME
    assert toggle_verb([]) is Verb.RESUME
