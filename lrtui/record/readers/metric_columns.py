"""A run's logged points as columns, and folded into step blocks as columns: what a source that
reads in bulk (`wandb`) hands `metric_tail` in place of one `Point` a step, so that a million
steps cost a few array operations rather than a million turns of a Python loop.

The fold is `MetricTail`'s, column by column: a step's LR is the LR logged last at or before it
(a forward fill, `lr[i] = v[max{j <= i : logged[j]}]`, else the LR carried from the last read),
its epoch likewise from the last epoch logged that is a number (`tags.logged_epoch`), its time
the wall clock less the first finite one of a loss step. A read whose loss steps go back (a
resumed job) is not folded here: `MetricTail` takes it a point at a time, as ever.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lrtui.record.readers.tags import MAX_EPOCH, TagMap

Point = tuple[int, dict[str, float], float]


@dataclass
class Columns:
    """Points as columns: one row a point, in the order logged."""

    steps: np.ndarray  # int64
    walls: np.ndarray  # float64, nan where unknown
    values: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # name: (value, logged)

    def __len__(self) -> int:
        return len(self.steps)

    def names(self) -> set[str]:
        """The names logged at one point or more."""
        return {name for name, (_, logged) in self.values.items() if logged.any()}

    def points(self) -> list[Point]:
        """The same points one by one (for export, and for a read that is not folded here)."""
        named = [(name, v.tolist(), logged.tolist()) for name, (v, logged) in self.values.items()]
        return [
            (step, {name: v[i] for name, v, logged in named if logged[i]}, wall)
            for i, (step, wall) in enumerate(zip(self.steps.tolist(), self.walls.tolist(), strict=True))
        ]


def filled(values: np.ndarray, logged: np.ndarray, before: float) -> np.ndarray:
    """Each row's last logged value at or before it; `before` where none is yet."""
    last = np.maximum.accumulate(np.where(logged, np.arange(len(values)), -1))
    return np.where(last >= 0, values[np.maximum(last, 0)], before)


def epochs(values: np.ndarray, logged: np.ndarray, progress: bool, before: int) -> np.ndarray:
    """Each row's epoch, as `tags.logged_epoch` reads the epochs logged, carried forward."""
    usable = logged & np.isfinite(values) & (np.abs(values) <= MAX_EPOCH)
    safe = np.where(usable, values, 0.0)
    read = np.ceil(safe - 1e-9) if progress else np.floor(safe + 1e-9) + 1
    return filled(np.maximum(read, 1).astype(np.int64), usable, before).astype(np.int64)


@dataclass
class Folded:
    """One read's loss steps, as a block's columns, and what the next read carries on from."""

    steps: list[int]
    epochs: list[int]
    lrs: list[tuple[float, ...]]
    losses: list[float]
    times: list[float]
    lr_now: list[float]
    epoch_now: int
    start: float | None


def fold(cols: Columns, tags: TagMap, lr_now: list[float], epoch_now: int, last_step: int | None,
         start: float | None) -> Folded | None:  # fmt: skip
    """The loss steps of `cols` as `MetricTail._emit` folds them; None where a loss step does
    not come after the one before (that read is folded a point at a time)."""
    n = len(cols)
    lr_now = lr_now + [float("nan")] * (len(tags.lr) - len(lr_now))
    lrs = []
    for g, tag in enumerate(tags.lr):
        v, logged = cols.values.get(tag, (np.zeros(n), np.zeros(n, bool)))
        lrs.append(filled(v, logged, lr_now[g]))
    epoch = np.full(n, epoch_now, np.int64)
    if tags.epoch in cols.values:
        epoch = epochs(*cols.values[tags.epoch], tags.epoch_progress, epoch_now)
    loss, rows = np.zeros(0), np.zeros(0, np.int64)
    if tags.loss in cols.values:
        v, logged = cols.values[tags.loss]
        rows = np.flatnonzero(logged)
        loss = v[rows]
    steps = cols.steps[rows]
    if len(rows) and (np.any(np.diff(steps) <= 0) or (last_step is not None and steps[0] <= last_step)):
        return None
    walls = cols.walls[rows]
    finite = np.isfinite(walls)
    if start is None and finite.any():
        start = float(walls[np.argmax(finite)])
    times = np.where(finite, walls - start, 0.0) if start is not None else np.zeros(len(rows))
    return Folded(
        steps.tolist(),
        epoch[rows].tolist(),
        list(zip(*(lr[rows].tolist() for lr in lrs), strict=True)) if lrs else [()] * len(rows),
        loss.tolist(),
        times.tolist(),
        [float(lr[-1]) for lr in lrs] if n else list(lr_now),
        int(epoch[-1]) if n else epoch_now,
        start,
    )


def scalar_blocks(cols: Columns, tags: TagMap) -> list[tuple[str, list[int], list[float]]]:
    """The other names logged (not the LR, the loss or the epoch): each one's steps and values,
    sorted by name, as `MetricTail._emit` hands them over for the charts."""
    out = []
    for name in tags.others(cols.names()):
        v, logged = cols.values[name]
        out.append((name, cols.steps[logged].tolist(), v[logged].tolist()))
    return out
