"""Apps for Pilot and snapshot tests, fed by fixed event streams so pictures never depend on time."""

from __future__ import annotations

import threading
from dataclasses import replace

from helpers import train

from lrtui.config import Settings, build_experiment, parse_scheduler_flag
from lrtui.spec.commands import Command, Steerable, Verb
from lrtui.spec.describe import run_infos
from lrtui.spec.events import (
    EpochEvent,
    Event,
    MarkEvent,
    PlanEvent,
    PlateauEvent,
    RunStatus,
    StatusEvent,
    StepBlock,
    StepEvent,
)
from lrtui.spec.experiment import Call, ExperimentSpec
from lrtui.ui.app import LrTuiApp


class ReplaySource(Steerable):
    """Hands over a fixed list of events in one batch and records the commands it is given,
    as (verb, run) pairs."""

    def __init__(self, events: list[Event], sink) -> None:
        self._events = list(events)
        self._sink = sink
        self.commands: list[tuple[str, int | None]] = []
        self._stopped = threading.Event()

    def run(self) -> None:
        if self._events:
            self._sink(self._events)

    def send(self, command: Command) -> None:
        if command.verb is Verb.STOP:
            self._stopped.set()
        else:
            self.commands.append((command.verb.value, command.run))


def seed_experiment(**kw) -> ExperimentSpec:
    kw.setdefault("batches", 40)
    return build_experiment(Settings(**kw))


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
    """Every event, flushed after every step, so what a cut keeps never depends on timing
    (ReduceLROnPlateau's counters are sent once per flush)."""
    events = train(exp, plans=True, flush_interval=0.0)
    return events if step is None else cut(events, step)


def replay_app(exp: ExperimentSpec, events: list[Event], label: str = "cpu · linear · SGD") -> LrTuiApp:
    """The app with a replay source; `app.source.commands` records what keys sent."""

    def factory(sink):
        return ReplaySource(events, sink)

    app = LrTuiApp(run_infos(exp), factory, source_label=label, clock=lambda: 0.0)
    app.animation_level = "none"
    return app


async def settle(pilot) -> None:
    """Wait for the replay worker, deliver its events and let the screen catch up."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    pilot.app.drain()
    await pilot.pause()


def failing_experiment() -> tuple[ExperimentSpec, list[Event]]:
    """Two healthy runs, one that cannot be built, one that diverges."""
    exp = build_experiment(
        Settings(
            runs=[
                parse_scheduler_flag(s)
                for s in (
                    "StepLR(step_size=2, gamma=0.5)",
                    "StepLR(step_size=1)",
                    "LambdaLR(lr_lambda=constant(value=1e39))",
                    "CosineAnnealingLR(T_max=6)",
                )
            ],
            epochs=6,
            batches=30,
        )
    )
    broken = replace(exp.runs[1], scheduler=Call("StepLR", (("step_size", 1), ("bogus", 2))), label="broken")
    exp = replace(exp, runs=(exp.runs[0], broken, *exp.runs[2:]))
    return exp, stream(exp)


__all__ = ["EpochEvent", "PlanEvent", "cut", "paused", "replay_app", "seed_experiment", "settle", "stream"]
