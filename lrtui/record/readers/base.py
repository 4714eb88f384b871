"""What a log source is to lrtui: the `LogReader` protocol `watch` and `export` loop over, the
`Tail` it hands the watcher, and the options every reader receives.

A reader finds its runs (a run is one file, or one folder of files: TensorBoard's), tails a run
into events for the app, and reads a run's steps as CSV rows for `export`. The watcher and the
exporter know nothing else about a reader, so a new log source is one module and one entry in
`READERS`, and options only one reader uses (TensorBoard's `--lr-tag`) pass through the rest.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lrtui.spec.events import Event, RunInfo
from lrtui.spec.text import clean

ROWS_A_PIECE = 1000  # rows formatted together: one string per thousand rows, not one per row
MAX_LINE = 64 << 20  # a longer line is no event lrtui wrote (a plan of 3,000,000 steps is 60 MB)


@dataclass(frozen=True)
class ReadOptions:
    """What the user said about reading, for whichever reader it concerns."""

    lr_tag: str | None = None  # a glob for the LR's tag (TensorBoard)
    loss_tag: str | None = None  # a glob for the loss's tag (TensorBoard)
    extra: tuple[str, ...] = ()  # more scalars, a CSV column each (`--tag`)
    root: Path | None = None  # the folder named on the command line: run names are paths under it


class Counts(Protocol):
    """What an export counts as it goes (`export.Exported`)."""

    rows: int
    corrupt: int
    tags: set[str]  # every scalar name the runs log: said when a `--tag` names none of them


class Tail(Protocol):
    """Where reading one run stands, for the watcher: it reads on at every poll, freezes the view
    while `paused`, and restarts from the start on `reset`. `announced` and `error` are the
    watcher's too: whether the run's panel exists, and the read error it last showed."""

    path: Path
    run: int
    gen: int
    paused: bool
    announced: bool
    error: str
    backlog: bool  # the last read left more to read: the watcher reads on without waiting

    def read(self, events: list[Event]) -> None:
        """Append the events of what is new since the last read."""
        ...

    def reset(self, events: list[Event], message: str) -> None:
        """Read again from the start, as a new generation of the run."""
        ...


class LogReader(Protocol):
    """One kind of log lrtui reads."""

    name: str  # short and unique: two readers may see the same folder, each its own run
    reads: str  # its files, as messages name them: "*.jsonl", "TensorBoard's events.out.tfevents.*"

    def claims(self, file: Path) -> bool:
        """Whether a file, by its name, is one of mine (it need not exist yet)."""
        ...

    def run_of(self, file: Path) -> Path:
        """The run a file I claim belongs to: the file itself, or the folder it is part of."""
        ...

    def runs(self, directory: Path) -> list[Path]:
        """My runs under a folder, in name order (none if it is not there)."""
        ...

    def tail(self, run: Path, index: int, options: ReadOptions) -> Tail:
        """A tail for the watcher: run `index` of the app, nothing read yet."""
        ...

    def rows(self, run: Path, options: ReadOptions, counts: Counts) -> Iterator[str]:
        """A run's steps as CSV text: lines of `run,step,epoch,lr,loss,time` and a field per
        `options.extra`, each ending in a newline (a piece may hold many lines). Rows and
        corrupt records are counted into `counts`."""
        ...


def csv_text(rows: Iterable[list[object]]) -> Iterator[str]:
    """Rows as CSV text, a thousand rows a piece: for readers whose rows are lists of values."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % ROWS_A_PIECE == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue()


@dataclass
class Lines:
    """Whole lines out of chunks read one after another, the piece after the last newline kept
    for the next chunk. Kept pieces are appended, never joined again (a line with no newline
    costs its length once, not once per chunk), and a line past `max_line` is dropped up to its
    newline and counted in `dropped`: memory stays bounded on any file."""

    max_line: int = MAX_LINE
    dropped: int = 0
    _partial: bytearray = field(default_factory=bytearray)
    _too_long: bool = False

    def feed(self, chunk: bytes) -> list[bytes]:
        first = chunk.find(b"\n")
        if first < 0:
            self._keep(chunk)
            return []
        self._keep(chunk[:first])
        head = [] if self._too_long else [bytes(self._partial)]
        self._partial, self._too_long = bytearray(), False
        lines = chunk[first + 1 :].split(b"\n")
        self._keep(lines.pop())
        return [*head, *lines]

    def rest(self) -> bytes:
        """The last line, still without its newline (empty if it was dropped)."""
        return b"" if self._too_long else bytes(self._partial)

    def _keep(self, piece: bytes) -> None:
        if self._too_long:
            return
        if len(self._partial) + len(piece) > self.max_line:
            self._too_long, self._partial = True, bytearray()
            self.dropped += 1
            return
        self._partial += piece


def walk(top: str | os.PathLike[str]) -> Iterator[tuple[str, list[str], list[str]]]:
    """`os.walk(top)` without recursion, for every reader and inventory that looks through a
    tree: before Python 3.12 `os.walk` recursed once a level, so a tree 1,000 folders deep
    raised RecursionError and hid every run. The same (folder, folders, files) triples, top
    down; folders removed from the list in place are not entered; links to folders are listed
    with the folders, never followed (no loops); a folder that cannot be listed is passed over."""
    stack = [os.fspath(top)]
    while stack:
        folder = stack.pop()
        files: list[str] = []
        folders: list[str] = []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    with contextlib.suppress(OSError):
                        (folders if entry.is_dir() else files).append(entry.name)
        except OSError:
            continue
        yield folder, folders, files
        inside = [os.path.join(folder, name) for name in folders]
        stack.extend(reversed([path for path in inside if not os.path.islink(path)]))


def waiting(path: Path, why: str = "waiting for the file") -> RunInfo:
    """A panel for a run with nothing to show yet, saying why. The file's name is cleaned: it
    is any text a folder holds, and here no header line stands in for it."""
    return RunInfo(clean(path.stem, 120), clean(f"{path.name} · {why}", 200))
