"""Loss curves made readable: robust outlier clipping, debiased smoothing, shared x axes.

Chart viewers are known for three ways of lying about a loss curve: an EMA that starts near
zero (no debiasing), a constant series drawn as wild spikes (its rounding noise stretched to
fill the axis), and one outlier that both flattens the axis and drags the average. Here:

- Outliers are found locally (a Hampel filter: far from the median of their neighbours, in
  units of those neighbours' median absolute deviation), so a genuine fall in the loss is
  never mistaken for one. They are left out of the smoothing and of the axis limits alike.
- The EMA is per training step, also over history buckets that hold many steps (a bucket of
  n steps moves it as n steps of its mean would), and debiased, so a weight means the same
  for every run and every run length.
- A constant series is drawn exactly flat, and axis spans never shrink below a small
  fraction of the values, so rounding noise never fills the screen.
- Every run is drawn against the same x quantity (step, epoch or seconds), each only over
  its own range: nothing is interpolated between runs.

Nothing here knows of Textual or torch; the chart screens draw what it returns.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from lrtui.spec.smoothing import DebiasedEma
from lrtui.state.runlike import RunLike

X_AXES = ("step", "epoch", "time", "lr")
X_LABELS = {"step": "step", "epoch": "epoch", "time": "seconds", "lr": "learning rate"}
SMOOTHING = (0.0, 0.6, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
AUTO_HALF_LIFE_SHARE = 0.01  # by default the loss is smoothed over about 1% of the run
HAMPEL_HALF_WINDOW = 4
HAMPEL_SIGMAS = 6.0
OUTLIER_MIN_REL = 0.02  # a point within 2% of its neighbours' median is never an outlier
MIN_REL_SPAN = 1e-3
AXIS_LIMIT = 1e300  # values past this are drawn at it: an axis of 1e308 overflows its own span


@dataclass(frozen=True)
class Trace:
    """One run's loss, ready to draw: x values and, per point, raw, smoothed, min and max."""

    xs: list[float]
    raw: list[float]
    smooth: list[float]
    low: list[float]
    high: list[float]
    outlier: list[bool]
    constant: bool

    @property
    def outliers(self) -> int:
        return sum(self.outlier)


def hampel(values: list[float], half: int = HAMPEL_HALF_WINDOW, sigmas: float = HAMPEL_SIGMAS) -> list[bool]:
    """Which values lie far from the median of their neighbourhood."""
    n = len(values)
    out = [False] * n
    if n < 3:
        return out
    for i, v in enumerate(values):
        window = sorted(values[max(0, i - half) : i + half + 1])
        med = _median(window)
        dev = abs(v - med)
        if dev <= OUTLIER_MIN_REL * abs(med) or dev == 0:
            continue  # near its neighbours: no need for their spread
        mad = _median(sorted(abs(w - med) for w in window))
        out[i] = dev > sigmas * 1.4826 * mad
    return out


def _median(sorted_values: list[float]) -> float:
    n = len(sorted_values)
    mid = n // 2
    return sorted_values[mid] if n % 2 else (sorted_values[mid - 1] + sorted_values[mid]) / 2


def debiased_ema(means: list[float], counts: list[int], weight: float, skip: list[bool]) -> list[float]:
    """The EMA after each bucket of `counts` steps (`DebiasedEma`); skipped buckets (outliers)
    neither move it nor count."""
    if weight <= 0:
        return list(means)
    ema = DebiasedEma(weight)
    out = []
    for m, n, drop in zip(means, counts, skip, strict=True):
        if not drop:
            ema.add(m, n)
        out.append(ema.value if ema.norm else m)
    return out


def is_constant(values: list[float]) -> bool:
    if not values:
        return False
    lo, hi = min(values), max(values)
    return hi - lo <= 1e-12 * max(1.0, abs(hi))


def auto_smoothing(steps: int) -> int:
    """The smoothing (index into SMOOTHING) whose half-life is nearest 1% of `steps`: visible on
    a run of 11k steps, not a blur on one of 400."""
    target = max(1.0, steps * AUTO_HALF_LIFE_SHARE)
    return min(
        range(1, len(SMOOTHING)),
        key=lambda i: abs(math.log(half_life_steps(SMOOTHING[i]) / target)),
    )


