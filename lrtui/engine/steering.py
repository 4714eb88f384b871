"""The Trainer's steering: the commands it takes from any thread (`send`), applied between
training steps in its own thread: pause, resume, restart and stop, and a run added
mid-comparison (`Verb.ADD`: the app's `N`, the forecast's suggested schedule).

A mixin of `trainer.Trainer`, which owns the state these methods change (its runs, engine,
workloads and outbox); here is only what a command does to it.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import replace

from lrtui.engine.engines import Engine, make_engine
from lrtui.engine.joined import Joined
from lrtui.engine.slot import RunSlot
from lrtui.engine.workload import Workload
from lrtui.schedule.added import added_run
from lrtui.schedule.build import describe_error
from lrtui.spec.commands import Command, Steerable, Verb, toggle_verb
from lrtui.spec.describe import run_infos
from lrtui.spec.errors import SpecError
from lrtui.spec.events import Notice, RunAdded, RunStatus, StatusEvent
from lrtui.spec.experiment import ExperimentSpec


class Steering(Steerable):
    """Commands queued by `send`, applied by `_apply_commands` in the trainer's thread."""

    adds_runs = True  # it takes `Verb.ADD` (the app's `N` asks this of its source)

    exp: ExperimentSpec
    device: object
    _commands: queue.SimpleQueue[Command]
    _stop: threading.Event
    _runs: list[RunSlot]
    _engine: Engine
    _workloads: dict[int, Workload]
    _starts: dict[int, object]  # each seed's initial module
    # and the Trainer's own: `_start(r)` (re)builds a run, `_emit`, `_flush`

    def send(self, command: Command) -> None:
        if command.verb is Verb.STOP:
            self._stop.set()
        self._commands.put(command)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _apply_commands(self, block: bool) -> bool:
        """Apply queued commands; with `block`, wait for the first one. True if any applied."""
        applied = False
        while True:
            try:
                command = self._commands.get(block=block and not applied, timeout=0.5)
            except queue.Empty:
                return applied
            if not applied:
                self._flush()  # the consumer sees every step taken before the command
            applied = True
            if command.verb is Verb.STOP:
                return True
            self._apply(command)
            self._flush()

    def _apply(self, command: Command) -> None:
        if command.verb is Verb.ADD:
            self._add(command.text)
            return
        runs = self._runs if command.run is None else [r for r in self._runs if r.index == command.run]
        verb = command.verb
        if verb is Verb.TOGGLE:
            verb = toggle_verb(not r.status.finished and not r.paused for r in runs)
        for r in runs:
            if verb is Verb.RESTART:
                r.gen += 1
                r.paused = False
                self._start(r)
            elif r.status.finished:
                continue
            elif verb is Verb.PAUSE and not r.paused:
                r.paused = True
                self._emit(StatusEvent(r.index, r.gen, RunStatus.PAUSED, "", r.step))
            elif verb is Verb.RESUME and r.paused:
                r.paused = False
                self._emit(StatusEvent(r.index, r.gen, RunStatus.RUNNING, "", r.step))

    def _add(self, text: str) -> None:
        """A new run (`Verb.ADD`), from the first run's seed and start, trained from step 0 on the
        batches the others had at each step, in an engine of its own (`joined`); a spec that
        cannot be added is said as a notice and nothing else changes."""
        try:
            spec = added_run(self.exp, text)
        except SpecError as exc:
            self._emit(Notice(f"cannot add {text}: {exc}"))
            return
        except Exception as exc:  # torch's own refusal of the schedule, named with its kind
            self._emit(Notice(f"cannot add {text}: {describe_error(exc)}"))
            return
        self.exp = replace(self.exp, runs=(*self.exp.runs, spec))
        r = RunSlot(len(self._runs), spec)
        exp, seed = self.exp, spec.seed
        own = make_engine(self._workloads[seed], self._starts[seed], 1, self.device, exp.engine, exp.amp)
        self._engine = Joined.grown(self._engine, len(self._runs), own)
        self._runs.append(r)
        self._emit(RunAdded(r.index, run_infos(self.exp)[r.index]))
        self._start(r)
