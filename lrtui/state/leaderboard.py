"""Runs ranked by what a comparison is for: final loss, best loss, area under the loss curve,
how soon each reached a loss threshold and, where the task evaluates, the validation loss
(the default order then: held-out data is what a schedule is chosen on). Runs that failed
or blew up are flagged and ranked after the healthy ones, whatever their numbers say.

"best" and "steps to threshold" read the loss smoothed as the charts draw it, so neither is
one lucky batch; "final" is the mean of the last steps.

Shared by the app's leaderboard screen and the summary after the headless table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from lrtui.spec.events import RunStatus
from lrtui.state.runs import RunView

METRICS = ("final", "best", "area", "reach", "val")
METRIC_TITLES = {
    "val": "validation loss (the newest)",
    "final": "final loss",
    "best": "best smoothed loss",
    "area": "area (sum of losses over steps)",
    "reach": "steps to threshold",
}
FINAL_FRACTION = 0.05  # "final" is the mean over the last 5% of steps: one batch is noise
BLOWUP = 4.0  # a final loss this many times its best is flagged


@dataclass(frozen=True)
class Standing:
    index: int
    label: str
    steps: int
    final: float
    best: float  # the lowest smoothed loss
    area: float
    reach: int | None  # first step with a smoothed loss at or below the threshold
    flag: str  # "", "diverged", "failed", "blowing up"
    val: float = math.nan  # the newest validation loss, where the task evaluates
    ranks: dict[str, int] = field(default_factory=dict)

    def value(self, metric: str) -> float:
        if metric == "reach":
            return math.inf if self.reach is None else float(self.reach)
        v = getattr(self, metric)
        return v if math.isfinite(v) else math.inf


@dataclass(frozen=True)
class Board:
    rows: list[Standing]  # sorted by `by`
    threshold: float | None
    threshold_auto: bool
    by: str
    has_val: bool = False  # some run has a validation loss: the board shows the column
    uneven: tuple[int, int] | None = None  # unfinished runs at different steps: (fewest, most)

    def caveat(self) -> str:
        """What a reader must know before comparing the rows, or ""."""
        if self.uneven is None:
            return ""
        low, high = self.uneven
        return f"runs are at different steps ({low:,} to {high:,}): ranks compare unequal stretches"


def final_loss(run: RunView) -> float:
    buckets, counts = run.loss_series.buckets(), run.loss_series.counts()
    need = max(1, math.ceil(len(run.loss_series) * FINAL_FRACTION))
    total, n = 0.0, 0
    for b, c in zip(reversed(buckets), reversed(counts), strict=True):
        total += b.mean * c
        n += c
        if n >= need:
            break
    return total / n if n else math.nan


def first_reach(run: RunView, threshold: float) -> int | None:
    """The first step by which the smoothed loss reached `threshold` (exact while a bucket
    holds one step; "by this step" after that)."""
    return run.smoothed().reach(threshold)


def best_stretch(run: RunView) -> float:
    """The lowest mean loss over any stretch of steps as long as the one `final` averages:
    what the run's loss settled at, at its best, where one lucky batch is not a level."""
    buckets, counts = run.loss_series.buckets(), run.loss_series.counts()
    need = max(1, math.ceil(len(run.loss_series) * FINAL_FRACTION))
    best, total, n, start = math.inf, 0.0, 0, 0
    for b, c in zip(buckets, counts, strict=True):
        total, n = total + b.mean * c, n + c
        while n - counts[start] >= need:  # drop the oldest buckets the stretch can spare
            total, n = total - buckets[start].mean * counts[start], n - counts[start]
            start += 1
        if n >= need:
            best = min(best, total / n)
    return best


def flag_of(run: RunView, final: float) -> str:
    if run.status is RunStatus.DIVERGED:
        return "diverged"
    if run.status is RunStatus.ERROR:
        return "failed"
    settled = best_stretch(run)
    if math.isfinite(final) and 0 < settled < math.inf and final > BLOWUP * settled:
        return "blowing up"
    return ""


