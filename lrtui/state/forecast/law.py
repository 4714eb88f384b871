"""What a loss law is to the forecaster: the `Law` protocol, and the sums over the LR that
the laws share.

A law predicts the loss at chosen steps of a run from the run's LR alone (η_t, the LR step
t trains with; every run of a comparison shares one model, data and optimizer, so schedules
differ only through η). The fitter sees a law as: its parameter names, a box for them, a few
starting points, and `value(θ, prepared) -> (loss, ∂loss/∂θ)` at the points prepared. All LRs
are divided by one scale (the peak LR of the runs fitted) before a law sees them, so the
parameters of one fit apply to every run of it, trained or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from lrtui.state.forecast.curves import warmup_end


@dataclass(frozen=True)
class Sums:
    """The LR sums of one run at the points a law is evaluated at (0-based step indices).

    `total[j]` = S1(t_j) + S_W = Σ_{τ≤t_j} η_τ, the area under the LR up to the point,
    warm-up included. `drops[k]` = η_{k-1} - η_k for the steps after the warm-up (0 before)."""

    lrs: np.ndarray
    points: np.ndarray
    total: np.ndarray
    cumulative: np.ndarray  # Σ_{τ≤i} η_τ for every step i
    drops: np.ndarray
    warmup: int


FLOOR_LR = 1e-12  # of the peak: the least LR a law sees (an LR of 0 is read as this)


def sums(lrs: np.ndarray, points: np.ndarray) -> Sums:
    """The sums at `points` of `lrs` (already divided by the peak), each LR read as at least
    `FLOOR_LR`. A schedule annealed to exactly 0 (cosine to 0) is common, and the multi-power
    law takes η_k^(-gamma): at η_k = 0 its term G(η_k^(-gamma)·S_k(t)) is 0·∞. Read as 1e-12 of the
    peak, the term is the law's own limit as η_k → 0 (for gamma < 1, x → 0 and G → 0: a step
    trained at no LR buys no annealing; for gamma > 1, G → 1: the whole drop counts), and the area
    S1 moves by under T·1e-12 of the peak, far below any loss it could change. The annealing
    law has no power of η (only S1^(-alpha) and the drops), so the floor changes nothing there."""
    lrs = np.maximum(lrs, FLOOR_LR)
    cumulative = np.cumsum(lrs)
    w = warmup_end(lrs)
    drops = np.zeros_like(lrs)
    drops[w + 1 :] = lrs[w:-1] - lrs[w + 1 :]
    return Sums(lrs, points, cumulative[points], cumulative, drops, w)


class Law(Protocol):
    """A loss law: L(t) from the LR schedule, with parameters to fit."""

    name: str
    params: tuple[str, ...]  # the names of θ's entries, as shown (log-scaled ones as ln_X)

    def bounds(self, top: float) -> list[tuple[float, float]]:
        """A box for θ; `top` is the highest loss fitted (no term may exceed a few times it)."""
        ...

    def prepare(self, runs: Sequence[tuple[np.ndarray, np.ndarray]]) -> object:
        """What `value` needs of runs, given as (LRs already scaled, points), their points
        stacked in that order; computed once per fit."""
        ...

    def value(self, theta: np.ndarray, prepared: object) -> tuple[np.ndarray, np.ndarray]:
        """The predicted loss at the stacked points, and its Jacobian (points x params)."""
        ...

    def starts(self, prepared: object, target: np.ndarray) -> list[np.ndarray]:
        """A few θ to start the fit from, best first, found cheaply from the stacked loss."""
        ...

    def variants(self) -> list[Law]:
        """The laws to fit in its stead, the best kept (a fixed hyperparameter's few values)."""
        ...

    def shown(self, theta: np.ndarray) -> dict[str, float]:
        """The parameters as people read them (A, not ln A)."""
        ...


def linear_starts(columns: Sequence[np.ndarray], target: np.ndarray) -> np.ndarray | None:
    """Least-squares coefficients of `target` on `columns`, or None when they cannot be told
    apart: the cheap inner step of a search over the law's non-linear parameters."""
    matrix = np.column_stack(columns)
    if not np.all(np.isfinite(matrix)):
        return None
    coef, *_ = np.linalg.lstsq(matrix, target, rcond=None)
    return coef if np.all(np.isfinite(coef)) else None


@dataclass(frozen=True)
class Columns:
    """Runs' points stacked, for a law `L0 + A·total^(-alpha) + C·term` (C ≥ 0; θ = L0, ln A,
    alpha, ln C), linear in L0, A and C: the annealing law (term -S2) and the convex-bound law
    (total P, term N)."""

    total: np.ndarray
    term: np.ndarray


def power_value(theta: np.ndarray, p: Columns) -> tuple[np.ndarray, np.ndarray]:
    """`L0 + A·total^(-alpha) + C·term` at the stacked points, and its Jacobian."""
    l0, ln_a, alpha, ln_c = theta
    ln_total = np.log(p.total)
    power = np.exp(ln_a - alpha * ln_total)
    extra = np.exp(ln_c) * p.term
    jac = np.column_stack([np.ones_like(power), power, -power * ln_total, extra])
    return l0 + power + extra, jac


def power_starts(p: Columns, target: np.ndarray, ln_c: float) -> list[np.ndarray]:
    """Starts for `L0 + A·total^(-alpha) + C·term`: for each alpha of a grid, L0, A and C by
    least squares (the law is linear in them there), the best two with A > 0 and L0 ≥ 0 (C
    floored at 1e-9); `ln_c` where none is."""
    y, scored = target, []
    for alpha in (0.15, 0.3, 0.5, 0.75, 1.0):
        power = p.total ** (-alpha)
        coef = linear_starts([np.ones_like(y), power, p.term], y)
        if coef is None or coef[1] <= 0 or coef[0] < 0:
            continue
        c = max(coef[2], 1e-9)
        sse = float(np.sum((coef[0] + coef[1] * power + c * p.term - y) ** 2))
        scored.append((sse, [coef[0], np.log(coef[1]), alpha, np.log(c)]))
    scored.sort(key=lambda item: item[0])
    return [np.array(t) for _, t in scored[:2]] or [np.array([0.5 * y.min(), 0.0, 0.5, ln_c])]
