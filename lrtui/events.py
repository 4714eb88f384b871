"""What the trainer tells the rest of the app: plain, immutable records.

One vocabulary serves live training, recorded files and watched files, so everything
downstream (state, widgets, the headless table) reads only these types.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path


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

    @classmethod
    def of(cls, step: StepEvent) -> StepBlock:
        """One step as a block of one (a watched file's lines arrive a step at a time)."""
        return cls(step.run, step.gen, step.step, (step.epoch,), (step.lrs,), (step.loss,), (step.time,))

    def __len__(self) -> int:
        return len(self.losses)

    def steps(self) -> list[StepEvent]:
        """The same steps one by one (for files, and for tests)."""
        return [
            StepEvent(self.run, self.gen, self.first_step + i, e, lr, loss, t)
            for i, (e, lr, loss, t) in enumerate(
                zip(self.epochs, self.lrs, self.losses, self.times, strict=True)
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


Event = (
    StepEvent
    | StepBlock
    | EpochEvent
    | StatusEvent
    | PlanEvent
    | MarkEvent
    | PlateauEvent
    | RunAdded
    | CorruptLines
)


# ---- the events file format ----------------------------------------------------------------
# One JSON object per line. The first line is a header naming the format and its version; then
# one line per training step ({"step": ...} with no "event" key, the common case kept short),
# and occasional {"event": "epoch" | "status" | "plan" | "mark" | "plateau", ...} lines.
# Non-finite numbers are written as NaN / Infinity, as Python's json module does.

FORMAT = "lrtui-events"
VERSION = 1


def event_files(directory: Path) -> list[Path]:
    """The events files of a directory, in name order."""
    return sorted(p for p in directory.glob("*.jsonl") if p.is_file())


def encode_header(info: RunInfo, **extra: object) -> str:
    head = {
        "format": FORMAT,
        "version": VERSION,
        "run": info.label,
        "detail": info.detail,
        "spec": info.spec,
        "total_steps": info.total_steps,
        "epochs": info.epochs,
        "batches": info.batches,
        "config": dict(info.config),
        **extra,
    }
    return json.dumps(head) + "\n"


def decode_header(line: str) -> RunInfo:
    """Read a header line; ValueError names what is wrong with it."""
    data = _object(line)
    if data.get("format") != FORMAT:
        raise ValueError("not an lrtui events file (no header line)")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ValueError(f"events format version {version!r} is newer than this lrtui reads ({VERSION})")
    return RunInfo(
        label=str(data.get("run") or "run"),
        detail=str(data.get("detail") or ""),
        total_steps=_opt_int(data.get("total_steps")),
        epochs=_opt_int(data.get("epochs")),
        batches=_opt_int(data.get("batches")),
        spec=str(data.get("spec") or ""),
        config=_config(data.get("config")),
    )


def encode(event: Event) -> str | None:
    """Line(s) for a step, epoch, status or plan event; None for events files do not hold."""
    if isinstance(event, StepBlock):
        return "".join(encode(step) or "" for step in event.steps())
    if isinstance(event, StepEvent):
        data: dict[str, object] = {
            "step": event.step,
            "epoch": event.epoch,
            "lr": list(event.lrs),
            "loss": event.loss,
            "time": round(event.time, 6),
        }
    elif isinstance(event, EpochEvent):
        data = {
            "event": "epoch",
            "epoch": event.epoch,
            "step": event.step,
            "lr": list(event.lrs),
            "loss": event.loss,
        }
    elif isinstance(event, StatusEvent):
        data = {
            "event": "status",
            "status": event.status.value,
            "message": event.message,
            "step": event.step,
            "gen": event.gen,
        }
    elif isinstance(event, PlanEvent):
        data = {"event": "plan", "lr": list(event.lrs), "interval": event.interval, "batches": event.batches}
        if event.marks:
            data["marks"] = [list(m) for m in event.marks]
    elif isinstance(event, MarkEvent):
        data = {"event": "mark", "step": event.step, "kind": event.kind, "label": event.label}
    elif isinstance(event, PlateauEvent):
        data = {"event": "plateau", "step": event.step, **asdict(event.counters)}
    else:
        return None
    return json.dumps(data) + "\n"


def decode(
    line: str, run: int, gen: int
) -> StepEvent | EpochEvent | StatusEvent | PlanEvent | MarkEvent | PlateauEvent:
    """Read one body line as an event of `run`; ValueError if it is not a valid line."""
    data = _object(line)
    kind = data.get("event")
    if kind is None:
        return StepEvent(
            run,
            gen,
            _int(data, "step"),
            _int(data, "epoch", 0),
            _lrs(data),
            _float(data, "loss"),
            _float(data, "time", 0.0),
        )
    if kind == "epoch":
        return EpochEvent(
            run, gen, _int(data, "epoch"), _int(data, "step", 0), _lrs(data), _float(data, "loss")
        )
    if kind == "status":
        try:
            status = RunStatus(data.get("status"))
        except ValueError:
            raise ValueError(f"unknown status {data.get('status')!r}") from None
        return StatusEvent(
            run, _int(data, "gen", gen), status, str(data.get("message") or ""), _int(data, "step", 0)
        )
    if kind == "plan":
        lrs = data.get("lr")
        if not isinstance(lrs, list) or not all(_is_number(v) for v in lrs):
            raise ValueError("plan needs a list of numbers")
        return PlanEvent(
            run,
            gen,
            tuple(float(v) for v in lrs),
            str(data.get("interval") or "epoch"),
            _int(data, "batches", 1),
            _marks(data.get("marks")),
        )
    if kind == "mark":
        kind_of, label = str(data.get("kind") or ""), str(data.get("label") or "")
        return MarkEvent(run, gen, _int(data, "step"), kind_of, label)
    if kind == "plateau":
        counters = PlateauCounters(
            _int(data, "bad_epochs", 0),
            _int(data, "patience", 0),
            _int(data, "cooldown_left", 0),
            _int(data, "cooldown", 0),
            _float(data, "best", None),
            _int(data, "cuts", 0),
            bool(data.get("active", True)),
        )
        return PlateauEvent(run, gen, _int(data, "step", 0), counters)
    raise ValueError(f"unknown event {kind!r}")


def _object(line: str) -> dict:
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        raise ValueError("not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _int(data: dict, key: str, default: int | None = None) -> int:
    v = data.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{key} must be a whole number")
    return v


def _opt_int(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None


def _float(data: dict, key: str, default: float | None = None) -> float:
    v = data.get(key, default)
    if v is None:
        return math.nan
    if not _is_number(v):
        raise ValueError(f"{key} must be a number")
    return float(v)


def _lrs(data: dict) -> tuple[float, ...]:
    v = data.get("lr")
    if _is_number(v):
        return (float(v),)
    if isinstance(v, list) and all(_is_number(x) for x in v):
        return tuple(float(x) for x in v)
    if v is None:
        return ()
    raise ValueError("lr must be a number or a list of numbers")


def _config(v: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(v, dict):
        return ()
    return tuple((str(k), str(x)) for k, x in v.items())


def _marks(v: object) -> tuple[tuple[int, str, str], ...]:
    if v is None:
        return ()
    if not isinstance(v, list) or not all(
        isinstance(m, list) and len(m) == 3 and _is_number(m[0]) and isinstance(m[0], int) for m in v
    ):
        raise ValueError("plan marks must be [step, kind, label] lists")
    return tuple((m[0], str(m[1]), str(m[2])) for m in v)