def board(runs: Sequence[RunView], by: str | None = None, threshold: float | None = None) -> Board:
    """Rank `runs` by `by`, or by default by the validation loss where some run has one, else
    the final loss. Without a threshold, the highest smoothed best among healthy runs: the
    level every healthy run reached, so 'steps to threshold' says who got there first."""
    finals = [math.nan if r.status is RunStatus.DIVERGED else final_loss(r) for r in runs]
    flags = [flag_of(r, f) for r, f in zip(runs, finals, strict=True)]
    has_val = any(r.val_losses for r in runs)
    by = by or ("val" if has_val else "final")
    auto = threshold is None
    if auto:
        healthy = [r for r, fl in zip(runs, flags, strict=True) if not fl]
        bests = [r.smooth_best for r in healthy if math.isfinite(r.smooth_best)]
        threshold = max(bests) if bests else None
    rows = [
        Standing(
            i,
            r.info.label,
            r.step,
            finals[i],
            r.smooth_best,
            r.loss_series.total() if len(r.loss_series) else math.nan,
            first_reach(r, threshold) if threshold is not None else None,
            flags[i],
            r.val_loss,
        )
        for i, r in enumerate(runs)
    ]
    for metric in METRICS:  # equal values share a rank; flagged runs come after healthy ones
        keys = [(bool(s.flag), s.value(metric)) for s in rows]
        for s, key in zip(rows, keys, strict=True):
            s.ranks[metric] = 1 + sum(1 for other in keys if other < key)
    rows.sort(key=lambda s: (s.ranks[by], s.index))
    steps = [r.step for r in runs if r.step]
    unfinished = any(not r.status.finished for r in runs)
    uneven = (min(steps), max(steps)) if unfinished and steps and min(steps) != max(steps) else None
    return Board(rows, threshold, auto, by, has_val, uneven)


def fmt(value: float) -> str:
    if not math.isfinite(value):
        return "—"
    return f"{value:.4f}" if abs(value) < 1e4 else f"{value:.4g}"


def cells(
    s: Standing, position: int, val: bool = False, tied: frozenset[tuple[str, int]] = frozenset()
) -> list[str]:
    """A row as text: its place, then each metric's value with its rank (`=` where runs tie),
    then the flag; with `val`, the validation loss first, the training loss beside it."""

    def rank(metric: str) -> str:
        r = s.ranks[metric]
        return f"({r}=)" if (metric, r) in tied else f"({r})"

    row = [
        "-" if s.flag else str(position),
        s.label,
        f"{fmt(s.final)} {rank('final')}",
        f"{fmt(s.best)} {rank('best')}",
        f"{fmt(s.area)} {rank('area')}",
        f"{s.reach:,} {rank('reach')}" if s.reach is not None else "never",
        s.flag,
    ]
    if val:
        row.insert(2, f"{fmt(s.val)} {rank('val')}")
    return row


def ties(b: Board) -> frozenset[tuple[str, int]]:
    """(metric, rank) pairs that more than one run shares."""
    seen: dict[tuple[str, int], int] = {}
    for s in b.rows:
        for metric, r in s.ranks.items():
            seen[(metric, r)] = seen.get((metric, r), 0) + 1
    return frozenset(k for k, n in seen.items() if n > 1)


HEADERS = ["#", "run", "final", "best", "area", "steps to thr.", "flag"]


def headers(b: Board) -> list[str]:
    return [*HEADERS[:2], "val", *HEADERS[2:]] if b.has_val else HEADERS


def summary(b: Board) -> list[str]:
    """The leaderboard as plain text lines, for the end of `--headless`."""
    heads = headers(b)
    tied = ties(b)
    rows = [heads] + [cells(s, i, b.has_val, tied) for i, s in enumerate(b.rows, 1)]
    widths = [max(len(r[c]) for r in rows) for c in range(len(heads))]
    how = "the loss every healthy run reached" if b.threshold_auto else "set with --loss-threshold"
    thr = f"{b.threshold:.4f}" if b.threshold is not None else "none"
    lines = [
        f"Leaderboard (by {METRIC_TITLES[b.by]}; final = mean of the last {FINAL_FRACTION:.0%} of steps, "
        f"best = lowest smoothed loss; threshold {thr}, {how})"
    ]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if b.caveat():
        lines.append(f"Note: {b.caveat()}")
    return lines


def as_dict(b: Board) -> dict:
    """The leaderboard as plain data (for `--headless --json`); non-finite numbers as null."""

    def num(v: float) -> float | None:
        return v if math.isfinite(v) else None

    rows = [
        {
            "place": None if s.flag else i,
            "run": s.label,
            "steps": s.steps,
            "final": num(s.final),
            "best": num(s.best),
            "area": num(s.area),
            "steps_to_threshold": s.reach,
            "val": num(s.val),
            "flag": s.flag,
            "ranks": dict(s.ranks),
        }
        for i, s in enumerate(b.rows, 1)
    ]
    return {"by": b.by, "threshold": b.threshold, "threshold_auto": b.threshold_auto, "runs": rows}
