"""`lrtui watch PATH`: tail events files written by any process, as a source for the app.

PATH is one events file or a directory of them; each file becomes a run, and files created
later join as they appear. Reading copes with what live files do: a file that does not exist
yet, a last line still being written, a file truncated or replaced (it is read again from the
start, as a restart), and lines that are not valid (skipped and counted, never fatal).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from lrtui.record.format import decode, decode_header, event_files
from lrtui.spec.commands import Command, Steerable, Verb, toggle_verb
from lrtui.spec.events import (
    CorruptLines,
    Event,
    Notice,
    RunAdded,
    RunInfo,
    RunStatus,
    Sink,
    StatusEvent,
    StepEvent,
)
from lrtui.spec.numbers import is_finite
from lrtui.spec.text import clean

POLL_SECONDS = 0.2
READ_CHUNK = 1 << 20
HEAD_BYTES = 4096


@dataclass
class _Tail:
    """Where reading one file stands."""

    path: Path
    run: int
    gen: int = 0
    offset: int = 0
    inode: tuple[int, int] | None = None
    partial: str = ""
    header_read: bool = False
    announced: bool = False
    paused: bool = False
    diverged: bool = False
    corrupt: int = 0
    head: bytes = b""  # the file's header line, to notice a new file written over the old one
    file_gen: int = 0  # the newest generation the file itself announced
    error: str = ""


class WatchSource(Steerable):
    """Polls PATH for new lines; pausing freezes the view, restarting re-reads a file."""

    def __init__(self, path: str | os.PathLike[str], sink: Sink, poll: float = POLL_SECONDS) -> None:
        self.path = Path(path)
        # a *.jsonl name or an existing file is one file; anything else is a directory, maybe not there yet
        self.single_file = self.path.suffix == ".jsonl" or self.path.is_file()
        self._sink = sink
        self._poll = poll
        self._tails: dict[Path, _Tail] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._commands: list[Command] = []
        self._last_notice = ""

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
            self._stop.wait(self._poll)

    def _notice(self, message: str) -> None:
        message = clean(message, 200)
        if message != self._last_notice:
            self._last_notice = message
            self._sink([Notice(message)])

    def poll_once(self) -> None:
        """One pass: apply commands, find files, read what is new, hand it over."""
        events: list[Event] = []
        self._apply_commands(events)
        for path in self._discover():
            if path not in self._tails:
                self._tails[path] = _Tail(path, run=len(self._tails))
        for tail in self._tails.values():
            if not tail.paused:
                self._read_or_report(tail, events)
        if events:
            self._sink(events)

    def _read_or_report(self, tail: _Tail, events: list[Event]) -> None:
        """Read one file; one that cannot be read says why in its own panel, once, and is
        tried again at the next poll (the others keep going)."""
        try:
            self._read(tail, events)
        except OSError as exc:
            message = f"cannot read {tail.path.name}: {exc.strerror or exc}"
            if message != tail.error:
                tail.error = message
                if not tail.announced:
                    tail.announced = True
                    events.append(RunAdded(tail.run, _waiting(tail.path, "unreadable"), tail.gen))
                events.append(StatusEvent(tail.run, tail.gen, RunStatus.ERROR, clean(message, 200)))
            return
        if tail.error:  # readable again
            tail.error = ""
            events.append(StatusEvent(tail.run, tail.gen, RunStatus.RUNNING, ""))

    def _discover(self) -> list[Path]:
        if self.single_file:
            return [self.path]
        try:
            files = event_files(self.path) if self.path.is_dir() else []
        except OSError as exc:
            self._notice(f"cannot list {self.path}: {exc.strerror or exc}")
            return []
        return files

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
                    self._reset(t, events, "re-reading from the start")

    def _reset(self, tail: _Tail, events: list[Event], message: str) -> None:
        tail.gen += 1
        tail.file_gen = 0
        tail.head = b""
        tail.offset = 0
        tail.partial = ""
        tail.header_read = False
        tail.diverged = False
        tail.paused = False
        events.append(StatusEvent(tail.run, tail.gen, RunStatus.RUNNING, message))

    def _read(self, tail: _Tail, events: list[Event]) -> None:
        try:
            stat = tail.path.stat()
        except FileNotFoundError:
            if not tail.announced:  # a panel that says what it waits for
                tail.announced = True
                events.append(RunAdded(tail.run, _waiting(tail.path), tail.gen))
            return
        identity = (stat.st_dev, stat.st_ino)
        if stat.st_size == tail.offset and identity == tail.inode:
            return
        with tail.path.open("rb") as f:
            if tail.inode is not None and identity != tail.inode:
                self._reset(tail, events, "file was replaced: re-reading")
            elif stat.st_size < tail.offset:
                self._reset(tail, events, "file was truncated: re-reading")
            elif tail.head and f.read(len(tail.head)) != tail.head:  # a new file in the old one's inode
                self._reset(tail, events, "file was replaced: re-reading")
            tail.inode = identity
            f.seek(tail.offset)
            chunk = f.read(READ_CHUNK)
        if tail.offset == 0:
            tail.head = chunk[: chunk.find(b"\n") + 1 if b"\n" in chunk else 0][:HEAD_BYTES]
        tail.offset += len(chunk)
        text = tail.partial + chunk.decode("utf-8", errors="replace")
        lines = text.split("\n")
        tail.partial = lines.pop()  # the last piece has no newline yet: keep it for later
        corrupt_before = tail.corrupt
        for line in lines:
            if line.strip():
                self._line(tail, line, events)
        if tail.corrupt > corrupt_before:
            events.append(CorruptLines(tail.run, tail.corrupt - corrupt_before, tail.gen))

    def _line(self, tail: _Tail, line: str, events: list[Event]) -> None:
        if not tail.header_read:
            tail.header_read = True
            try:
                info = decode_header(line)
            except ValueError:
                events.append(RunAdded(tail.run, _waiting(tail.path, "no header line"), tail.gen))
                tail.corrupt += 1
                return
            tail.announced = True
            events.append(RunAdded(tail.run, info, tail.gen))
            events.append(StatusEvent(tail.run, tail.gen, RunStatus.RUNNING, ""))
            return
        try:
            event = decode(line, tail.run, tail.gen)
        except ValueError:
            tail.corrupt += 1
            return
        if isinstance(event, StatusEvent):
            if event.gen > tail.file_gen:  # the writer restarted the run: a new generation here too
                tail.file_gen = event.gen
                tail.gen += 1
                tail.diverged = False
            event = StatusEvent(tail.run, tail.gen, event.status, event.message, event.step)
        if tail.diverged:
            return
        if isinstance(event, StepEvent) and not is_finite(event.loss):
            tail.diverged = True
            message = f"loss became {event.loss} at step {event.step}"
            events.append(StatusEvent(tail.run, tail.gen, RunStatus.DIVERGED, message, event.step))
            return
        events.append(event)


def _waiting(path: Path, why: str = "waiting for the file") -> RunInfo:
    return RunInfo(path.stem, f"{path.name} · {why}")
