"""What the trainer tells the rest of the app: plain, immutable records.

One vocabulary serves live training, recorded files and watched files, so everything
downstream (state, widgets, the headless table) reads only these types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

# Regime marks kept per run and generation: a StepLR(step_size=1) per batch would mark every
# step. The trainer, the plan and the state all stop at this one bound.
MAX_MARKS = 500


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


@dataclass(frozen=True)
class RunInfo:
    """What is known of a run before it starts: its name, its setup, its length if known."""

    label: str
    detail: str = ""  # key parameters, e.g. "step_size=2 gamma=0.1 · per epoch"
    total_steps: int | None = None
    epochs: int | None = None
    batches: int | None = None
    spec: str = ""
    # the run's whole setup as (key, value) text pairs, so a comparison can show what differs
    config: tuple[tuple[str, str], ...] = ()
    group: str = ""  # trained under several seeds: the schedule's name, shared by its seeds' runs


@dataclass(frozen=True, slots=True)
class RunAdded:
    """A run appeared (a new events file, say): the UI gives it a panel."""

    run: int
    info: RunInfo
    gen: int = 0


@dataclass(frozen=True, slots=True)
class CorruptLines:
    """Lines of a run's events file that could not be read and were skipped."""

    run: int
    count: int
    gen: int = 0


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
class StepBlock:
    """Consecutive steps of one run, as columns: how live training reaches the UI.

    A trainer takes tens of thousands of steps a second; one object per run per batch of
    events (rather than per step) keeps both the trainer and the UI cheap.
    """

    run: int
    gen: int
    first_step: int
    epochs: tuple[int, ...]
    lrs: tuple[tuple[float, ...], ...]
    losses: tuple[float, ...]
    times: tuple[float, ...]
    at: tuple[int, ...] | None = None  # the steps, where they are not consecutive (logged every N)

    @classmethod
    def of(cls, step: StepEvent) -> StepBlock:
        """One step as a block of one (a watched file's lines arrive a step at a time)."""
        return cls(step.run, step.gen, step.step, (step.epoch,), (step.lrs,), (step.loss,), (step.time,))

    def __len__(self) -> int:
        return len(self.losses)

    def step_numbers(self) -> tuple[int, ...] | range:
        return self.at if self.at is not None else range(self.first_step, self.first_step + len(self.losses))

    def steps(self) -> list[StepEvent]:
        """The same steps one by one (for files, and for tests)."""
        return [
            StepEvent(self.run, self.gen, step, e, lr, loss, t)
            for step, e, lr, loss, t in zip(
                self.step_numbers(), self.epochs, self.lrs, self.losses, self.times, strict=True
            )
        ]


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
class MarkEvent:
    """The schedule changed regime after training step `step`: a StepLR drop, a warm restart,
    a phase boundary, a ReduceLROnPlateau cut. `kind` names the sort, `label` says it briefly."""

    run: int
    gen: int
    step: int
    kind: str
    label: str


@dataclass(frozen=True, slots=True)
class PlateauCounters:
    """ReduceLROnPlateau's state after a step, as the panel shows it live.

    `active` is False while a composed schedule has not yet handed over to the plateau phase.
    """

    bad_epochs: int
    patience: int
    cooldown_left: int
    cooldown: int
    best: float
    cuts: int
    active: bool = True


@dataclass(frozen=True, slots=True)
class PlateauEvent:
    """ReduceLROnPlateau's counters after its step at `step` (only the newest of a batch is sent)."""

    run: int
    gen: int
    step: int
    counters: PlateauCounters


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
    marks: tuple[tuple[int, str, str], ...] = ()  # planned (training step, kind, label)


@dataclass(frozen=True, slots=True)
class EvalEvent:
    """A validation loss, from the task's `evaluate(model)` at the end of `epoch`."""

    run: int
    gen: int
    epoch: int
    step: int
    loss: float


@dataclass(frozen=True, slots=True)
class ScalarBlock:
    """Values of another scalar a run logs (an eval loss, a grad norm, an accuracy), by step."""

    run: int
    gen: int
    tag: str
    steps: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class GpuFigures:
    index: int
    name: str
    util: float  # percent
    mem_used: float  # GiB
    mem_total: float
    temp: float  # degrees C
    power: float  # watts


@dataclass(frozen=True, slots=True)
class SystemFigures:
    """The machine a run trains on, sampled about once a second: CPU, RAM and each NVIDIA GPU.
    `note` says what could not be read (an extra not installed, NVML failing)."""

    host: str
    cpu: float  # percent of all cores
    ram_used: float  # GiB
    ram_total: float
    gpus: tuple[GpuFigures, ...] = ()
    note: str = ""
    run: int = -1
    gen: int = 0


@dataclass(frozen=True, slots=True)
class Fatal:
    """The source cannot go on at all (a spec torch refuses, found after the first screen):
    the app ends and the command prints this as its one-line error."""

    message: str


@dataclass(frozen=True, slots=True)
class Notice:
    """Something about the source as a whole (not one run), for the status bar: recording
    stopped, a watched directory unreadable. An empty message clears it."""

    message: str
    run: int = -1
    gen: int = 0


Event = (
    StepEvent
    | StepBlock
    | EpochEvent
    | StatusEvent
    | PlanEvent
    | MarkEvent
    | PlateauEvent
    | EvalEvent
    | ScalarBlock
    | SystemFigures
    | RunAdded
    | CorruptLines
    | Notice
    | Fatal
)

# Whoever takes events: the app's queue, the headless table, a log directory.
Sink = Callable[[list[Event]], None]
