"""`lrtui watch PATH`: tail logs written by any process, as a source for the app.

PATH is one run's file or a directory: every reader (`readers.READERS`: lrtui's `*.jsonl`,
TensorBoard, W&B, MLflow, Lightning CSV, HF checkpoints, Ray Tune) finds its runs there, and
runs created later join as they appear. Reading
copes with what live files do: a file that does not exist yet, a last line still being
written, a file truncated or replaced (it is read again from the start, as a restart), and
lines that are not valid (skipped and counted, never fatal). One run that cannot be read says
so in its own panel; the others go on.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from lrtui.record.readers import (
    READERS,
    Log,
    LogReader,
    ReadOptions,
    Tail,
    every_run,
    named,
    one_run,
    reads,
    shadowed,
    waiting,
)
from lrtui.record.readers.inventory import inventory
from lrtui.record.readers.tags import TagMap, not_logged
from lrtui.spec.commands import Command, Steerable, Verb, toggle_verb
from lrtui.spec.errors import SpecError
from lrtui.spec.events import (
    Event,
    Notice,
    RunAdded,
    RunStatus,
    Sink,
    StatusEvent,
)
from lrtui.spec.text import clean

POLL_SECONDS = 0.2
MIN_POLL_SECONDS = 0.02  # a shorter poll is read as this: below it, reading only burns a core
MAX_RUNS = 1000  # panels at most; more are counted in the status bar


class WatchSource(Steerable):
    """Polls PATH for new lines; pausing freezes the view, restarting re-reads a file."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        sink: Sink,
        poll: float = POLL_SECONDS,
        *,
        lr_tag: str | None = None,
        loss_tag: str | None = None,
        readers: tuple[LogReader, ...] = READERS,
    ) -> None:
        self.path = Path(path)
        self._readers = readers
        # a run's file (maybe not there yet) is one run; anything else is a directory, maybe not there yet
        self.single_file = one_run(self.path, readers)
        self._sink = sink
        self._poll = max(poll, MIN_POLL_SECONDS)
        # run names are paths under the folder watched (which may not be there yet) or the file's
        root = self.path.parent if self.single_file else self.path
        self._options = ReadOptions(lr_tag, loss_tag, root=root)
        self._tails: dict[tuple[str, Path], Tail] = {}  # by reader and run: two readers may share a folder
        self._panels = 0  # panels made: the next run's index (a run taken over keeps its panel)
        self._merged: list[tuple[str, str]] = []  # reader names: a run shown as another reader's
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._commands: list[Command] = []
        self._last_notice = ""
        self._said_empty = False
        self._told_runs = 0  # runs found when the folder's contents were last told

    # ---- control, from any thread -------------------------------------------------------
    def send(self, command: Command) -> None:
        if command.verb is Verb.STOP:
            self._stop.set()
            return
        with self._lock:
            self._commands.append(command)

    # ---- the loop -------------------------------------------------------------------------
    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # shown in the status bar; the next poll tries again
                self._notice(f"watching {self.path} failed: {type(exc).__name__}: {exc}")
            if not any(getattr(t, "backlog", False) for t in self._tails.values()):
                self._stop.wait(self._poll)  # with a backlog (a big log still being read), read on

    def _notice(self, message: str) -> None:
        message = clean(message, 400)  # what a folder holds, and what lrtui reads, can be long
        if message != self._last_notice:
            self._last_notice = message
            self._sink([Notice(message)])

    def poll_once(self) -> None:
        """One pass: apply commands, find files, read what is new, hand it over."""
        events: list[Event] = []
        self._apply_commands(events)
        self._add_tails(
            [log for log in self._discover() if (log.reader.name, log.path) not in self._tails], events
        )
        try:
            self._say_if_empty()
        except (OSError, RecursionError) as exc:  # said where it can be: the runs are read anyway
            self._notice(f"cannot look through {self.path}: {type(exc).__name__}")
        for tail in self._tails.values():
            if not tail.paused:
                self._read_or_report(tail, events)
        self._say_unlogged()
        if events:
            self._sink(events)

    def _say_unlogged(self) -> None:
        """An `--lr-tag` or `--loss-tag` that picks none of the tags the runs have logged says
        so, naming a few they do log, instead of panels waiting at "loss none yet" in silence;
        the wait goes on (a run may log it later). Runs of a format without tags (lrtui's own)
        have none to pick."""
        lr_tag, loss_tag = self._options.lr_tag, self._options.loss_tag
        if not (lr_tag or loss_tag):
            return
        maps: list[TagMap] = [
            m for t in self._tails.values() if isinstance(m := getattr(t, "tags", None), TagMap)
        ]
        missing = []
        if lr_tag and not any(m.lr for m in maps):
            missing.append(("--lr-tag", lr_tag))
        if loss_tag and all(m.loss is None for m in maps):
            missing.append(("--loss-tag", loss_tag))
        seen = set().union(*(m.seen for m in maps)) if missing else set()
        if seen:
            self._notice(f"{not_logged(missing, seen)}; waiting for it")

    def _say_if_empty(self) -> None:
        """A folder holding nothing lrtui reads (a mistyped path, a Lightning CSVLogger folder
        with only metrics.csv) says so, and what lrtui reads, instead of waiting in silence at
        0 steps. The wait goes on (a run may be about to write there); the line goes once a
        file appears. A single file waits in its own panel instead.

        Once runs are found, and whenever more are, a folder that also holds files no reader
        reads says which reader took how many runs and names those files (`found_here`); a
        folder whose every file is read shows no line (each panel names its reader)."""
        if self.single_file:
            return
        if self._tails:
            if len(self._tails) != self._told_runs:
                self._told_runs = len(self._tails)
                self._said_empty = False
                self._notice(found_here(self.path, list(self._tails), self._merged))
            return
        self._said_empty = True
        self._notice(nothing_here(self.path, readers=self._readers))

    def _add_tails(self, new: list[Log], events: list[Event]) -> None:
        """A tail for each run found that has none, up to `MAX_RUNS`; those past it are
        counted afresh at every poll (the same runs are found again each time).

        A new run that `shadows` runs already shown (an HF `output_dir`'s TensorBoard files,
        shown until its first checkpoint appears) takes over the first one's panel, as a new
        generation of it; any other it shadows is stopped, saying where it is shown."""
        if not new:
            return
        readers = {r.name: r for r in self._readers}
        shown = [Log(readers[name], path) for name, path in self._tails if name in readers]
        taken: dict[Log, list[tuple[str, Path]]] = {}  # the runs shown that each new run shadows
        for key, winner in sorted(shadowed([*new, *shown]).items()):
            if key in self._tails:
                taken.setdefault(winner, []).append(key)
        room = max(0, MAX_RUNS - len(self._tails))
        for log in new[:room]:
            old = [self._tails.pop(key) for key in taken.get(log, ())]
            tail = log.reader.tail(log.path, old[0].run if old else self._panels, self._options)
            self._panels += not old
            self._tails[log.reader.name, log.path] = tail
            if old:
                tail.gen = old[0].gen + 1
                under = [os.path.relpath(x, self.path) for x in (old[0].path, log.path)]
                self._notice(f"{under[0]} is shown as {log.reader.name} run {under[1]}: the same run")
            for gone in old[1:]:
                why = clean(f"shown as {log.reader.name} run {log.path.name}", 200)
                events.append(StatusEvent(gone.run, gone.gen, RunStatus.STOPPED, why))
        if len(new) > room:
            self._notice(f"showing {MAX_RUNS} runs; {len(new) - room:,} more under {self.path} are not shown")

    def _read_or_report(self, tail: Tail, events: list[Event]) -> None:
        """Read one file; one that cannot be read says why in its own panel, once, and is
        tried again at the next poll (the others keep going: one run's bad value never hides
        the folder)."""
        try:
            tail.read(events)
        except Exception as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            if not isinstance(exc, (OSError, SpecError)):  # a value no reader foresaw
                why = f"{type(exc).__name__}: {exc}"
            message = f"cannot read {tail.path.name}: {why}"
            if message != tail.error:
                tail.error = message
                if not tail.announced:
                    tail.announced = True
                    events.append(RunAdded(tail.run, waiting(tail.path, "unreadable"), tail.gen))
                events.append(StatusEvent(tail.run, tail.gen, RunStatus.ERROR, clean(message, 200)))
            return
        if tail.error:  # readable again
            tail.error = ""
            events.append(StatusEvent(tail.run, tail.gen, RunStatus.RUNNING, ""))

    def _discover(self) -> list[Log]:
        """The runs at PATH: the one its file stands for, or every reader's under the folder."""
        if self.single_file:
            return [named(self.path, self._readers)]
        if not self.path.is_dir():
            return []
        try:
            logs = every_run(self.path, self._readers)
            hidden = shadowed(logs)
        except OSError as exc:
            self._notice(f"cannot list {self.path}: {exc.strerror or exc}")
            return []
        self._merged = [(winner.reader.name, name) for (name, _), winner in hidden.items()]
        return [log for log in logs if (log.reader.name, log.path) not in hidden]

    def _apply_commands(self, events: list[Event]) -> None:
        with self._lock:
            commands, self._commands = self._commands, []
        for command in commands:
            tails = [t for t in self._tails.values() if command.run is None or t.run == command.run]
            verb = command.verb
            if verb is Verb.TOGGLE:
                verb = toggle_verb(not t.paused for t in tails)
            if verb in (Verb.PAUSE, Verb.RESUME):
                pause = verb is Verb.PAUSE
                for t in tails:
                    t.paused = pause
                    status = RunStatus.PAUSED if pause else RunStatus.RUNNING
                    events.append(StatusEvent(t.run, t.gen, status, "view frozen" if pause else ""))
            elif verb is Verb.RESTART:
                for t in tails:
                    t.reset(events, "re-reading from the start")


def found_here(path: Path, found: list[tuple[str, Path]], merged: list[tuple[str, str]] | None = None) -> str:
    """Which reader took how many runs under a folder (and runs of another reader's they hold:
    `merged`), and the files none reads; "" when every file there is read (`inventory`)."""
    held = inventory(path, found, merged=merged or ())
    unread = held.not_read()
    return f"{path}: {held.runs()}; {unread}" if unread else ""


def nothing_here(path: Path, shown: int = 3, readers: tuple[LogReader, ...] = READERS) -> str:
    """Why a watched folder shows no runs, what lrtui reads, and the first few files it found
    there that no reader reads (`inventory`, the rule `found_here` and `export` say it by)."""
    what = reads(readers)
    if not path.exists():
        return f"{path}: no such file or directory yet; waiting for events files there ({what})"
    unread = inventory(path, [], shown).not_read()
    return f"{path}: no events files here ({what}){'; ' + unread if unread else ''}; waiting for them"
