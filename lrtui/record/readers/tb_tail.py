"""Tailing one TensorBoard run for `lrtui watch`: a directory of `events.out.tfevents.*` files.

Every file is read as it grows (a partly written last record waits for the next read), in
name order, as TensorBoard does. The learning rate, the loss and the epoch are found by their
usual tags (`tags`); every other scalar becomes a `ScalarBlock` for the charts. A run whose
steps go back (a job resumed from a checkpoint) is shown as TensorBoard shows it: the points at
and after the step it resumed from are dropped, and the run goes on from there, as a new
generation that starts with the points kept.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path

from lrtui.record.readers.steps import StepRows
from lrtui.record.readers.tags import TagMap, logged_epoch
from lrtui.record.readers.tfevents import Scalars, first_record_size, newer_version, read_records
from lrtui.spec.events import (
    CorruptLines,
    Event,
    RunAdded,
    RunInfo,
    RunStatus,
    ScalarBlock,
    StatusEvent,
    StepBlock,
)
from lrtui.spec.text import clean

TB_PREFIX = "events.out.tfevents."
READ_CHUNK = 4 << 20  # per file per poll: the first screen shows while a big log is still read


def tb_files(directory: Path) -> list[Path]:
    """A run's event files in the order they were written: by the time and the writer's own
    counter in their names (`events.out.tfevents.<time>.<host>.<pid>.<n>`), read as numbers:
    as text, a writer's 10th file would come before its 9th."""
    found = [p for p in directory.iterdir() if p.name.startswith(TB_PREFIX) and p.is_file()]
    return sorted(found, key=_written_order)


def _written_order(path: Path) -> tuple[tuple[int, int | str], ...]:
    parts = path.name[len(TB_PREFIX) :].split(".")
    return tuple((0, int(x)) if x.isdigit() else (1, x) for x in parts)


def run_name(directory: Path, root: Path) -> str:
    """As TensorBoard names runs: the path under the watched directory ("." for itself)."""
    rel = directory.relative_to(root).as_posix() if directory != root else "."
    return clean(rel, 120)


@dataclass
class _History:
    """The points shown so far, kept compactly so a resumed run can be replayed up to its
    resume step (8 bytes a number)."""

    steps: array = field(default_factory=lambda: array("q"))
    lrs: array = field(default_factory=lambda: array("d"))
    losses: array = field(default_factory=lambda: array("d"))
    times: array = field(default_factory=lambda: array("d"))
    epochs: array = field(default_factory=lambda: array("q"))

    def add(self, step: int, epoch: int, lr: float, loss: float, t: float) -> None:
        self.steps.append(step)
        self.epochs.append(epoch)
        self.lrs.append(lr)
        self.losses.append(loss)
        self.times.append(t)

    def cut(self, before: int) -> int:
        """Drop the points at and after step `before` (steps only rise: found by bisection);
        the number of points kept."""
        keep = bisect_left(self.steps, before)
        for a in (self.steps, self.lrs, self.losses, self.times, self.epochs):
            del a[keep:]
        return keep


