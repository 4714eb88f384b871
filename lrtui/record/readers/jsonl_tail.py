"""Tailing one lrtui events file (JSON Lines) for `lrtui watch`.

Reading copes with what live files do: a file that does not exist yet, a last line still being
written, a file truncated or replaced (read again from the start as a new generation, also when
the new file reuses the old one's inode: its header line is compared), a run the writer
restarted (a status with a higher `gen`), and lines that are not valid (skipped and counted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

from lrtui.record.bulk import STEP_PREFIX, step_columns
from lrtui.record.format import FORMAT, VERSION, decode, decode_header
from lrtui.record.lines import loads
from lrtui.record.readers.base import Lines, waiting
from lrtui.spec.events import (
    CorruptLines,
    Event,
    RunAdded,
    RunStatus,
    StatusEvent,
    StepBlock,
    StepEvent,
)
from lrtui.spec.numbers import is_finite
from lrtui.spec.text import clean

READ_CHUNK = 4 << 20
HEAD_BYTES = 4096


@dataclass
class JsonlTail:
    """Where reading one file stands."""

    path: Path
    run: int
    gen: int = 0
    offset: int = 0
    inode: tuple[int, int] | None = None
    lines: Lines = field(default_factory=Lines)  # the last line, until its newline is written
    header_read: bool = False
    announced: bool = False
    paused: bool = False
    diverged: bool = False
    corrupt: int = 0
    head: bytes = b""  # the file's header line, to notice a new file written over the old one
    file_gen: int = 0  # the newest generation the file itself announced
    error: str = ""
    backlog: bool = False  # the last read left more of the file to read
    refused: bool = False  # written in a newer format: nothing past its header is shown

    def reset(self, events: list[Event], message: str) -> None:
        self.gen += 1
        self.file_gen = 0
        self.head = b""
        self.offset = 0
        self.lines = Lines()
        self.header_read = False
        self.refused = False
        self.diverged = False
        self.paused = False
        events.append(StatusEvent(self.run, self.gen, RunStatus.RUNNING, message))

    def read(self, events: list[Event]) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            if not self.announced:  # a panel that says what it waits for
                self.announced = True
                events.append(RunAdded(self.run, waiting(self.path), self.gen))
            return
        identity = (stat.st_dev, stat.st_ino)
        if stat.st_size == self.offset and identity == self.inode:
            return
        if self.refused and identity == self.inode and stat.st_size >= self.offset:
            return
        with self.path.open("rb") as f:
            if self.inode is not None and identity != self.inode:
                self.reset(events, "file was replaced: re-reading")
            elif stat.st_size < self.offset:
                self.reset(events, "file was truncated: re-reading")
            elif self.head and f.read(len(self.head)) != self.head:  # a new file in the old one's inode
                self.reset(events, "file was replaced: re-reading")
            self.inode = identity
            f.seek(self.offset)
            chunk = f.read(READ_CHUNK)
        if self.offset == 0:
            self.head = chunk[: chunk.find(b"\n") + 1 if b"\n" in chunk else 0][:HEAD_BYTES]
        self.offset += len(chunk)
        corrupt_before, dropped = self.corrupt, self.lines.dropped
        lines = self.lines.feed(chunk)  # the last piece has no newline yet: kept for later
        self.corrupt += self.lines.dropped - dropped
        self.backlog = self.offset < stat.st_size  # read on at once: a big log still being caught up
        is_step = list(map(bytes.startswith, lines, repeat(STEP_PREFIX)))
        i, n = 0, len(lines)
        while i < n:  # runs of step lines as blocks; every other line alone
            if is_step[i] and self.header_read and not self.refused:
                end = _next_false(is_step, i)
                self._steps(lines[i:end], events)
                i = end
                continue
            if lines[i].strip() and not self.refused:
                self._line(lines[i].decode("utf-8", errors="replace"), events)
            i += 1
        if self.corrupt > corrupt_before:
            events.append(CorruptLines(self.run, self.corrupt - corrupt_before, self.gen))

    def _steps(self, lines: list[bytes], events: list[Event]) -> None:
        """Consecutive step lines: one columnar block where all are as lrtui writes them (a
        100 MB log is read in seconds, not one event per line), else one by one."""
        if not lines:
            return
        columns = step_columns(lines)
        if columns is None:
            for line in lines:
                self._line(line.decode("utf-8", errors="replace"), events)
            return
        if self.diverged:
            return
        steps = columns.steps
        consecutive = steps == list(range(steps[0], steps[0] + len(steps)))
        at = None if consecutive else tuple(steps)
        events.append(
            StepBlock(
                self.run, self.gen, steps[0], tuple(columns.epochs), tuple(columns.lrs),
                tuple(columns.losses), tuple(columns.times), at,
            )
        )  # fmt: skip

    def _line(self, line: str, events: list[Event]) -> None:
        if not self.header_read:
            self.header_read = True
            try:
                info = decode_header(line)
            except ValueError as exc:
                self.refused = _newer(line)  # its lines may mean something else: none is shown
                why = str(exc) if self.refused else "no header line"
                events.append(RunAdded(self.run, waiting(self.path, why), self.gen))
                if self.refused:
                    events.append(StatusEvent(self.run, self.gen, RunStatus.ERROR, clean(why, 200)))
                self.corrupt += not self.refused
                return
            self.announced = True
            events.append(RunAdded(self.run, info, self.gen))
            events.append(StatusEvent(self.run, self.gen, RunStatus.RUNNING, ""))
            return
        try:
            event = decode(line, self.run, self.gen)
        except ValueError:
            self.corrupt += 1
            return
        if isinstance(event, StepEvent) and event.step < 1:  # steps count from 1: garbage
            self.corrupt += 1
            return
        if isinstance(event, StatusEvent):
            if event.gen > self.file_gen:  # the writer restarted the run: a new generation here too
                self.file_gen = event.gen
                self.gen += 1
                self.diverged = False
            event = StatusEvent(self.run, self.gen, event.status, event.message, event.step)
        if self.diverged:
            return
        if isinstance(event, StepEvent) and not is_finite(event.loss) and not _no_loss(line):
            self.diverged = True
            message = f"loss became {event.loss} at step {event.step}"
            events.append(StatusEvent(self.run, self.gen, RunStatus.DIVERGED, message, event.step))
            return
        events.append(event)


def _no_loss(line: str) -> bool:
    """Whether a step line holds no loss (`null`, or none at all: a step logged with its LR
    only), rather than a loss that diverged (NaN, Infinity)."""
    data = loads(line)
    return isinstance(data, dict) and data.get("loss") is None


def _newer(line: str) -> bool:
    """Whether a header line is lrtui's, in a version newer than this lrtui reads."""
    try:
        data = loads(line)
    except (ValueError, RecursionError):
        return False
    version = data.get("version") if isinstance(data, dict) else None
    return data.get("format") == FORMAT and type(version) is int and version > VERSION  # type: ignore[union-attr]


def _next_false(flags: list[bool], start: int) -> int:
    """The index of the first False at or after `start`, or the length (searched in C)."""
    try:
        return flags.index(False, start)
    except ValueError:
        return len(flags)
