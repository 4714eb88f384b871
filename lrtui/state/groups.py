"""A schedule trained under several seeds, seen as one: its mean and its spread.

With `--seeds K` every schedule has K runs (same K initial weights and batch orders across
schedules). The panels and charts draw a `GroupView` in their place: it reads like a run, its
lines are the mean over the seeds at each step, and each point's low/high are the lowest and
highest seed there, so a chart's band shows how far the seeds part. The runs themselves stay
as they are (recorded, exported, steered one by one).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import replace

from lrtui.spec.events import MarkEvent, PlateauEvent, RunStatus
from lrtui.state.runlike import RunLike
from lrtui.state.runs import ExperimentState, RunView
from lrtui.state.series import BucketSeries, Column

# a schedule shows the most pressing state of its seeds: a failure, else still training, ...
STATUS_ORDER = (RunStatus.ERROR, RunStatus.DIVERGED, RunStatus.RUNNING, RunStatus.PAUSED, RunStatus.PENDING)


def _merge(cols: Sequence[Column | None]) -> Column | None:
    """The seeds' column at one place: their mean, between the lowest and highest seed."""
    real = [c for c in cols if c is not None]
    if not real:
        return None
    means = [c.mean for c in real]
    return Column(real[0].first, real[0].last, math.fsum(means) / len(means), min(means), max(means))


class MeanSeries:
    """The seeds' series read as one: the parts of `BucketSeries` the views and charts use.

    The seeds of a schedule train in step, so their buckets line up one for one; where one
    seed is behind (paused, restarted), only the steps every seed has are averaged.
    """

    def __init__(self, runs: Sequence[RunView], name: str) -> None:
        self._runs = list(runs)
        self._name = name  # read each time: a restart gives a run new series

    @property
    def _members(self) -> list[BucketSeries]:
        return [getattr(r, self._name) for r in self._runs]

    def __len__(self) -> int:
        return min(len(s) for s in self._members)

    @property
    def first_step(self) -> int:
        return max(s.first_step for s in self._members)

    @property
    def last_step(self) -> int:
        return min(s.last_step for s in self._members)

    @property
    def last_value(self) -> float:
        return statistics.fmean(s.last_value for s in self._members)

    def columns(self, n: int, until: int | None = None) -> list[Column | None]:
        end = until if until is not None else self.last_step
        per = [s.columns(n, end) for s in self._members]
        return [_merge(cols) for cols in zip(*per, strict=True)]

    def buckets(self) -> list[Column]:
        lists = [s.buckets() for s in self._members]
        shared = min(len(b) for b in lists)
        merged = (_merge([b[i] for b in lists]) for i in range(shared))
        return [c for c in merged if c is not None]

    def grouped(
        self, limit: int
    ) -> tuple[list[int], list[int], list[float], list[float], list[float], list[int]]:
        """As `BucketSeries.grouped`: the seeds' mean, low and high the lowest and highest seed."""
        parts = [s.grouped(limit) for s in self._members]
        n = min(len(p[0]) for p in parts)
        means = [[p[2][i] for p in parts] for i in range(n)]
        return (
            parts[0][0][:n],
            parts[0][1][:n],
            [math.fsum(m) / len(m) for m in means],
            [min(m) for m in means],
            [max(m) for m in means],
            parts[0][5][:n],
        )

    def points(self, n: int) -> tuple[list[float], list[float]]:
        firsts, lasts, means, _, _, _ = self.grouped(n)
        return [(a + b) / 2 for a, b in zip(firsts, lasts, strict=True)], means

    def values_at(self, steps: Sequence[float]) -> list[float]:
        """As `BucketSeries.values_at`: the seeds' mean at each step, of those that have one."""
        per = [s.values_at(steps) for s in self._members]
        out = []
        for values in zip(*per, strict=True):
            finite = [v for v in values if math.isfinite(v)]
            out.append(math.fsum(finite) / len(finite) if finite else math.nan)
        return out


def spread(values: Sequence[float]) -> float:
    """The seeds' standard deviation (NaN with fewer than two finite values)."""
    finite = [v for v in values if math.isfinite(v)]
    return statistics.stdev(finite) if len(finite) > 1 else math.nan


