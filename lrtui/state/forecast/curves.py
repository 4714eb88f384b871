"""A run as the forecaster sees it: the LR of every step, the loss of the steps seen, and the
few points of the curve a fit looks at.

A fit never looks at every step: the loss is averaged in windows centred on a few hundred
points (a per-step loss is noise; the window mean is the curve), and the O(T²) sum of the
multi-power law is taken over those points and over the LR's drops gathered into the spans
between them, so a fit of 10,000 steps costs what one of 200 does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

POINTS = 160  # points a run is fitted at (after its warm-up)
FINAL_SHARE = 0.05  # "final" loss: the mean over the last 5% of steps
MIN_STEPS = 50  # fewer steps after the warm-up than this: not fitted


@dataclass(frozen=True)
class RunCurve:
    """One run: `lrs[i]` is the LR step i+1 trains with (the whole plan, which may run past
    the steps seen), `losses[i]` its loss (NaN where not seen)."""

    name: str
    lrs: np.ndarray
    losses: np.ndarray

    @property
    def seen(self) -> int:
        """Steps with a loss, counted from the start up to the last one seen."""
        finite = np.flatnonzero(np.isfinite(self.losses))
        return int(finite[-1]) + 1 if finite.size else 0

    def cut(self, steps: int) -> RunCurve:
        """The same run with only its first `steps` losses seen (the plan kept whole)."""
        losses = self.losses.copy()
        losses[steps:] = np.nan
        return RunCurve(self.name, self.lrs, losses)


def make_curve(name: str, lrs: object, losses: object) -> RunCurve:
    """A `RunCurve` from sequences; the loss may be shorter than the plan (a run in progress)."""
    lr = np.asarray(lrs, dtype=float)
    loss = np.full(lr.shape, np.nan)
    seen = np.asarray(losses, dtype=float)[: lr.size]
    loss[: seen.size] = seen
    return RunCurve(name, lr, loss)


def warmup_end(lrs: np.ndarray) -> int:
    """Steps of warm-up: up to the first step at the LR's peak when the LR rises at the start
    (the law's S_W is the LR summed over them), else 0."""
    peak = int(np.argmax(lrs))
    return peak if peak > 0 and lrs[0] < lrs[peak] else 0


def why_unfittable(run: RunCurve) -> str | None:
    """Why a run cannot be fitted, or None."""
    if run.lrs.size == 0 or not np.all(np.isfinite(run.lrs)):
        return "no LR recorded"
    if np.any(run.lrs < 0):
        return "a negative LR (the laws take the LR's power)"
    if not np.any(run.lrs > 0):
        return "an LR of zero at every step"
    finite = run.losses[np.isfinite(run.losses)]
    if finite.size and np.any(finite <= 0):
        return "a loss of zero or below (the laws fit the log of the loss)"
    after = run.seen - warmup_end(run.lrs)
    if after < MIN_STEPS:
        n = max(after, 0)
        return f"only {n} step{'' if n == 1 else 's'} after the warm-up, at least {MIN_STEPS} needed"
    return None


def grid(start: int, stop: int, count: int = POINTS) -> np.ndarray:
    """Up to `count` step indices (0-based) from `start` to `stop - 1`, the last included: half
    spaced evenly by the log of the step (early on the curve bends fastest), half evenly by
    the step (so no span is wider than 2/count of the run, where a late decay bends it)."""
    if stop - start <= count:
        return np.arange(start, stop)
    logs = np.geomspace(start + 1, stop, count // 2) - 1
    even = np.linspace(start, stop - 1, count - count // 2)
    return np.unique(np.round(np.concatenate((logs, even, [stop - 1]))).astype(int))


def window_means(losses: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The loss at each point, averaged over a window centred on it whose half-width is the gap
    to the next point (at least 2 steps), cut to the steps seen: mean(losses[p-h .. p+h])."""
    gaps = np.diff(points, append=points[-1] + (points[-1] - points[-2] if points.size > 1 else 1))
    half = np.maximum(gaps // 2, 2)
    seen = np.where(np.isfinite(losses), losses, 0.0)
    counted = np.isfinite(losses).astype(float)
    total, n = np.concatenate(([0.0], np.cumsum(seen))), np.concatenate(([0.0], np.cumsum(counted)))
    lo = np.clip(points - half, 0, losses.size)
    hi = np.clip(points + half + 1, 0, losses.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (total[hi] - total[lo]) / (n[hi] - n[lo])


def final_width(steps: int) -> int:
    """The steps a final is the mean of: the last 5% of `steps`, rounded up, at least one; the
    leaderboard's rule (`state.leaderboard`), so a run's observed final is the same number in
    `lrtui forecast` and in the leaderboard (448 steps: 23, not 22)."""
    return max(1, math.ceil(steps * FINAL_SHARE))


def final_mean(values: np.ndarray, steps: int) -> float:
    """The mean of `values` over the last 5% of `steps` steps (`final_width`)."""
    width = final_width(steps)
    tail = values[steps - width : steps]
    return float(np.nanmean(tail)) if np.isfinite(tail).any() else float("nan")
