"""What the trainer tells the rest of the app: plain, immutable records.

One vocabulary serves live training, recorded files and watched files, so everything
downstream (state, widgets, the headless table) reads only these types.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class RunStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    DIVERGED = "diverged"
    ERROR = "error"
    STOPPED = "stopped"

    @property
    def finished(self) -> bool:
        return self in (RunStatus.DONE, RunStatus.DIVERGED, RunStatus.ERROR, RunStatus.STOPPED)


@dataclass(frozen=True, slots=True)
class StepEvent:
    """One optimizer step: the LR it used (every param group) and the loss it computed."""

    run: int
    gen: int
    step: int  # 1-based count of training steps in this run
    epoch: int  # 1-based
    lrs: tuple[float, ...]
    loss: float
    time: float  # seconds since the run (re)started


@dataclass(frozen=True, slots=True)
class EpochEvent:
    """The end of an epoch, after the scheduler stepped: the LR the next epoch starts with."""

    run: int
    gen: int
    epoch: int
    step: int
    lrs: tuple[float, ...]
    loss: float  # the epoch's last batch loss


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A run changed state; a new `gen` means it restarted and older events are stale."""

    run: int
    gen: int
    status: RunStatus
    message: str = ""
    step: int = 0


@dataclass(frozen=True, slots=True)
class PlanEvent:
    """The LR the schedule will follow, computed ahead without training.

    `lrs[k]` is the LR after k scheduler steps; the scheduler steps once per `interval`.
    """

    run: int
    gen: int
    lrs: tuple[float, ...]
    interval: str
    batches: int


Event = StepEvent | EpochEvent | StatusEvent | PlanEvent
