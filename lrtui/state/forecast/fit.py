"""One law fitted jointly on several runs, and the curve it predicts for any schedule.

The fit minimises Σ_runs mean_points huber_δ(ln y - ln L̂) / δ² over θ, with y the loss
averaged in a window around each point (`curves.window_means`) and L̂ the law's prediction:
a relative error, so a run with a high loss weighs no more than one with a low loss, and
Huber, so a spike of the loss pulls less than a square would. L-BFGS-B with the analytic
gradient, from the law's few cheap starts (`Law.starts`), keeping the best. scipy is
imported here only, when a fit is made: it is the `lrtui[forecast]` extra.

Where runs trained on the same batch at each step (`shared`), the batches' difficulty is
estimated from the fit's residuals, taken out of the loss, and each variant of the law
refitted from where it was, the best kept only then: the per-step noise every run shares no
longer pulls the fit nor picks the variant (on charlm the convex-bound law's τ, picked before
the refit, put WSD's final 1.14% high; after it, 0.48%), and a run's predicted final
(`Fitted.final`) carries the difficulty of the batches it ends on.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lrtui.state.forecast.curves import POINTS, RunCurve, final_mean, grid, warmup_end, window_means
from lrtui.state.forecast.law import Law
from lrtui.state.forecast.shared import Shared, cleaned, estimate, shares_with, sharing

DELTA = 0.005  # Huber's δ on the log of the loss: residuals past 0.5% count linearly
CURVE_POINTS = 400  # points a predicted curve is computed at, then interpolated per step
MAX_ITER = 300
SKIP = 0.1


class ForecastError(Exception):
    """Why no forecast can be made at all (scipy missing); one line for the user."""


@dataclass(frozen=True)
class Fitted:
    """A law with its parameters, for LRs divided by `scale` (the peak LR of the runs fitted)."""

    law: Law
    theta: np.ndarray
    scale: float
    runs: tuple[str, ...]
    objective: float
    seconds: float = 0.0
    starts: int = field(default=0)
    shared: Shared | None = None  # the difficulty of the batches the fitted runs shared

    def parameters(self) -> dict[str, float]:
        """The parameters as people read them, the LR being in units of `scale`."""
        return {k: float(v) for k, v in self.law.shown(self.theta).items()}

    def curve(self, lrs: object) -> np.ndarray:
        """The predicted loss of every step of a schedule (`lrs[i]`: step i+1's LR); NaN during
        its warm-up, which the laws do not model."""
        lr = np.asarray(lrs, dtype=float) / self.scale
        out = np.full(lr.shape, np.nan)
        w = warmup_end(lr)
        if lr.size - w < 2:
            return out
        points = curve_points(lr, w)
        predicted, _ = self.law.value(self.theta, self.law.prepare([(lr, points)]))
        out[w:] = np.interp(np.arange(w, lr.size), points, predicted)
        return out

    def final(self, lrs: object, steps: int, losses: object = None) -> float:
        """The predicted final (the mean over the last 5% of `steps`) of a schedule; for a run
        whose logged `losses` show it saw the batches the fitted runs shared, with their
        difficulty at the steps they covered (what its observed final holds too)."""
        predicted = self.curve(lrs)[:steps]
        seen = None if losses is None else np.asarray(losses, dtype=float)[:steps]
        if self.shared is not None and seen is not None and shares_with(seen, self.shared):
            n = min(steps, self.shared.offset.size)
            predicted[:n] = predicted[:n] * np.exp(self.shared.offset[:n])
        return final_mean(predicted, steps)


def curve_points(lr: np.ndarray, w: int) -> np.ndarray:
    """Where a predicted curve is computed: an even grid, and densely after each big drop of
    the LR (a step decay's loss falls within a few steps of it), up to 50 drops."""
    drops = np.flatnonzero(lr[w:-1] - lr[w + 1 :] > 0.01 * lr.max())[:50] + w + 1
    after = (drops[:, None] + np.array([0, 1, 2, 4, 8, 16, 32, 64, 128])[None, :]).ravel()
    return np.unique(np.concatenate((grid(w, lr.size, CURVE_POINTS), after[after < lr.size])))


@dataclass(frozen=True)
class Target:
    """Runs made ready for fitting: their prepared sums, the loss at their points, stacked, and
    each point's weight (1/points of its run: every run weighs the same)."""

    prepared: object
    loss: np.ndarray
    weight: np.ndarray


def target(
    law: Law, runs: Sequence[RunCurve], scale: float, points: int = POINTS, prepared: object = None
) -> Target:
    """`runs` ready for `law`; `prepared`: the law's sums of these runs already prepared (the
    same LRs and steps seen, another loss: a refit on the loss with the shared part out)."""
    stacked, losses, weights = [], [], []
    for run in runs:
        where = grid(fit_start(run), run.seen, points)
        y = window_means(run.losses, where)
        keep = np.isfinite(y)
        span = np.diff(where, prepend=where[0] - 1).astype(float)[keep]  # the steps a point stands for
        stacked.append((run.lrs / scale, where[keep]))
        losses.append(y[keep])
        weights.append(span / span.sum())
    ready = law.prepare(stacked) if prepared is None else prepared
    return Target(ready, np.concatenate(losses), np.concatenate(weights))


def fit_start(run: RunCurve) -> int:
    """The first step fitted: after the warm-up, and after the first `SKIP` of the steps seen
    (the first few hundred steps of training fall faster than any power law of the LR's area)."""
    return max(warmup_end(run.lrs), int(SKIP * run.seen))


def objective(law: Law, theta: np.ndarray, data: Target) -> tuple[float, np.ndarray]:
    """The fit's objective at θ and its gradient."""
    pred, jac = law.value(theta, data.prepared)
    pred = np.maximum(pred, 1e-9)
    r = np.log(data.loss) - np.log(pred)
    loss = np.where(np.abs(r) <= DELTA, 0.5 * r * r, DELTA * (np.abs(r) - 0.5 * DELTA))
    psi = np.clip(r, -DELTA, DELTA)
    return float(data.weight @ loss) / DELTA**2, -((data.weight * psi / pred) @ jac) / DELTA**2


def fit_variant(
    law: Law, runs: Sequence[RunCurve], scale: float, start: np.ndarray | None = None, prepared: object = None
) -> tuple[Fitted, object]:
    """`law` fitted from its own starts, or from `start` alone where one is given; with the
    sums prepared for it (`target`'s `prepared`, to refit the same runs without preparing again)."""
    minimize = _minimize()
    data = target(law, runs, scale, prepared=prepared)
    bounds = law.bounds(float(np.max(data.loss)))
    best: tuple[float, np.ndarray] | None = None
    starts = law.starts(data.prepared, data.loss) if start is None else [start]
    for start in starts:
        x0 = np.clip(start, [b[0] for b in bounds], [b[1] for b in bounds])
        res = minimize(lambda th: objective(law, th, data), x0, jac=True, method="L-BFGS-B",
                       bounds=bounds, options={"maxiter": MAX_ITER})  # fmt: skip
        if np.isfinite(res.fun) and (best is None or res.fun < best[0]):
            best = (float(res.fun), np.asarray(res.x))
    assert best is not None
    fitted = Fitted(law, best[1], scale, tuple(r.name for r in runs), best[0], starts=len(starts))
    return fitted, data.prepared


def fit(law: Law, runs: Sequence[RunCurve], scale: float | None = None, shared: bool = True) -> Fitted:
    """`law` fitted on `runs` together (each fittable: `curves.why_unfittable`), each of its
    variants, the one that matches best kept. Unless `shared` is False (to measure what it
    buys), every variant is refitted with the batches' difficulty the runs shared taken out
    (estimated from the best first fit) and the best kept after that: which variant matches
    best is decided on the loss the laws are about, not on the batches' noise."""
    began = time.perf_counter()
    scale = scale or max(float(np.max(r.lrs[: max(r.seen, 1)])) for r in runs)
    with one_blas_thread():
        fits = [fit_variant(v, runs, scale) for v in law.variants()]
        first = min((f for f, _ in fits), key=lambda f: f.objective)
        members = sharing(runs) if shared else ()
        batches = estimate(runs, [first.curve(r.lrs) for r in runs], members) if members else None
        if batches is not None:
            clean = [cleaned(r, batches) if i in members else r for i, r in enumerate(runs)]
            fits = [fit_variant(f.law, clean, scale, f.theta, ready) for f, ready in fits]
        best = min((f for f, _ in fits), key=lambda f: f.objective)
    return Fitted(best.law, best.theta, scale, best.runs, best.objective, time.perf_counter() - began,
                  sum(f.starts for f, _ in fits) * (2 if batches else 1), batches)  # fmt: skip


def _minimize():
    try:
        from scipy.optimize import minimize
    except ImportError:
        raise ForecastError("the forecast needs scipy: pip install 'lrtui[forecast]'") from None
    return minimize


def one_blas_thread() -> contextlib.AbstractContextManager:
    """BLAS on one thread while fitting: L-BFGS-B's calls are tiny (7 parameters), and a BLAS
    pool's threads spinning on a busy machine made each iteration 8 ms instead of 0.1 ms."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
