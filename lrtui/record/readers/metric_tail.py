"""What the readers of other trackers' logs share: a run is a stream of logged points (a step,
its named values, when), and the LR, the loss and the epoch are picked out of the names by the
same rule as TensorBoard's (`tags`). Each source (`wandb`, `mlflow_store`, `lightning_csv`,
`hf_state`, `ray_tune`) only reads its own files into `Chunk`s; `MetricTail` turns them into
events for the watcher and `metric_rows` into CSV rows for `export`.

A step's LR is the LR logged last at or before it (Lightning's LearningRateMonitor and HF log
the LR on their own rows); every name that is not the LR, the loss or the epoch becomes a
`ScalarBlock` for the charts. A loss step that goes back (a job resumed from a checkpoint, a
replaced file) starts a new generation of the run.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lrtui.record.readers.base import Counts, ReadOptions, waiting
from lrtui.record.readers.metric_columns import Columns, fold, scalar_blocks
from lrtui.record.readers.steps import StepRows
from lrtui.record.readers.tags import TagMap, logged_epoch, tag_map
from lrtui.spec.events import (
    CorruptLines,
    Event,
    RunAdded,
    RunInfo,
    RunStatus,
    ScalarBlock,
    StatusEvent,
)
from lrtui.spec.text import clean

Point = tuple[int, dict[str, float], float]  # a step, its values by name, its wall time (nan: unknown)


@dataclass(frozen=True)
class Meta:
    """What a source knows of its run besides the points: its name and setup."""

    label: str
    detail: str = ""
    config: tuple[tuple[str, str], ...] = ()
    total_steps: int | None = None


@dataclass
class Chunk:
    """What one read of a source found."""

    points: list[Point] = field(default_factory=list)
    corrupt: int = 0
    restarted: str = ""  # the source began again (a replaced file): why; the points are from its start
    meta: Meta | None = None  # the run's name and setup, when first (or newly) known
    more: bool = False  # more was written than this read took: read on at once
    missing: bool = False  # nothing there (yet)
    finished: str | None = None  # the files say the run ended: how ("" still going, None not read)
    failed: bool = False  # with `finished`: it ended in failure (W&B's non-zero exit code): an error
    columns: Columns | None = None  # points read in bulk, as columns (after `points`)


class MetricSource(Protocol):
    """One run of some tracker, read a chunk at a time."""

    path: Path

    def read(self) -> Chunk:
        """What is new since the last read."""
        ...

    def restart(self) -> None:
        """Forget where reading stood: the next read starts from the beginning."""
        ...


def config_pairs(config: dict[str, object], limit: int = 60) -> tuple[tuple[str, str], ...]:
    """A run's setup as text pairs, cleaned (it came from a file), nested keys joined by `.`."""
    pairs: list[tuple[str, str]] = []

    def visit(prefix: str, value: object) -> None:
        if isinstance(value, dict) and (value or not prefix) and len(pairs) < limit:  # no setup: none
            for k, v in value.items():
                visit(f"{prefix}.{k}" if prefix else str(k), v)
        elif len(pairs) < limit:
            pairs.append((clean(prefix, 80), clean(str(value), 120)))

    visit("", config)
    return tuple(pairs)


def run_label(folder: Path, root: Path | None) -> str:
    """A run's name: its folder's path under the folder watched, or the folder's own name."""
    try:
        rel = folder.relative_to(root).as_posix() if root is not None else "."
    except ValueError:
        rel = "."
    return clean(folder.name if rel == "." else rel, 120)


