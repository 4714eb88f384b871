"""Restarting a run midway (`r`, a restart command): the restarted run trains to its end on
the same batches and from the same weights as a run that started fresh, while the others go
on undisturbed; on both engines, with the fused step and torch's shared step, and for a
schedule-free run (which steps alone).

The case that once failed every run: the teacher task, 2 epochs of 20 batches, run 1
restarted after step 15. By then the leading run had passed into epoch 1 and the batch feed
had dropped epoch 1's first batches, which the restarted run needs when it gets there.
"""

from __future__ import annotations

import pytest
from helpers import all_steps, steps_of

from lrtui.engine.feed import EpochFeed
from lrtui.engine.fused import FusedStep
from lrtui.engine.slot import StepGroups
from lrtui.engine.trainer import Trainer
from lrtui.engine.workload import Workload
from lrtui.modes.config import Settings, build_experiment, parse_scheduler_flag
from lrtui.schedule.optimizers import parse_optimizer
from lrtui.spec.commands import Command, Verb
from lrtui.spec.events import RunStatus, StatusEvent
from lrtui.spec.experiment import ExperimentSpec

EPOCHS, BATCHES, RESTART_AFTER = 2, 20, 15


class _Shared(Trainer):
    """The trainer with torch's shared step in place of the fused one."""

    def _setup(self) -> None:
        super()._setup()
        self._steps = StepGroups(self._runs)


def _experiment(specs: list[str], engine: str, optimizer: str = "SGD(momentum=0.9)") -> ExperimentSpec:
    return build_experiment(
        Settings(
            runs=[parse_scheduler_flag(s) for s in specs], epochs=EPOCHS, lr=0.05, task="teacher",
            model="mlp", batches=BATCHES, engine=engine, optimizer=parse_optimizer(optimizer),
        )
    )  # fmt: skip


def _train(trainer_class: type[Trainer], exp: ExperimentSpec, restart: int | None) -> tuple[list, Trainer]:
    """Train to the end; restart run `restart` once run 0 has taken RESTART_AFTER steps."""
    events: list = []
    box: list[Trainer] = []
    pending = [restart] if restart is not None else []

    def sink(batch) -> None:
        events.extend(batch)
        done = max((e.step for e in all_steps(batch) if e.run == 0 and e.gen == 0), default=0)
        if pending and done >= RESTART_AFTER:
            box[0].send(Command(Verb.RESTART, pending.pop()))

    trainer = trainer_class(exp, sink, flush_interval=0.0)
    box.append(trainer)
    trainer.run()
    return events, trainer


PLAIN = ["StepLR(step_size=1, gamma=0.5)", "CosineAnnealingLR(T_max=2)"]
FREE = ["StepLR(step_size=1, gamma=0.5)", "AdamWScheduleFree(lr=0.01, warmup_steps=5)"]
CASES = {  # name: (trainer, engine, run specs, the step the stacked runs share)
    "stacked, fused": (Trainer, "stacked", PLAIN, FusedStep),
    "stacked, torch's shared step": (_Shared, "stacked", PLAIN, None),
    "sequential": (Trainer, "sequential", PLAIN, None),
    "stacked, schedule-free": (Trainer, "stacked", FREE, FusedStep),
    "sequential, schedule-free": (Trainer, "sequential", FREE, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_run_restarted_midway_trains_as_a_fresh_one(case: str) -> None:
    trainer_class, engine, specs, shared_kind = CASES[case]
    if "ScheduleFree" in specs[1]:
        pytest.importorskip("schedulefree")
    exp = _experiment(specs, engine)
    events, trainer = _train(trainer_class, exp, restart=1)
    statuses = [e for e in events if isinstance(e, StatusEvent)]
    assert not [e.message for e in statuses if e.status is RunStatus.ERROR]
    assert [(e.run, e.gen) for e in statuses if e.status is RunStatus.DONE] == [(0, 0), (1, 1)]
    if shared_kind is not None:
        assert isinstance(trainer._steps._shared[0][0], shared_kind)
    # the restarted run against the same run trained alone from the start, and run 0 against
    # itself in a comparison nobody restarted: the restart changed nothing but run 1's start
    alone, _ = _train(trainer_class, _experiment(specs[1:], engine), restart=None)
    untouched, _ = _train(trainer_class, exp, restart=None)
    for mine, theirs in (
        (steps_of(events, 1, 1), steps_of(alone, 0)),
        (steps_of(events, 0), steps_of(untouched, 0)),
    ):
        assert len(mine) == len(theirs) == EPOCHS * BATCHES
        assert [s.lrs for s in mine] == pytest.approx([s.lrs for s in theirs], rel=1e-6)
        assert [s.loss for s in mine] == pytest.approx([s.loss for s in theirs], rel=1e-4, abs=1e-6)
    assert 0 < len(steps_of(events, 1, 0)) < EPOCHS * BATCHES


class _Counted(Workload):
    """Three batches an epoch, each a number saying which (epoch, batch) it is."""

    name = "counted"

    def __init__(self) -> None:
        self.asked: list[int] = []

    def batches(self, epoch: int):
        import torch

        self.asked.append(epoch)
        return [(torch.tensor([10.0 * epoch + i]),) for i in range(3)]


def test_the_feed_keeps_a_later_epoch_whole_for_a_run_behind() -> None:
    """A run back in epoch 0 will read epoch 1 from its first batch: those are kept even
    after the leading run passed them; an epoch nobody is in is asked for again later."""
    import torch

    workload = _Counted()
    feed = EpochFeed(workload, torch.device("cpu"))
    for i in range(3):
        feed.batch(0, i)
    feed.batch(1, 0)
    feed.batch(1, 1)
    feed.keep([(1, 2), (0, 1)])  # the leader at epoch 1 batch 2, a restarted run at epoch 0 batch 1
    assert [float(feed.batch(1, i)[0]) for i in range(3)] == [10.0, 11.0, 12.0]
    assert float(feed.batch(0, 1)[0]) == 1.0
    feed.keep([(1, 2)])  # everyone in epoch 1: what they passed is dropped
    assert float(feed.batch(1, 0)[0]) == 10.0  # a run gone back to it: the epoch drawn again, the same
    assert workload.asked == [0, 1, 1]
    feed.keep([(2, 0), (0, 2)])  # epoch 1 has nobody: forgotten, and asked for again
    assert float(feed.batch(1, 0)[0]) == 10.0
    assert workload.asked == [0, 1, 1, 1]
