"""Appending events files: one writer per file, and the `--log-dir` sink over many.

Lines are buffered and written in batches (every so many lines or every second), each file is
new (never another run's) and opened for appending, so a reader tailing it only ever sees
whole batches added at the end.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from lrtui.record.format import encode, encode_header
from lrtui.spec.events import Event, RunInfo


def safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.+-]+", "_", name).strip("._")
    return cleaned or "run"


class EventFileWriter:
    """Appends lines to one events file, writing and flushing in batches."""

    def __init__(
        self,
        path: Path,
        info: RunInfo,
        *,
        flush_lines: int = 256,
        flush_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        **header: object,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # a new file (never another run's), appended to so that other writers cannot be overwritten
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        self._file: IO[str] = os.fdopen(fd, "w", encoding="utf-8")
        self._buffer: list[str] = [encode_header(info, **header)]
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
        if self._buffer and not self._file.closed:
            self._file.write("".join(self._buffer))
            self._file.flush()
            self._buffer.clear()
        self._last = self._clock()

    def close(self) -> None:
        if not self._file.closed:
            self.flush()
            self._file.close()


def new_file(log_dir: Path, name: str, suffix: str = "") -> Path:
    """A file name in `log_dir` that no earlier run used: name.jsonl, name-2.jsonl, ..."""
    base = safe_name(name) + suffix
    path = log_dir / f"{base}.jsonl"
    n = 2
    while path.exists():
        path = log_dir / f"{base}-{n}.jsonl"
        n += 1
    return path


class LogDirSink:
    """`--log-dir`: writes every run of a live experiment to its own events file."""

    def __init__(self, log_dir: str | os.PathLike[str], infos: Iterable[RunInfo]) -> None:
        root = Path(log_dir)
        self._writers = [EventFileWriter(new_file(root, info.label), info) for info in infos]

    def __call__(self, events: list[Event]) -> None:
        for ev in events:
            if 0 <= ev.run < len(self._writers):
                line = encode(ev)
                if line is not None:
                    self._writers[ev.run].add(line)
        for w in self._writers:
            w.flush()

    def close(self) -> None:
        for w in self._writers:
            w.close()