def x_values(run: RunLike, steps: list[float], axis: str) -> list[float]:
    """Each step of `run` as the chosen x quantity, from the run's own data only (against the
    LR: the LR it trained with at that step). Seconds and LRs logged every few steps are read
    between their points too (`values_at`): a chart point between two logged steps keeps its
    place on those axes instead of falling out."""
    if axis == "lr":
        return run.lr_series.values_at(steps)
    if axis == "epoch":
        batches = run.info.batches or run.plan_batches
        if run.info.batches or run.plan is not None:
            return [s / batches for s in steps]
        return [_epoch_of(run.epoch_ends, s) for s in steps]
    if axis == "time":
        return run.time_series.values_at(steps)
    return list(steps)


def first_x(run: RunLike, axis: str) -> float:
    """The least positive x of the run's lines on `axis` (NaN before it has any): where a log
    x axis begins. Steps, epochs and seconds only grow with the step, so the first step drawn
    decides: the first logged (a run logged every 5 steps starts at 5), or step 1 where the
    plan's line is drawn from the start."""
    if axis == "time":
        return run.time_series.first_above(0.0)
    firsts = [s.first_step for s in (run.loss_series, run.lr_series) if len(s)]
    if run.plan is not None and run.total_steps:
        firsts.append(1)
    if not firsts:
        return math.nan
    return x_values(run, [float(max(1, min(firsts)))], axis)[0]


def _epoch_of(ends: Sequence[int], step: float) -> float:
    """Fractional epoch of a step from the recorded epoch ends (runs of unknown epoch length)."""
    prev = 0
    for k, end in enumerate(ends):
        if step <= end:
            return k + (step - prev) / max(1, end - prev)
        prev = end
    return len(ends) + (step - prev) / max(1, prev / max(1, len(ends))) if ends else step


def envelope(
    lows: list[float], highs: list[float], lasts: list[int], window: int, outlier: list[bool]
) -> tuple[list[float], list[float]]:
    """Min and max of the raw loss over consecutive windows of about `window` steps, per point:
    the spread the smoothed line stands for. Outliers stay out of it, as out of the smoothing."""
    low, high = list(lows), list(highs)
    start, first_step = 0, 1
    for i, last in enumerate(lasts):
        if last - first_step + 1 >= window or i == len(lasts) - 1:
            inside = [j for j in range(start, i + 1) if not outlier[j]]
            if inside:
                lo, hi = min(lows[j] for j in inside), max(highs[j] for j in inside)
                for j in range(start, i + 1):
                    low[j], high[j] = lo, hi
            start, first_step = i + 1, last + 1
    return low, high


def half_life_steps(weight: float) -> float:
    """Steps after which a value's weight in the average has halved (0 with no smoothing)."""
    return math.log(0.5) / math.log(weight) if weight > 0 else 0.0


def window_steps(weight: float) -> int:
    """The envelope's window: the smoothing's half-life, at least a few steps."""
    return max(4, round(half_life_steps(weight)))


def _smoothed(means: list[float], counts: list[int], weight: float) -> tuple[list[float], list[bool], bool]:
    """Means smoothed as every loss is smoothed here: outliers marked and skipped, a debiased
    EMA per training step, a constant drawn flat. (smoothed, outlier, constant)"""
    if is_constant(means):
        return [means[0]] * len(means), [False] * len(means), True
    outlier = hampel(means)
    return debiased_ema(means, counts, weight, outlier), outlier, False


def loss_trace(run: RunLike, weight: float, axis: str = "step", limit: int = 1024) -> Trace:
    """The run's loss at its history's own resolution, at most `limit` points (a chart never
    shows more than its resolution; the filter and the smoothing cost per point), outliers
    marked, smoothed."""
    _, lasts, means, low, high, counts = run.loss_series.grouped(limit)
    smooth, outlier, constant = _smoothed(means, counts, weight)
    xs = x_values(run, [float(last) for last in lasts], axis)
    lows, highs = envelope(low, high, lasts, window_steps(weight), outlier)
    keep = [i for i, x in enumerate(xs) if math.isfinite(x)]
    return Trace(
        [xs[i] for i in keep],
        [means[i] for i in keep],
        [smooth[i] for i in keep],
        [lows[i] for i in keep],
        [highs[i] for i in keep],
        [outlier[i] for i in keep],
        constant,
    )


