"""One run as the trainer keeps it, and the optimizer that steps every run in one call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from lrtui.schedule.build import Watched
from lrtui.schedule.optimizers import kind_of
from lrtui.schedule.regimes import Mark
from lrtui.spec.events import PlateauCounters, RunStatus
from lrtui.spec.experiment import RunSpec


@dataclass
class RunSlot:
    """The trainer's mutable bookkeeping for one run: where it stands, its optimizer and schedule."""

    index: int
    spec: RunSpec
    gen: int = 0
    status: RunStatus = RunStatus.PENDING
    paused: bool = False
    step: int = 0
    epoch: int = 0  # 0-based epoch in progress
    batch: int = 0  # 0-based batch within the epoch
    started: float = 0.0
    optimizer: torch.optim.Optimizer | None = None
    watched: Watched | None = None  # its schedule, stepped through `Watched.step`
    marks: int = 0
    counters: PlateauCounters | None = None  # the newest, sent at the next flush if it changed
    counters_sent: PlateauCounters | None = None
    counters_step: int = 0

    @property
    def active(self) -> bool:
        return self.status is RunStatus.RUNNING and not self.paused

    def drop_grads(self) -> None:
        assert self.optimizer is not None
        for p in self.optimizer.param_groups[0]["params"]:
            p.grad = None

    @contextmanager
    def evaluating(self) -> Iterator[None]:
        """The run's optimizer in its eval mode while the task evaluates, back in train mode
        after: an optimizer with modes (schedule-free) holds other weights for evaluation than
        for its steps. Nothing happens for torch's own, which have no modes."""
        optimizer = self.optimizer
        assert optimizer is not None
        kind = kind_of(optimizer)
        kind.to_eval(optimizer)
        try:
            yield
        finally:
            kind.to_train(optimizer)

    def step_scheduler(self, loss: Callable[[], float]) -> list[Mark]:
        """Step the schedule (with the loss where it follows it); the regime changes it made."""
        assert self.watched is not None
        marks = self.watched.step(loss)
        self.counters, self.counters_step = self.watched.counters(), self.step
        return marks


def shared_optimizer(runs: list[RunSlot]) -> torch.optim.Optimizer | None:
    """One optimizer stepping every run's param group in a single call.

    Each run keeps its own real optimizer, which its scheduler drives; the shared one holds
    the very same group dicts (so every LR the schedulers set is the one used) and keeps
    per-parameter state, which is per run since no two runs share a parameter. A call
    per run would cost torch's fixed per-step overhead once per run. An optimizer with
    train/eval modes steps run by run, so that evaluating one run switches its state alone.
    """
    handles = [r.optimizer for r in runs]
    if any(h is None for h in handles):
        return None
    first = handles[0]
    if kind_of(first).has_modes:  # each run's train/eval switch must reach its own state
        return None
    try:
        return type(first)([h.param_groups[0] for h in handles], **first.defaults)
    except Exception:  # an optimizer that cannot be built this way steps run by run
        return None