def number(value: object) -> float | None:
    """A logged value as a float, or None where it is not a number (text, a list, a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class MetricTail:
    """Where reading one run of a tracker stands, for the watcher."""

    def __init__(self, source: MetricSource, run: int, tags: TagMap, kind: str) -> None:
        self.source = source
        self.path = source.path
        self.run = run
        self.gen = 0
        self.paused = False
        self.announced = False
        self.error = ""
        self.backlog = False
        self.tags = tags
        self._kind = kind
        self._meta = Meta(clean(source.path.name, 120))
        self._fresh()

    def _fresh(self) -> None:
        self._done = False  # a finished status shown for this generation
        self._lr_now: list[float] = []
        self._epoch_now = 1
        self._last_step: int | None = None
        self._start: float | None = None

    def reset(self, events: list[Event], message: str) -> None:
        self.gen += 1
        self.paused = False
        self.source.restart()
        self._fresh()
        events.append(StatusEvent(self.run, self.gen, RunStatus.RUNNING, message))

    def read(self, events: list[Event]) -> None:
        chunk = self.source.read()
        self.backlog = chunk.more
        if chunk.restarted and self.announced:
            self.gen += 1
            self._fresh()
            events.append(StatusEvent(self.run, self.gen, RunStatus.RUNNING, clean(chunk.restarted, 200)))
        unknown = not self.tags.lr and self.tags.loss is None
        self.tags.update({k for _, values, _ in chunk.points for k in values})
        if chunk.columns is not None:
            self.tags.update(chunk.columns.names())
        learned = unknown and bool(self.tags.lr or self.tags.loss)
        if chunk.meta is not None:
            self._meta = chunk.meta
        if not self.announced and chunk.missing and chunk.meta is None:
            self.announced = True
            events.append(RunAdded(self.run, waiting(self.path), self.gen))
        elif not self.announced or chunk.meta is not None or learned:
            first = not self.announced
            self.announced = True
            events.append(RunAdded(self.run, self._info(), self.gen))
            if first:
                events.append(StatusEvent(self.run, self.gen, RunStatus.RUNNING, ""))
        if chunk.corrupt:
            events.append(CorruptLines(self.run, chunk.corrupt, self.gen))
        if chunk.points:
            self._emit(chunk.points, events)
        if chunk.columns is not None and len(chunk.columns):
            self._emit_columns(chunk.columns, events)
        if chunk.finished is not None and bool(chunk.finished) != self._done:
            self._done = bool(chunk.finished)  # a finished run trained on (resumed): running again
            ended = RunStatus.ERROR if chunk.failed else RunStatus.DONE
            status = ended if self._done else RunStatus.RUNNING
            events.append(StatusEvent(self.run, self.gen, status, clean(chunk.finished, 200)))

    def _info(self) -> RunInfo:
        m = self._meta
        detail = " · ".join(x for x in (self._kind, m.detail, self.tags.describe()) if x)
        return RunInfo(m.label, detail, m.total_steps, spec=clean(str(self.path), 300), config=m.config)

    def _emit_columns(self, cols: Columns, events: list[Event]) -> None:
        """`_emit` for points read in bulk: the same events, folded as columns."""
        done = fold(cols, self.tags, self._lr_now, self._epoch_now, self._last_step, self._start)
        if done is None:  # a loss step that goes back: a point at a time
            self._emit(cols.points(), events)
            return
        self._lr_now, self._epoch_now, self._start = done.lr_now, done.epoch_now, done.start
        self._last_step = done.steps[-1] if done.steps else self._last_step
        StepRows(done.steps, done.epochs, done.lrs, done.losses, done.times).flush(self.run, self.gen, events)
        for tag, steps, values in scalar_blocks(cols, self.tags):
            events.append(ScalarBlock(self.run, self.gen, clean(tag, 80), tuple(steps), tuple(values)))

    def _emit(self, points: list[Point], events: list[Event]) -> None:
        block = StepRows()
        scalars: dict[str, tuple[list[int], list[float]]] = {}
        lr_tags, loss_tag, epoch_tag = self.tags.lr, self.tags.loss, self.tags.epoch
        others = set(self.tags.others({k for _, values, _ in points for k in values}))
        if len(self._lr_now) < len(lr_tags):
            self._lr_now += [math.nan] * (len(lr_tags) - len(self._lr_now))
        for step, values, wall in points:
            for g, tag in enumerate(lr_tags):
                if tag in values:
                    self._lr_now[g] = values[tag]
            if epoch_tag in values:
                self._epoch_now = logged_epoch(values[epoch_tag], self.tags.epoch_progress, self._epoch_now)
            for tag in others.intersection(values):
                steps, vals = scalars.setdefault(tag, ([], []))
                steps.append(step)
                vals.append(values[tag])
            if loss_tag not in values:
                continue
            if self._last_step is not None and step <= self._last_step:
                block.flush(self.run, self.gen, events)
                self.gen += 1
                self._fresh()
                events.append(
                    StatusEvent(self.run, self.gen, RunStatus.RUNNING, f"went back to step {step:,}")
                )
            if self._start is None and math.isfinite(wall):
                self._start = wall
            t = wall - self._start if self._start is not None and math.isfinite(wall) else 0.0
            block.add(step, self._epoch_now, tuple(self._lr_now), values[loss_tag], t)
            self._last_step = step
        block.flush(self.run, self.gen, events)
        for tag, (steps, vals) in sorted(scalars.items()):
            events.append(ScalarBlock(self.run, self.gen, clean(tag, 80), tuple(steps), tuple(vals)))


def _all_points(source: MetricSource, counts: Counts) -> tuple[list[Point], Meta | None]:
    """Every point of a run, as the viewer ends up showing it: a restart drops what came before."""
    points: list[Point] = []
    meta = None
    while True:
        chunk = source.read()
        counts.corrupt += chunk.corrupt
        if chunk.restarted:
            points.clear()
        if chunk.columns is not None:  # a bulk read: its rows one by one
            chunk.points += chunk.columns.points()
        points += chunk.points
        counts.tags.update(k for _, values, _ in chunk.points for k in values)
        meta = chunk.meta or meta
        if not chunk.more:
            return points, meta


def metric_rows(source: MetricSource, options: ReadOptions, counts: Counts) -> Iterator[list[object]]:
    """A run's loss steps as CSV values (`run,step,epoch,lr,loss,time`, a field per `--tag`):
    the LR and epoch in force at each step, a `--tag` value logged at the same step. A step that
    goes back drops the steps logged at and after it, as the viewer does."""
    points, meta = _all_points(source, counts)
    tags = tag_map(options.lr_tag, options.loss_tag)
    tags.update({k for _, values, _ in points for k in values})
    label = meta.label if meta else clean(source.path.name, 120)
    merged: dict[int, dict[str, float]] = {}  # by step, in the order logged
    walls: dict[int, float] = {}
    last = None
    for step, values, wall in points:
        if tags.loss in values and last is not None and step <= last:
            for s in [s for s in merged if s >= step]:
                del merged[s]
        if tags.loss in values:
            last = step
        merged.setdefault(step, {}).update(values)
        walls.setdefault(step, wall)
    start = next((w for w in walls.values() if math.isfinite(w)), math.nan)
    lrs = [math.nan] * len(tags.lr)
    epoch = 1
    for step in sorted(merged):
        values = merged[step]
        lrs = [values.get(t, lrs[g]) for g, t in enumerate(tags.lr)]
        if tags.epoch in values:
            epoch = logged_epoch(values[tags.epoch], tags.epoch_progress, epoch)
        if tags.loss not in values:
            continue
        wall = walls[step]
        t = round(wall - start, 6) if math.isfinite(wall) and math.isfinite(start) else ""
        extra = [values.get(t_, "") for t_ in options.extra]
        counts.rows += 1
        yield [label, step, epoch, ";".join(map(repr, lrs)), values[tags.loss], t, *extra]
