"""Apps for Pilot and snapshot tests, fed by fixed event streams so pictures never depend on time.

The streams are recorded (`tests/fixtures/record.py`) and read back through the events format,
so the tests that replay them need no torch and do not change when torch does.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lrtui.record.format import decode, decode_header, event_files
from lrtui.spec.commands import Command, Steerable, Verb
from lrtui.spec.describe import run_infos
from lrtui.spec.events import (
    EpochEvent,
    Event,
    MarkEvent,
    PlanEvent,
    PlateauEvent,
    RunInfo,
    RunStatus,
    StatusEvent,
    StepBlock,
    StepEvent,
)
from lrtui.spec.experiment import ExperimentSpec
from lrtui.ui.app import LrTuiApp

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass(frozen=True)
class Recorded:
    """A recorded experiment: its runs as their headers give them, and every event in order."""

    infos: tuple[RunInfo, ...]
    events: list[Event] = field(default_factory=list)


def read_stream(folder: Path) -> Recorded:
    """A folder of events files, one per run in name order, read through the format. Each step
    line becomes a block of one step, as the trainer sends them when it flushes every step;
    a run's events keep their order, the runs follow one another."""
    infos: list[RunInfo] = []
    events: list[Event] = []
    for run, path in enumerate(event_files(folder)):
        header, *body = path.read_text(encoding="utf-8").splitlines()
        infos.append(decode_header(header))
        gen = 0
        for line in body:
            event = decode(line, run, gen)
            if isinstance(event, StatusEvent):
                gen = event.gen
            if isinstance(event, StepEvent):
                event = StepBlock(
                    run, gen, event.step, (event.epoch,), (event.lrs,), (event.loss,), (event.time,)
                )
            events.append(event)
    if not infos:
        raise FileNotFoundError(f"no recorded stream in {folder}: run tests/fixtures/record.py")
    return Recorded(tuple(infos), events)


def recorded(name: str) -> Recorded:
    """The stream `tests/fixtures/record.py` recorded as `name` (a fresh list each call)."""
    return read_stream(FIXTURES / name)


class ReplaySource(Steerable):
    """Hands over a fixed list of events in one batch and records the commands it is given,
    as (verb, run) pairs."""

    def __init__(self, events: list[Event], sink) -> None:
        self._events = list(events)
        self._sink = sink
        self.commands: list[tuple[str, int | None]] = []
        self.sent: list[Command] = []  # the commands whole (an ADD's spec with it)
        self._stopped = threading.Event()

    def run(self) -> None:
        if self._events:
            self._sink(self._events)

    def send(self, command: Command) -> None:
        if command.verb is Verb.STOP:
            self._stopped.set()
        else:
            self.commands.append((command.verb.value, command.run))
            self.sent.append(command)


def cut(events: list[Event], step: int) -> list[Event]:
    """The stream as it stood when every run had taken `step` steps."""
    out: list[Event] = []
    for e in events:
        if isinstance(e, StepBlock):
            keep = max(0, step - e.first_step + 1)
            if keep:
                out.append(
                    StepBlock(
                        e.run,
                        e.gen,
                        e.first_step,
                        e.epochs[:keep],
                        e.lrs[:keep],
                        e.losses[:keep],
                        e.times[:keep],
                    )
                )
            continue
        if isinstance(e, (StepEvent, EpochEvent, MarkEvent, PlateauEvent)) and e.step > step:
            continue
        if isinstance(e, StatusEvent) and (e.step > step or (e.status.finished and e.step >= step)):
            continue
        out.append(e)
    return out


def paused(events: list[Event], runs: range | list[int]) -> list[Event]:
    last = {e.run: e.first_step + len(e) - 1 for e in events if isinstance(e, StepBlock)}
    return events + [StatusEvent(r, 0, RunStatus.PAUSED, "", last.get(r, 0)) for r in runs]


def stream(exp: ExperimentSpec, step: int | None = None) -> list[Event]:
    """Every event of training `exp` now, flushed after every step, so what a cut keeps never
    depends on timing (ReduceLROnPlateau's counters are sent once per flush). For the tests
    that train; the others replay a `recorded` stream."""
    from helpers import train

    events = train(exp, plans=True, flush_interval=0.0)
    return events if step is None else cut(events, step)


def replay_app(
    runs: Recorded | ExperimentSpec | Sequence[RunInfo],
    events: list[Event],
    label: str = "cpu · linear · SGD",
    forecast: bool = False,
) -> LrTuiApp:
    """The app with a replay source; `app.source.commands` records what keys sent. Its live
    forecast is off unless asked for: a fit on its own thread would make pictures racy."""
    if isinstance(runs, Recorded):
        infos = list(runs.infos)
    elif isinstance(runs, ExperimentSpec):
        infos = run_infos(runs)
    else:
        infos = list(runs)

    def factory(sink):
        return ReplaySource(events, sink)

    app = LrTuiApp(infos, factory, source_label=label, clock=lambda: 0.0)
    app.animation_level = "none"
    app.forecast.enabled = forecast
    return app


async def settle(pilot) -> None:
    """Wait for the replay worker, deliver its events and let the screen catch up."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    pilot.app.drain()
    await pilot.pause()


__all__ = [
    "EpochEvent",
    "PlanEvent",
    "Recorded",
    "cut",
    "paused",
    "recorded",
    "replay_app",
    "settle",
    "stream",
]
