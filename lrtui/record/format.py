"""The events file format (version 1): JSON Lines, one event per line.

The first line is a header naming the format and its version; then one line per training step
(`{"step": ...}` with no "event" key, the common case kept short), and occasional
`{"event": "epoch" | "status" | "plan" | "mark" | "plateau" | "eval", ...}` lines. Non-finite numbers are
written as NaN / Infinity, as Python's json module does.

Encoding and decoding are tables keyed on the event type (or its "event" name), so a new kind
of event adds one encoder and one decoder here and touches nothing else.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from lrtui.record.lines import loads
from lrtui.spec.events import (
    MAX_MARKS,
    EpochEvent,
    EvalEvent,
    Event,
    GpuFigures,
    MarkEvent,
    PlanEvent,
    PlateauCounters,
    PlateauEvent,
    RunInfo,
    RunStatus,
    StatusEvent,
    StepBlock,
    StepEvent,
    SystemFigures,
)
from lrtui.spec.text import clean

FORMAT = "lrtui-events"
VERSION = 1
MAX_LABEL = 120  # characters of a run's name or a mark's label kept from a file
MAX_TEXT = 1000  # of a message, a spec or a config value

Decoded = (
    StepEvent | EpochEvent | StatusEvent | PlanEvent | MarkEvent | PlateauEvent | EvalEvent | SystemFigures
)


def event_files(directory: Path) -> list[Path]:
    """The events files of a directory, in name order."""
    return sorted(p for p in directory.glob("*.jsonl") if p.is_file())


# ---- header -------------------------------------------------------------------------------
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
        **({"group": info.group} if info.group else {}),  # one schedule of several seeds
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
        label=_text(data.get("run"), MAX_LABEL) or "run",
        detail=_text(data.get("detail"), MAX_TEXT),
        total_steps=_opt_int(data.get("total_steps")),
        epochs=_opt_int(data.get("epochs")),
        batches=_opt_int(data.get("batches")),
        spec=_text(data.get("spec"), MAX_TEXT),
        config=_config(data.get("config")),
        group=_text(data.get("group"), MAX_LABEL),
    )


# ---- encoding: one function per event type --------------------------------------------------
def _enc_step(e: StepEvent) -> dict:
    return {"step": e.step, "epoch": e.epoch, "lr": list(e.lrs), "loss": e.loss, "time": round(e.time, 6)}


def _enc_epoch(e: EpochEvent) -> dict:
    return {"event": "epoch", "epoch": e.epoch, "step": e.step, "lr": list(e.lrs), "loss": e.loss}


def _enc_status(e: StatusEvent) -> dict:
    return {"event": "status", "status": e.status.value, "message": e.message, "step": e.step, "gen": e.gen}


def _enc_plan(e: PlanEvent) -> dict:
    data: dict = {"event": "plan", "lr": list(e.lrs), "interval": e.interval, "batches": e.batches}
    if e.marks:
        data["marks"] = [list(m) for m in e.marks]
    return data


def _enc_mark(e: MarkEvent) -> dict:
    return {"event": "mark", "step": e.step, "kind": e.kind, "label": e.label}


def _enc_plateau(e: PlateauEvent) -> dict:
    return {"event": "plateau", "step": e.step, **asdict(e.counters)}


def _enc_eval(e: EvalEvent) -> dict:
    return {"event": "eval", "epoch": e.epoch, "step": e.step, "loss": e.loss}


def _enc_system(e: SystemFigures) -> dict:
    gpus = [
        [g.index, g.name, g.util, round(g.mem_used, 3), round(g.mem_total, 3), g.temp, g.power]
        for g in e.gpus
    ]
    return {"event": "system", "host": e.host, "cpu": e.cpu, "ram_used": round(e.ram_used, 3),
            "ram_total": round(e.ram_total, 3), "gpus": gpus, "note": e.note}  # fmt: skip


_ENCODERS: dict[type, Callable[..., dict]] = {
    SystemFigures: _enc_system,
    EvalEvent: _enc_eval,
    StepEvent: _enc_step,
    EpochEvent: _enc_epoch,
    StatusEvent: _enc_status,
    PlanEvent: _enc_plan,
    MarkEvent: _enc_mark,
    PlateauEvent: _enc_plateau,
}


def encode(event: Event) -> str | None:
    """Line(s) for an event; None for events files do not hold (a run added, corrupt lines)."""
    if isinstance(event, StepBlock):
        return "".join(json.dumps(_enc_step(step)) + "\n" for step in event.steps())
    encoder = _ENCODERS.get(type(event))
    return None if encoder is None else json.dumps(encoder(event)) + "\n"


# ---- decoding: one function per "event" name -----------------------------------------------
def _dec_step(data: dict, run: int, gen: int) -> StepEvent:
    return StepEvent(
        run,
        gen,
        _int(data, "step"),
        _int(data, "epoch", 0),
        _lrs(data),
        _float(data, "loss"),
        _float(data, "time", 0.0),
    )


def _dec_epoch(data: dict, run: int, gen: int) -> EpochEvent:
    return EpochEvent(run, gen, _int(data, "epoch"), _int(data, "step", 0), _lrs(data), _float(data, "loss"))


def _dec_status(data: dict, run: int, gen: int) -> StatusEvent:
    try:
        status = RunStatus(data.get("status"))
    except ValueError:
        raise ValueError(f"unknown status {data.get('status')!r}") from None
    message = _text(data.get("message"), MAX_TEXT)
    return StatusEvent(run, _int(data, "gen", gen), status, message, _int(data, "step", 0))


def _dec_plan(data: dict, run: int, gen: int) -> PlanEvent:
    lrs = data.get("lr")
    if not isinstance(lrs, list) or not lrs or not all(_is_number(v) for v in lrs):
        raise ValueError("plan needs a non-empty list of numbers")
    interval = data.get("interval") or "epoch"
    if interval not in ("epoch", "batch"):
        raise ValueError("plan interval must be epoch or batch")
    batches = _int(data, "batches", 1)
    if batches < 1:
        raise ValueError("plan batches must be at least 1")
    return PlanEvent(run, gen, tuple(float(v) for v in lrs), interval, batches, _marks(data.get("marks")))


def _dec_mark(data: dict, run: int, gen: int) -> MarkEvent:
    kind, label = _text(data.get("kind"), 20), _text(data.get("label"), MAX_LABEL)
    return MarkEvent(run, gen, _int(data, "step"), kind, label)


def _dec_plateau(data: dict, run: int, gen: int) -> PlateauEvent:
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


def _dec_eval(data: dict, run: int, gen: int) -> EvalEvent:
    return EvalEvent(run, gen, _int(data, "epoch", 0), _int(data, "step"), _float(data, "loss"))


def _dec_system(data: dict, run: int, gen: int) -> SystemFigures:
    gpus = []
    for g in data.get("gpus") or []:
        if (
            not isinstance(g, list)
            or len(g) != 7
            or not all(_is_number(v) for i, v in enumerate(g) if i != 1)
        ):
            raise ValueError(
                "system gpus must be [index, name, util, mem_used, mem_total, temp, power] lists"
            )
        gpus.append(GpuFigures(int(g[0]), _text(g[1], 60), *(float(v) for v in g[2:])))
    figures = (_float(data, k, None) for k in ("cpu", "ram_used", "ram_total"))
    return SystemFigures(
        _text(data.get("host"), 60), *figures, tuple(gpus[:16]), _text(data.get("note"), 300), run, gen
    )


_DECODERS: dict[object, Callable[[dict, int, int], Decoded]] = {
    "system": _dec_system,
    "eval": _dec_eval,
    None: _dec_step,
    "epoch": _dec_epoch,
    "status": _dec_status,
    "plan": _dec_plan,
    "mark": _dec_mark,
    "plateau": _dec_plateau,
}


def step_fields(line: str | bytes) -> tuple[int, int, tuple[float, ...], float, float] | None:
    """A step line's (step, epoch, lrs, loss, time), checked as `decode` checks them, without
    making an event: the fast path of export and of watching a big log. None for any other
    line (an event line, or one `decode` would refuse)."""
    try:
        data = loads(line)
    except (ValueError, RecursionError):
        return None
    if type(data) is not dict or "event" in data:
        return None
    step, epoch, lr, loss, t = (data.get(k) for k in ("step", "epoch", "lr", "loss", "time"))
    if (  # what lrtui writes, checked by exact types: the common case costs no more than this
        type(step) is int
        and type(epoch) is int
        and type(lr) is list
        and all(type(v) is float for v in lr)
        and type(loss) is float
        and type(t) is float
    ):
        return step, epoch, tuple(lr), loss, t
    try:  # anything else goes through the full checks
        return (
            _int(data, "step"),
            _int(data, "epoch", 0),
            _lrs(data),
            _float(data, "loss"),
            _float(data, "time", 0.0),
        )
    except ValueError:
        return None


def decode(line: str, run: int, gen: int) -> Decoded:
    """Read one body line as an event of `run`; ValueError if it is not a valid line."""
    data = _object(line)
    kind = data.get("event")
    decoder = _DECODERS.get(kind) if isinstance(kind, (str, type(None))) else None
    if decoder is None:
        raise ValueError(f"unknown event {kind!r}")
    return decoder(data, run, gen)


# ---- field readers ------------------------------------------------------------------------
def _object(line: str | bytes) -> dict:
    try:
        data = loads(line)
    except (ValueError, RecursionError):  # json's and orjson's decode errors are ValueErrors
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
    if v is not None:
        raise ValueError("lr must be a number or a list of numbers")
    return ()


def _text(v: object, limit: int) -> str:
    """A string from a file as text to show: controls made visible, length bounded."""
    return clean(v if isinstance(v, str) else "" if v is None else str(v), limit)


def _config(v: object) -> tuple[tuple[str, str], ...]:
    items = list(v.items())[:200] if isinstance(v, dict) else []
    return tuple((_text(k, MAX_LABEL), _text(x, MAX_TEXT)) for k, x in items)


def _marks(v: object) -> tuple[tuple[int, str, str], ...]:
    if v is None:
        return ()
    if not isinstance(v, list) or not all(
        isinstance(m, list) and len(m) == 3 and _is_number(m[0]) and isinstance(m[0], int) for m in v
    ):
        raise ValueError("plan marks must be [step, kind, label] lists")
    return tuple((m[0], _text(m[1], 20), _text(m[2], MAX_LABEL)) for m in v[:MAX_MARKS])