class GroupView:
    """One schedule over its seeds, read by panels and charts as they read a run (`RunLike`).

    What every seed shares (the plan, regime changes, epoch ends, timings) is read from the
    first seed; what they each train is their mean (losses, LRs) or the least (steps, epochs).
    """

    def __init__(self, label: str, members: Sequence[RunView], indices: Sequence[int]) -> None:
        self.members = list(members)
        self.indices = list(indices)  # the runs' own indices: commands go to each
        first = self.members[0].info
        seeds = ", ".join(dict(m.info.config).get("seed", "?") for m in self.members)
        detail = f"{first.detail} · seeds {seeds}" if first.detail else f"seeds {seeds}"
        config = tuple((k, seeds if k == "seed" else v) for k, v in first.config)
        self.info = replace(first, label=label, detail=detail, config=config, group="")
        self.lr_series = MeanSeries(self.members, "lr_series")
        self.loss_series = MeanSeries(self.members, "loss_series")
        self.scalars: dict[str, BucketSeries] = {}

    @property
    def is_group(self) -> bool:
        return True

    @property
    def _first(self) -> RunView:
        return self.members[0]

    @property
    def time_series(self) -> BucketSeries:
        return self._first.time_series

    @property
    def plan(self) -> tuple[float, ...] | None:
        return self._first.plan

    @property
    def plan_batches(self) -> int:
        return self._first.plan_batches

    @property
    def planned_marks(self) -> tuple[tuple[int, str, str], ...]:
        return self._first.planned_marks

    @property
    def marks(self) -> list[MarkEvent]:
        return self._first.marks

    @property
    def plateau(self) -> PlateauEvent | None:
        return self._first.plateau

    @property
    def epoch_ends(self) -> list[int]:
        return self._first.epoch_ends

    def planned_lr_at(self, step: int) -> float | None:
        return self._first.planned_lr_at(step)

    @property
    def version(self) -> int:
        return sum(m.version for m in self.members)

    @property
    def gen(self) -> int:
        return sum(m.gen for m in self.members)

    @property
    def status(self) -> RunStatus:
        statuses = [m.status for m in self.members]
        for s in STATUS_ORDER:
            if s in statuses:
                return s
        return statuses[0]

    @property
    def message(self) -> str:
        return next((f"{m.info.label}: {m.message}" for m in self.members if m.message), "")

    @property
    def step(self) -> int:
        return min(m.step for m in self.members)

    @property
    def epoch(self) -> int:
        return min(m.epoch for m in self.members)

    @property
    def lr(self) -> float:
        return statistics.fmean(m.lr for m in self.members)

    @property
    def group_lrs(self) -> tuple[float, ...]:
        each = [m.group_lrs for m in self.members]
        return tuple(map(statistics.fmean, zip(*each, strict=True))) if all(each) else ()

    @property
    def loss(self) -> float:
        return statistics.fmean(m.loss for m in self.members)

    @property
    def loss_spread(self) -> float:
        """How far the seeds' smoothed losses part now (what the panel puts after `±`)."""
        return spread([m.smooth_loss for m in self.members])

    @property
    def best_loss(self) -> float:
        return statistics.fmean(m.best_loss for m in self.members)

    @property
    def smooth_loss(self) -> float:
        """The mean of the seeds' smoothed losses: each seed smoothed as its own run is."""
        return statistics.fmean(m.smooth_loss for m in self.members)

    @property
    def smooth_best(self) -> float:
        return statistics.fmean(m.smooth_best for m in self.members)

    @property
    def val_losses(self) -> list[tuple[int, float]]:
        """The mean validation loss at each evaluation every seed has made."""
        lists = [m.val_losses for m in self.members]
        shared = min(len(v) for v in lists)
        return [(lists[0][i][0], statistics.fmean(v[i][1] for v in lists)) for i in range(shared)]

    @property
    def val_loss(self) -> float:
        vals = self.val_losses
        return vals[-1][1] if vals else math.nan

    @property
    def progress(self) -> float | None:
        total = self.info.total_steps
        return min(1.0, self.step / total) if total else None

    @property
    def total_steps(self) -> int | None:
        return self.info.total_steps


def group_views(runs: Sequence[RunView]) -> list[GroupView] | None:
    """The runs gathered by schedule when they were trained under several seeds, in the
    order schedules first appear; None when they were not."""
    if not runs or not all(r.info.group for r in runs):
        return None
    order: dict[str, list[int]] = {}
    for i, r in enumerate(runs):
        order.setdefault(r.info.group, []).append(i)
    return [GroupView(label, [runs[i] for i in idx], idx) for label, idx in order.items()]


def views(state: ExperimentState) -> list[RunLike]:
    """What the panels and charts show: the runs, or with several seeds one view per schedule,
    built once per set of runs."""
    return _view_set(state)[0]


def members(state: ExperimentState, view: int) -> list[int]:
    """The runs behind view `view`: the schedule's seeds, or the run itself."""
    return list(_view_set(state)[1][view])


def _view_set(state: ExperimentState) -> tuple[list[RunLike], list[list[int]]]:
    """The views, and the runs' indices behind each (commands to a schedule go to its seeds)."""
    if state.view_cache[0] != len(state.runs):
        groups = group_views(state.runs)
        if groups is None:
            shown: list[RunLike] = list(state.runs)
            behind = [[i] for i in range(len(state.runs))]
        else:
            shown, behind = list(groups), [g.indices for g in groups]
        state.view_cache = (len(state.runs), shown, behind)
    return state.view_cache[1], state.view_cache[2]