def difference(trace: Trace, base: Trace) -> tuple[list[float], list[float]]:
    """`trace`'s smoothed loss less `base`'s at the same x (linearly between `base`'s points),
    where both have data: below zero, the run is doing better than the baseline."""
    xs: list[float] = []
    ys: list[float] = []
    bx, by = base.xs, base.smooth
    if len(bx) < 1:
        return xs, ys
    for x, y in zip(trace.xs, trace.smooth, strict=True):
        if not bx[0] <= x <= bx[-1]:
            continue
        j = bisect.bisect_left(bx, x)
        if bx[j] == x or j == 0:
            ref = by[j]
        else:
            t = (x - bx[j - 1]) / (bx[j] - bx[j - 1])
            ref = by[j - 1] + t * (by[j] - by[j - 1])
        xs.append(x)
        ys.append(y - ref)
    return xs, ys


def y_limits(values: list[float], log: bool, pad: bool = True) -> tuple[float, float] | None:
    """Axis limits around `values` (already free of outliers), never narrower than a small
    fraction of their size, so a flat line sits flat in the middle; `pad` leaves a margin."""
    vals = [
        math.log10(v) if log else max(-AXIS_LIMIT, min(AXIS_LIMIT, v))
        for v in values
        if math.isfinite(v) and (v > 0 or not log)
    ]
    if not vals:
        return None
    lo, hi = min(vals), max(vals)
    min_span = 0.01 if log else max(MIN_REL_SPAN * max(abs(lo), abs(hi)), 1e-12)
    if hi - lo < min_span:
        mid = (lo + hi) / 2
        lo, hi = mid - min_span / 2, mid + min_span / 2
    margin = (hi - lo) * 0.05 if pad else 0.0
    floor = lo - margin
    if not log and lo >= 0 > floor:
        floor = 0.0  # LRs and losses are never negative: keep the axis from suggesting so
    return floor, hi + margin


def half_life(weight: float) -> str:
    """The smoothing weight in steps, which a user can reason about."""
    if weight <= 0:
        return "off"
    return f"{weight:g} (half-life {half_life_steps(weight):.3g} steps)"


# the resolution a chart draws a loss at (2 points a cell): the outlier filter costs per
# point, and the panels and the leaderboard read every run's smoothed loss each redraw
SMOOTH_POINTS = 256


class LossHistory(Protocol):
    def grouped(
        self, limit: int
    ) -> tuple[list[int], list[int], list[float], list[float], list[float], list[int]]: ...


@dataclass(frozen=True)
class Smoothed:
    """A loss smoothed as its charts draw it, point by point of its history. A run's panel,
    its leaderboard best and the default threshold read this, so a level is what the run
    settled at, never its one easiest batch (which a raw minimum always is)."""

    lasts: list[int]  # the last step of each point
    values: list[float]
    kept: list[bool]  # False where the point is an outlier: the average did not move there

    @property
    def now(self) -> float:
        return self.values[-1] if self.values else math.nan

    @property
    def best(self) -> float:
        return min((v for v, k in zip(self.values, self.kept, strict=True) if k), default=math.inf)

    def reach(self, threshold: float) -> int | None:
        """The first step by which the smoothed loss was at or below `threshold` (a point's
        last step: exact while a point holds one step)."""
        points = zip(self.lasts, self.values, self.kept, strict=True)
        return next((last for last, v, k in points if k and v <= threshold), None)


def smooth(series: LossHistory, steps: int) -> Smoothed:
    """`series` smoothed with the charts' automatic weight for a run of `steps` steps (a
    half-life of about 1% of it), at a chart's resolution (each point of a long run a group
    of steps, which moves the average as that many steps of its mean would)."""
    _, lasts, means, _, _, counts = series.grouped(SMOOTH_POINTS)
    values, outlier, _ = _smoothed(means, counts, SMOOTHING[auto_smoothing(steps)])
    return Smoothed(lasts, values, [not o for o in outlier])
