"""Common random numbers: runs that saw the same batch at each step share its difficulty.

lrtui seeds a comparison's data order, so every run of it trains on the same batch at the same
step, and a hard batch raises every run's loss at that step together. In log loss,

    ln y_r(t) = ln L_r(t) + d(t) + e_r(t)

with L_r the law's curve for run r, d(t) the difficulty of step t's batch (shared) and e_r(t)
the run's own noise. On `--task charlm` d's standard deviation is 0.06 and e's 0.009: almost
all of a per-step loss's noise is the batch, and the same in every run. So where runs share
batches, d is estimated as the mean over them of their residual from the law, shrunk by
n·v_d / (n·v_d + v_e) (v_d, v_e: the variances of d and e, each from the runs' wiggles; the
best linear estimate of d from n runs), less its own centred moving average over `HIGH_PASS`
steps, taken out of each run's loss before the law is fitted again, and added back to a run's
predicted final where the fitted runs saw those steps. The moving average is taken off because
the mean residual also holds the law's misfit, which is smooth: left in, each refit would be
fitted to the last fit's curve and stay there. A batch's difficulty is white noise, so what
is lost of it is its part slower than `HIGH_PASS` steps (a standard deviation 1/√401 of a
step's). On synthetic runs (tests/test_forecast_shared.py) a moving average over 401 steps
left the worst final error at 0.37%, over 51 steps 0.76%, none 0.65%, no refit 0.92%.

Which runs share batches is read from the losses, not assumed: their wiggles (log loss less
its centred moving average over `WIGGLE` logged points, which a smooth curve leaves near 0;
the app's losses are display columns, a mean every few steps, `wiggles`) correlate
at `SHARED_CORRELATION` or more over at least `MIN_COMMON` steps both logged; runs of
different seeds or data correlate near 0 and are fitted as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lrtui.state.forecast.curves import RunCurve

WIGGLE = 21  # steps of the centred moving average a wiggle is measured from
SHARED_CORRELATION = 0.5
HIGH_PASS = 401  # steps: the mean residual's slower part is the law's misfit, left in
MIN_COMMON = 100  # steps both runs logged, at least, before their wiggles are compared


@dataclass(frozen=True)
class Shared:
    """The per-step difficulty d(t) of the batches a group of runs shared, in log loss (0 at
    steps none of them logged), and which runs of a fit shared them."""

    offset: np.ndarray
    members: tuple[int, ...]


def moving_sum(values: np.ndarray, width: int) -> np.ndarray:
    """Σ values[i - width//2 .. i + width//2] at each i, cut to the array (any length)."""
    total = np.concatenate(([0.0], np.cumsum(values, dtype=float)))
    at = np.arange(values.size)
    return total[np.minimum(at + width // 2 + 1, values.size)] - total[np.maximum(at - width // 2, 0)]


def wiggles(losses: np.ndarray) -> np.ndarray:
    """ln y less its centred moving average over `WIGGLE` logged points (NaN where no loss).
    Points, not steps: a loss known every k-th step (the app's display columns, each the mean
    of k steps; a log of every k-th step) is averaged over WIGGLE·k steps, so it is compared
    with as many neighbours as a loss of every step is."""
    logged = np.isfinite(losses) & (losses > 0)
    ln = np.where(logged, np.log(np.where(logged, losses, 1.0)), 0.0)
    at = np.flatnonzero(logged)
    spacing = max(1, int(np.median(np.diff(at)))) if at.size > 1 else 1
    total = moving_sum(ln, WIGGLE * spacing)
    count = moving_sum(logged.astype(float), WIGGLE * spacing)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(logged & (count > WIGGLE // 2), ln - total / count, np.nan)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """The correlation of two runs' wiggles over the steps both logged (NaN: too few)."""
    n = min(a.size, b.size)
    both = np.isfinite(a[:n]) & np.isfinite(b[:n])
    if both.sum() < MIN_COMMON:
        return float("nan")
    return float(np.corrcoef(a[:n][both], b[:n][both])[0, 1])


def sharing(runs: Sequence[RunCurve]) -> tuple[int, ...]:
    """The largest group of runs whose wiggles correlate pairwise-linked (each joined to the
    group by one correlation ≥ `SHARED_CORRELATION`); empty when no two runs share."""
    wig = [wiggles(r.losses[: r.seen]) for r in runs]
    group_of = list(range(len(runs)))
    for i in range(len(runs)):
        for j in range(i + 1, len(runs)):
            if correlation(wig[i], wig[j]) >= SHARED_CORRELATION:
                old, new = group_of[j], group_of[i]
                group_of = [new if g == old else g for g in group_of]
    sizes = np.bincount(group_of)
    if sizes.max() < 2:
        return ()
    top = int(np.argmax(sizes))
    return tuple(i for i, g in enumerate(group_of) if g == top)


def shrinkage(runs: Sequence[RunCurve]) -> float:
    """n·v_d / (n·v_d + v_e) for the runs' wiggles (n: runs logging a step, on average)."""
    steps = max(r.seen for r in runs)
    stack = np.full((len(runs), steps), np.nan)
    for i, r in enumerate(runs):
        stack[i, : r.seen] = wiggles(r.losses[: r.seen])
    both = np.sum(np.isfinite(stack), axis=0) >= 2
    if both.sum() < MIN_COMMON:
        return 0.0
    part = stack[:, both]
    n = float(np.mean(np.sum(np.isfinite(part), axis=0)))
    v_e = float(np.nanmean(np.nanvar(part, axis=0, ddof=1)))
    v_d = max(float(np.var(np.nanmean(part, axis=0))) - v_e / n, 0.0)
    return n * v_d / (n * v_d + v_e) if v_d > 0 else 0.0


def estimate(runs: Sequence[RunCurve], predicted: Sequence[np.ndarray], members: Sequence[int]) -> Shared:
    """d(t) from the members' residuals ln y - ln L̂ (`predicted[i]`: run i's curve)."""
    steps = max(runs[i].seen for i in members)
    total, count = np.zeros(steps), np.zeros(steps)
    for i in members:
        seen = runs[i].seen
        with np.errstate(invalid="ignore", divide="ignore"):
            residual = np.log(runs[i].losses[:seen]) - np.log(predicted[i][:seen])
        ok = np.isfinite(residual)
        total[:seen][ok] += residual[ok]
        count[:seen][ok] += 1
    shrink = shrinkage([runs[i] for i in members])
    mean = np.divide(total, count, out=np.zeros(steps), where=count > 0)
    near = moving_sum((count > 0).astype(float), HIGH_PASS)
    fast = (mean - moving_sum(mean, HIGH_PASS) / np.maximum(near, 1)) * (count > 0)
    return Shared(shrink * fast, tuple(members))


def cleaned(run: RunCurve, shared: Shared) -> RunCurve:
    """The run with the shared difficulty taken out of each step's loss it covers."""
    losses = run.losses.copy()
    n = min(run.seen, shared.offset.size)
    losses[:n] = losses[:n] * np.exp(-shared.offset[:n])
    return RunCurve(run.name, run.lrs, losses)


def shares_with(losses: np.ndarray, shared: Shared) -> bool:
    """Whether a run's logged losses saw the batches `shared` was estimated on."""
    mine = wiggles(losses)
    near = moving_sum(np.ones(shared.offset.size), WIGGLE)
    theirs = shared.offset - moving_sum(shared.offset, WIGGLE) / near
    return correlation(mine, theirs) >= SHARED_CORRELATION
