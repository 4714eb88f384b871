"""The schedule a fitted law likes best: the lowest predicted final loss at N steps, among
schedules that warm up as the runs did, then never rise again.

Monotone non-increasing after the warm-up, so the law cannot be gamed (appending near-zero
LRs would buy "annealing" a real run never gets). The shape is piecewise linear through
`KNOTS` evenly spaced knots; knot i sits at v_i = Π_{j≤i} z_j of the peak, each z_j in
[0, 1], so every point of the search is monotone by construction and L-BFGS-B searches a box.
The result is data lrtui trains: a `SequentialLR` of `LinearLR` pieces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lrtui.state.forecast.curves import RunCurve, final_mean, final_width, grid, warmup_end
from lrtui.state.forecast.fit import Fitted, _minimize, one_blas_thread

KNOTS = 8
FLOOR = 0.001  # the lowest factor of the peak a knot may take (the laws take η's power)
SEARCH_POINTS = 120  # points the law is evaluated at while searching (`final_of`)
REFINED = 3  # starting shapes refined


@dataclass(frozen=True)
class Suggested:
    """The schedule found: its LR at every step, its spec, and the law's final loss for it."""

    lrs: np.ndarray
    curve: np.ndarray  # the law's loss for it, every step
    spec: str
    predicted_final: float
    factors: tuple[float, ...]  # the knots, as factors of the peak LR


def shape(z: np.ndarray, steps: int, warmup: int, start: float) -> np.ndarray:
    """Factors of the peak LR for every step: a linear warm-up from `start` over `warmup`
    steps, then straight lines through the knots Π z."""
    knots = np.maximum(np.concatenate(([1.0], np.cumprod(z))), FLOOR)
    where = np.linspace(warmup, steps - 1, knots.size)
    out = np.interp(np.arange(steps), where, knots)
    if warmup:
        out[:warmup] = start + (1 - start) * np.arange(warmup) / warmup
    return out


def _shapes(runs: Sequence[np.ndarray] = ()) -> list[np.ndarray]:
    """Where the search starts, as knots' ratios z: the usual shapes (hold the peak for a share
    of the run, then fall linearly, or geometrically, to a share of it: WSD, linear and
    exponential decay), and each run's own schedule after its warm-up, read at the knots, so
    the search begins no worse than the best run."""
    out = []
    at = np.linspace(0, 1, KNOTS + 1)
    for held in (0.0, 0.3, 0.5, 0.7, 0.85):
        for end in (0.01, 0.1, 0.3):
            after = np.clip((at - held) / (1 - held), 0, 1)
            out.append(1 - (1 - end) * after)
            out.append(end**after)
    for lrs in runs:
        w = warmup_end(lrs)
        if lrs.size - w > KNOTS:
            out.append(
                np.minimum.accumulate(lrs[np.linspace(w, lrs.size - 1, KNOTS + 1).astype(int)] / lrs[w])
            )
    return [np.clip(k[1:] / np.maximum(k[:-1], FLOOR), 0, 1) for k in (np.maximum(k, FLOOR) for k in out)]


def spec_of(knots: np.ndarray, steps: int, warmup: int, start: float) -> str:
    """A spec lrtui trains for those knots (warm-up, then one LinearLR per piece, pieces that
    hold one factor merged), per batch. The factors are rounded as printed (4 digits), so the
    spec plans what the law was asked about, to that rounding."""
    bounds = np.round(np.linspace(warmup, steps, knots.size)).astype(int)
    factors = [float(f"{k:.4g}") for k in knots]
    spans: list[list] = []  # [start factor, end factor, first step, last step]
    for i in range(knots.size - 1):
        a, b = factors[i], factors[i + 1]
        if spans and a == b == spans[-1][0] == spans[-1][1]:
            spans[-1][3] = int(bounds[i + 1])
        else:
            spans.append([a, b, int(bounds[i]), int(bounds[i + 1])])
    pieces = [f"LinearLR(start_factor={start:.4g}, total_iters={warmup})"] if warmup else []
    milestones = [warmup] if warmup else []
    for a, b, first, last in spans:
        pieces.append(f"LinearLR(start_factor={a:g}, end_factor={b:g}, total_iters={max(1, last - first)})")
        milestones.append(last)
    return f"SequentialLR(schedulers=[{', '.join(pieces)}], milestones={milestones[:-1]})@batch"


def final_of(fitted: Fitted, steps: int, points: int = SEARCH_POINTS) -> Callable[[np.ndarray], float]:
    """The law's final loss (the mean over the last 5% of `steps`) of a schedule's LRs, cheaply:
    at `points` points spread over the run, those of the last 5% among them, rather than at
    every step as `Fitted.curve` draws it; what the search calls a few hundred times."""
    tail = final_width(steps)
    law, scale = fitted.law, fitted.scale

    def final(lrs: np.ndarray) -> float:
        lr = lrs / scale
        w = warmup_end(lr)
        where = np.unique(
            np.concatenate((grid(w, steps, points), np.linspace(steps - tail, steps - 1, 9).astype(int)))
        )
        predicted, _ = law.value(fitted.theta, law.prepare([(lr, where)]))
        return float(np.mean(np.interp(np.arange(steps - tail, steps), where, predicted)))

    return final


def suggest(
    fitted: Fitted, steps: int, warmup: int, peak: float, start: float = 0.01, runs: Sequence[np.ndarray] = ()
) -> Suggested:
    """The knots minimising the law's final loss (the mean over the last 5% of `steps`): the
    best `REFINED` of the starting shapes (`_shapes`, `runs` the runs' LRs) refined by
    L-BFGS-B, the best kept."""
    minimize = _minimize()
    quick = final_of(fitted, steps)

    def final(z: np.ndarray) -> float:
        return quick(peak * shape(z, steps, warmup, start))

    with one_blas_thread():
        starts = _shapes(runs)
        tried = sorted(((final(z), i) for i, z in enumerate(starts)), key=lambda t: t[0])
        best: tuple[float, np.ndarray] | None = None
        for _, i in tried[:REFINED]:
            res = minimize(final, starts[i], method="L-BFGS-B", bounds=[(0.0, 1.0)] * KNOTS,
                           options={"maxiter": 100, "eps": 1e-4})  # fmt: skip
            if best is None or res.fun < best[0]:
                best = (float(res.fun), np.asarray(res.x))
    assert best is not None
    knots = np.maximum(np.concatenate(([1.0], np.cumprod(best[1]))), FLOOR)
    lrs = peak * shape(best[1], steps, warmup, start)
    curve = fitted.curve(lrs)
    return Suggested(lrs, curve, spec_of(knots, steps, warmup, start), final_mean(curve, steps),
                     tuple(float(k) for k in knots))  # fmt: skip


def for_runs(
    fitted: Fitted,
    runs: Sequence[RunCurve],
    steps: int | None = None,
    warmup: int | None = None,
    peak: float | None = None,
) -> Suggested:
    """The law's best schedule for runs like `runs`: at `steps` (default: their longest plan),
    warmed up as they were (their longest warm-up, from its first LR's share of its peak), to
    `peak` (default: the peak the law was fitted at)."""
    steps = steps or max(r.lrs.size for r in runs)
    longest = max(runs, key=lambda r: warmup_end(r.lrs))
    w = warmup if warmup is not None else warmup_end(longest.lrs)
    start = float(longest.lrs[0] / longest.lrs.max()) if w else 1.0
    return suggest(fitted, steps, min(w, steps - 2), peak or fitted.scale, start, [r.lrs for r in runs])
