"""Where the trainer's steps wait, with their losses still on the device, until a flush.

A flush reads every pending loss in one transfer, then turns the steps into events: one
columnar `StepBlock` per run between its other events, an `EpochEvent` at each epoch's end, and
a `StatusEvent` where a loss stopped being finite (the run's later steps are dropped). This is
the one place that batches events; the trainer only appends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from lrtui.spec.events import EpochEvent, Event, RunStatus, StatusEvent, StepBlock
from lrtui.spec.numbers import all_finite, is_finite

RunKey = tuple[int, int]  # (run, generation)


@dataclass(slots=True)
class PendingStep:
    """A step whose loss is still on the device; `epoch_lrs` is set at an epoch's end (the LR
    the next epoch starts with)."""

    run: int
    gen: int
    step: int
    epoch: int
    lrs: tuple[float, ...]
    time: float
    loss_at: int  # index into the concatenated pending losses
    epoch_lrs: tuple[float, ...] | None = None


@dataclass(slots=True)
class _Block:
    """A StepBlock being gathered."""

    first_step: int
    epochs: list[int] = field(default_factory=list)
    lrs: list[tuple[float, ...]] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def event(self, key: RunKey) -> StepBlock:
        lists = (self.epochs, self.lrs, self.losses, self.times)
        return StepBlock(key[0], key[1], self.first_step, *map(tuple, lists))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Flushed:
    events: list[Event]
    diverged: set[RunKey]  # runs whose loss stopped being finite in this flush


class Outbox:
    """Pending steps and events, in the order they happened."""

    def __init__(self) -> None:
        self._items: list[PendingStep | Event] = []
        self._losses: list[Tensor] = []
        self._count = 0

    def __bool__(self) -> bool:
        return bool(self._items)

    def add_losses(self, losses: Tensor) -> int:
        """Keep a step's losses (on the device); the index of the first one."""
        base = self._count
        self._losses.append(losses)
        self._count += len(losses)
        return base

    def add(self, item: PendingStep | Event) -> None:
        self._items.append(item)

    def flush(self) -> Flushed:
        """Every pending item as events, in order; the outbox is empty afterwards."""
        items, losses = self._items, self._losses
        self._items, self._losses, self._count = [], [], 0
        values: list[float] = torch.cat(losses).tolist() if losses else []
        return _Gather(values).run(items)


class _Gather:
    """One flush: steps gathered into blocks per run until that run's next other event."""

    def __init__(self, values: list[float]) -> None:
        self.values = values
        self.check = not all_finite(values)  # the common case checks nothing per step
        self.events: list[Event] = []
        self.dead: set[RunKey] = set()
        self.blocks: dict[RunKey, _Block] = {}

    def run(self, items: list[PendingStep | Event]) -> Flushed:
        for item in items:
            if isinstance(item, PendingStep):
                self._step(item)
                continue
            key = (item.run, item.gen)
            self._close(key)
            if key not in self.dead:
                self.events.append(item)
        for key in list(self.blocks):
            self._close(key)
        return Flushed(self.events, self.dead)

    def _close(self, key: RunKey) -> None:
        block = self.blocks.pop(key, None)
        if block is not None:
            self.events.append(block.event(key))

    def _step(self, item: PendingStep) -> None:
        key = (item.run, item.gen)
        if key in self.dead:
            return
        loss = self.values[item.loss_at]
        if self.check and not is_finite(loss):
            self._close(key)
            self.dead.add(key)
            message = f"loss became {loss} at step {item.step} (epoch {item.epoch})"
            self.events.append(StatusEvent(item.run, item.gen, RunStatus.DIVERGED, message, item.step))
            return
        block = self.blocks.get(key)
        if block is None:
            block = self.blocks[key] = _Block(item.step)
        block.epochs.append(item.epoch)
        block.lrs.append(item.lrs)
        block.losses.append(loss)
        block.times.append(item.time)
        if item.epoch_lrs is not None:
            self._close(key)
            self.events.append(EpochEvent(item.run, item.gen, item.epoch, item.step, item.epoch_lrs, loss))
