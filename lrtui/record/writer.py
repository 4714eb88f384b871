"""Appending events files: one writer per file, the `--log-dir` sink over many, and the one
tee that records a batch before a mode (the app, the headless table) takes it.

Lines are buffered and written in batches (every so many lines or every second), each file is
new (never another run's) and opened for appending, so a reader tailing it only ever sees
whole batches added at the end.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from lrtui.record.format import encode, encode_header
from lrtui.spec.events import Event, Notice, RunAdded, RunInfo, Sink

MAX_NAME = 80  # characters of a run's name in its file name


def safe_name(name: str) -> str:
    """A file name for a run: safe characters only, and short (a long name keeps its start and
    a hash of the whole, so two long names never share a file)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.+-]+", "_", name).strip("._") or "run"
    if len(cleaned) > MAX_NAME:
        digest = hashlib.sha1(name.encode("utf-8", "replace")).hexdigest()[:8]
        cleaned = f"{cleaned[: MAX_NAME - 9]}-{digest}"
    return cleaned


class EventFileWriter:
    """Appends lines to one events file, writing and flushing in batches.

    Each batch goes out whole through the file descriptor; a batch that fails halfway (a full
    disk) is cut back off, so the file never ends in a torn line, and the error is raised for
    the owner to decide what stops.
    """

    def __init__(
        self,
        path: Path,
        info: RunInfo,
        *,
        flush_lines: int = 256,
        flush_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        continued: bool = False,
        **header: object,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # a new file (never another run's), appended to so that other writers cannot be overwritten;
        # `continued`: the run's own file, written on after a resume (its header is there)
        flags = os.O_WRONLY | os.O_APPEND | (0 if continued else os.O_CREAT | os.O_EXCL)
        self._fd: int | None = os.open(path, flags, 0o644)
        self._good = os.fstat(self._fd).st_size  # the file's size after the last whole batch
        self._buffer: list[str] = [] if continued else [encode_header(info, **header)]
        self._flush_lines = flush_lines
        self._flush_seconds = flush_seconds
        self._clock = clock
        self._last = clock()
        self.flush()

    def add(self, line: str) -> None:
        self._buffer.append(line)
        if len(self._buffer) >= self._flush_lines or self._clock() - self._last >= self._flush_seconds:
            self.flush()

    def flush(self) -> None:
        if self._buffer and self._fd is not None:
            data = "".join(self._buffer).encode("utf-8")
            self._buffer.clear()
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, self._good)
                raise
            self._good += len(data)
        self._last = self._clock()

    def close(self) -> None:
        if self._fd is not None:
            try:
                self.flush()
            finally:
                self.abandon()

    def abandon(self) -> None:
        """Close without writing what is buffered (a forked child, a failed disk)."""
        self._buffer.clear()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def new_file(log_dir: Path, name: str, suffix: str = "") -> Path:
    """A file name in `log_dir` that no earlier run used: name.jsonl, name-2.jsonl, ..."""
    base = safe_name(name) + suffix
    path = log_dir / f"{base}.jsonl"
    n = 2
    while os.path.lexists(path):  # a dangling link is taken too: O_EXCL would refuse it
        path = log_dir / f"{base}-{n}.jsonl"
        n += 1
    return path


def new_writer(
    log_dir: Path, name: str, info: RunInfo, suffix: str = "", **options: object
) -> EventFileWriter:
    """A writer on a new file (`new_file`'s names), safe when processes start together: the
    name free when looked at may be taken before it is created, so a name another process
    created first (O_EXCL refuses it) moves on to the next name. A `FileExistsError` with the
    name still free is no clash but a folder that cannot be made (a file in its place): raised."""
    while True:
        path = new_file(log_dir, name, suffix)
        try:
            return EventFileWriter(path, info, **options)  # type: ignore[arg-type]
        except FileExistsError:
            if not os.path.lexists(path):
                raise


class LogDirSink:
    """`--log-dir`: writes every run of a live experiment to its own events file (a run added
    while it trains, `RunAdded`, to a new one).

    A write that fails (a full disk, a vanished directory) stops all recording with one message
    in `error`; it never raises into the trainer, whose runs keep going.
    """

    def __init__(self, log_dir: str | os.PathLike[str], infos: Iterable[RunInfo]) -> None:
        root = Path(log_dir)
        self.root = root
        self.error: str | None = None
        self._told = False
        self._writers = [new_writer(root, info.label, info) for info in infos]
        self._history: list[Event] | None = None

    @classmethod
    def continued(
        cls, log_dir: str | os.PathLike[str], paths: Iterable[Path], history: list[Event] | None = None
    ) -> LogDirSink:
        """The sink of a resumed comparison: each run's own file, written on. `history`, the
        batch of what the files hold (read back for the table or the app), is not written again."""
        sink = cls(log_dir, ())
        sink._writers = [EventFileWriter(p, RunInfo(p.stem), continued=True) for p in paths]
        sink._history = history
        return sink

    @property
    def paths(self) -> list[Path]:
        """Each run's events file, in run order."""
        return [w.path for w in self._writers]

    def __call__(self, events: list[Event]) -> None:
        if self.error is not None or events is self._history:
            return
        try:
            for ev in events:
                if isinstance(ev, RunAdded) and ev.run == len(self._writers):  # a run added mid-way
                    self._writers.append(new_writer(self.root, ev.info.label, ev.info))
                if 0 <= ev.run < len(self._writers):
                    line = encode(ev)
                    if line is not None:
                        self._writers[ev.run].add(line)
            for w in self._writers:
                w.flush()
        except OSError as exc:
            self._stop(exc)

    def untold_error(self) -> str | None:
        """Why recording stopped, the first time it is asked (whoever shows it shows it once)."""
        if self.error is None or self._told:
            return None
        self._told = True
        return self.error

    def _stop(self, exc: OSError) -> None:
        self.error = f"recording to {self.root} stopped: {exc.strerror or exc}"
        for w in self._writers:
            w.abandon()

    def close(self) -> None:
        if self.error is not None:
            return
        try:
            for w in self._writers:
                w.close()
        except OSError as exc:
            self._stop(exc)


def recording_tee(
    log_sink: LogDirSink, then: Sink | None = None, tell: Callable[[str], None] | None = None
) -> Sink:
    """A sink that hands every batch to the log directory first, then to `then`. When
    recording stops (a full disk) training goes on, and whoever watches hears of it once:
    through `tell`, or else as a `Notice` at the end of the batch `then` gets (the app shows
    it in its status bar)."""

    def both(events: list[Event]) -> None:
        log_sink(events)
        error = log_sink.untold_error()
        if error is not None and tell is not None:
            tell(error)
        elif error is not None:
            events = [*events, Notice(error)]
        if then is not None:
            then(events)

    return both
