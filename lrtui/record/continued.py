"""A run's events file continued after a resume: cut back to the checkpoint, read as history.

A checkpoint is taken after a step whose lines were already handed to the log, but the lines
written after it (up to the moment training died) are steps the resumed run takes again. So
the file is cut right after the checkpoint's step: every line of the run's generation up to
step S stays (the step, its epoch's end, its validation loss, marks), and the first line past
it goes, along with everything after. A final status at step S (`stopped`, written as a quit
ended training) goes too: the run is not finished. The resumed trainer then writes on: no
step twice, no gap, and a `resumed` mark at step S, so `watch` and `export` read one run.

Should a file not reach step S (its last lines never reached the disk), that checkpoint is
ahead of the log and cannot be used: `cut_point` says None and the one before is tried.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from lrtui.record.readers.jsonl_tail import JsonlTail
from lrtui.spec.events import Event, RunAdded, RunStatus

_STEP = b'{"step": '
_FINISHED = {s.value for s in RunStatus if s.finished}


def _line_facts(line: bytes) -> tuple[bool, int, int | None, bool]:
    """(a step line, its step or -1, the generation a status line names, a final status)."""
    if line.startswith(_STEP):
        end = line.find(b",")
        try:
            return True, int(line[len(_STEP) : end]), None, False
        except ValueError:
            return True, -1, None, False
    try:
        data = json.loads(line)
    except ValueError:
        return False, -1, None, False
    if not isinstance(data, dict):
        return False, -1, None, False
    step = data.get("step")
    step = step if isinstance(step, int) and not isinstance(step, bool) else 0
    if data.get("event") == "status":
        gen = data.get("gen")
        return False, step, gen if isinstance(gen, int) else 0, data.get("status") in _FINISHED
    return False, step, None, False


def cut_point(path: Path, gen: int, step: int) -> int | None:
    """Where run generation `gen`'s log ends at `step`: the byte offset to cut the file at, or
    None if the file does not reach that step (or holds no such generation)."""
    with path.open("rb") as f:
        header = f.readline()
        offset, cut = len(header), None
        current, reached = 0, step == 0 and gen == 0
        for line in f:
            start, offset = offset, offset + len(line)
            if not line.endswith(b"\n"):
                break  # a last line cut short: never kept
            is_step, at, status_gen, final = _line_facts(line.rstrip(b"\n"))
            if status_gen is not None and status_gen != current:
                if status_gen > gen:
                    break
                current = status_gen
                reached = reached or (status_gen == gen and step == 0)
            if current != gen:
                continue
            if at > step or (final and at == step):
                return start if reached else None
            reached = reached or (is_step and at == step)
            cut = offset
    return cut if reached else None


def cut(path: Path, offset: int) -> None:
    """Cut the file at `offset` (everything after the checkpoint's step), on the disk."""
    with path.open("r+b") as f:
        f.truncate(offset)
        f.flush()
        os.fsync(f.fileno())


def history(path: Path, run: int, upto: int | None = None) -> list[Event]:
    """Every event of the run's file as `lrtui watch` reads it, for a resumed app or table
    to show the runs from their first step (its panel and setup it knows already); with
    `upto`, of its first `upto` bytes only (an attached app: the rest comes live)."""
    if upto is not None:
        with tempfile.TemporaryDirectory() as tmp, path.open("rb") as f:
            prefix = Path(tmp) / path.name
            with prefix.open("wb") as out:
                shutil.copyfileobj(_Limited(f, upto), out)
            return history(prefix, run)
    tail = JsonlTail(path, run)
    events: list[Event] = []
    tail.read(events)
    while tail.backlog:
        tail.read(events)
    return [e for e in events if not isinstance(e, RunAdded)]


class _Limited:
    """A file read up to `limit` bytes."""

    def __init__(self, f: BinaryIO, limit: int) -> None:
        self._f, self._left = f, limit

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        data = self._f.read(size)
        self._left -= len(data)
        return data