class TbTail:
    """Where reading one TensorBoard run stands."""

    def __init__(self, directory: Path, root: Path, run: int, tags: TagMap) -> None:
        self.path = directory
        self.label = run_name(directory, root)
        self.run = run
        self.gen = 0
        self.paused = False
        self.announced = False
        self.error = ""
        self.tags = tags
        self._offsets: dict[Path, int] = {}
        self._identity: dict[Path, tuple[int, int]] = {}  # each file's device and inode
        self._history = _History()
        self._lr_now: list[float] = []
        self._epoch_now = 1
        self._start_wall: float | None = None
        self._version_told = False
        self.backlog = False  # more is written than this poll read

    def reset(self, events: list[Event], message: str) -> None:
        self.gen += 1
        self._offsets.clear()
        self._identity.clear()
        self._history = _History()
        self._start_wall = None
        self.paused = False
        events.append(StatusEvent(self.run, self.gen, RunStatus.RUNNING, message))

    def read(self, events: list[Event]) -> None:
        found = Scalars()
        self.backlog = False
        for file in tb_files(self.path):
            self._read_file(file, found, events)
        if not self.announced:
            self.tags.update(found.tags)  # the panel names its tags from the start
            self.announced = True
            events.append(RunAdded(self.run, self._info(), self.gen))
            events.append(StatusEvent(self.run, self.gen, RunStatus.RUNNING, ""))
        if found.version and newer_version(found.version) and not self._version_told:
            self._version_told = True
            message = (
                f"written in a newer event format ({clean(found.version, 40)}); scalars read as version 2"
            )
            events.append(StatusEvent(self.run, self.gen, RunStatus.RUNNING, message))
        if found.corrupt:
            events.append(CorruptLines(self.run, found.corrupt, self.gen))
        if found.tags:
            self._emit(found, events)

    def _info(self) -> RunInfo:
        return RunInfo(self.label, f"tensorboard · {self.tags.describe()}", spec=str(self.path))

    def _read_file(self, file: Path, found: Scalars, events: list[Event]) -> None:
        stat = file.stat()
        size, identity = stat.st_size, (stat.st_dev, stat.st_ino)
        offset = self._offsets.get(file, 0)
        if size < offset or self._identity.setdefault(file, identity) != identity:
            why = "truncated" if size < offset else "replaced"  # rewritten: read the run again
            self.reset(events, f"{file.name} was {why}: re-reading")
            self._identity[file], offset = identity, 0
        if size == offset:
            return
        with file.open("rb") as f:
            f.seek(offset)
            data = f.read(READ_CHUNK)
            whole = first_record_size(data)  # a record longer than the chunk: read to its end
            if whole > len(data):
                data += f.read(whole - len(data))
        used = read_records(memoryview(data), 0, found)
        self._offsets[file] = offset + used
        self.backlog = self.backlog or offset + len(data) < size

    def _emit(self, found: Scalars, events: list[Event]) -> None:
        unknown = not self.tags.lr and self.tags.loss is None
        self.tags.update(found.tags)
        if unknown and (self.tags.lr or self.tags.loss):  # the panel learns which tags it shows
            events.append(RunAdded(self.run, self._info(), self.gen))
        self._steps(found, events)
        for tag in self.tags.others(found.tags):
            steps, values, _ = found.tags[tag]
            events.append(ScalarBlock(self.run, self.gen, clean(tag, 80), tuple(steps), tuple(values)))

    def _steps(self, found: Scalars, events: list[Event]) -> None:
        """The loss steps of this read, each with the LR and epoch in force at its step. Steps
        that go back cut the history (as TensorBoard purges); however many do in one read, the
        run is shown again once, at the end: work in proportion to the records read."""
        loss = found.tags.get(self.tags.loss or "")
        if loss is None:
            return
        lr_at, epoch_at = self._columns(found)
        h, block = self._history, StepRows()
        shown, resumed = len(h.steps), None
        for step, value, wall in zip(*loss, strict=True):
            if h.steps and step <= h.steps[-1]:
                resumed, shown = step, min(shown, h.cut(step))
                block.cut(step)
            if len(self._lr_now) < len(lr_at):
                self._lr_now += [math.nan] * (len(lr_at) - len(self._lr_now))
            for g, at in enumerate(lr_at):
                self._lr_now[g] = at.get(step, self._lr_now[g])
            if step in epoch_at:
                self._epoch_now = logged_epoch(epoch_at[step], self.tags.epoch_progress, self._epoch_now)
            if self._start_wall is None:
                self._start_wall = wall
            lrs, t = tuple(self._lr_now), wall - self._start_wall
            block.add(step, self._epoch_now, lrs, value, t)
            h.add(step, self._epoch_now, lrs[0] if lrs else math.nan, value, t)
        if resumed is not None:
            self._resume(resumed, shown, events)
        block.flush(self.run, self.gen, events)

    def _columns(self, found: Scalars) -> tuple[list[dict[int, float]], dict[int, float]]:
        """Each LR tag's and the epoch tag's values of this read, by step."""
        lr_at = [
            dict(zip(found.tags[t][0], found.tags[t][1], strict=True)) if t in found.tags else {}
            for t in self.tags.lr
        ]
        epoch_col = found.tags.get(self.tags.epoch or "")
        epoch_at = dict(zip(epoch_col[0], epoch_col[1], strict=True)) if epoch_col else {}
        return lr_at, epoch_at

    def _resume(self, step: int, shown: int, events: list[Event]) -> None:
        """Steps went back to `step`: what was shown from there on is dropped, as TensorBoard
        does, and the run is shown again (a new generation) with the `shown` points kept; this
        read's own points follow."""
        self.gen += 1
        events.append(StatusEvent(self.run, self.gen, RunStatus.RUNNING, f"resumed at step {step:,}"))
        h = self._history
        if shown:
            lrs = tuple((lr,) for lr in h.lrs[:shown])
            columns = (h.epochs[:shown], h.losses[:shown], h.times[:shown], h.steps[:shown])
            epochs, losses, times, steps = (tuple(c) for c in columns)
            events.append(StepBlock(self.run, self.gen, steps[0], epochs, lrs, losses, times, steps))
