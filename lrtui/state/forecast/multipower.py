"""The multi-power law (Luo et al., ICLR 2025): a power law in the LR's area, less the loss
each drop of the LR has bought since.

    L(t) = L0 + A·(S1(t) + S_W)^(-alpha) - LD(t)
    LD(t) = B·Σ_{k≤t} (η_{k-1} - η_k)·G(η_k^(-gamma)·S_k(t)),   S_k(t) = Σ_{τ=k..t} η_τ
    G(x) = 1 - (C·x + 1)^(-β)

θ = (L0, ln A, alpha, ln B, ln C, β, gamma): A, B and C span decades, so they are fitted by their logs.

The sum over k is O(T²) per run. It is taken over the fit's points only, and over the drops
gathered into the spans between them: span j holds the drops of the steps after point j-1 up
to point j, placed at their drop-weighted mean step. A step decay's drops are then exact; a
smooth decay's are within one span of where they were, and spans are short where the curve
bends (the points are spaced by the log of the step). One evaluation is a few elementwise
passes over the (point, span) pairs: 160 points give 12,880 pairs a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np

from lrtui.state.forecast.law import Law, Sums, linear_starts, sums

STARTS = 2  # grid points the full fit starts from


@dataclass(frozen=True)
class Pairs:
    """Runs' points stacked: the LR's area at each point, and each (point i, span j ≤ i) pair
    of a run with a drop: its point (an index into the stack), the span's drop D_j, ln η at
    the span's step, and ln S_k(t_i)."""

    total: np.ndarray
    point: np.ndarray
    drop: np.ndarray
    ln_lr: np.ndarray
    ln_area: np.ndarray


def pairs(lrs: np.ndarray, points: np.ndarray, offset: int) -> Pairs:
    """One run's pairs, its points numbered from `offset`."""
    s = sums(lrs, points)
    drop, where = spans(s)
    i, j = np.tril_indices(points.size)
    keep = drop[j] != 0
    i, j = i[keep], j[keep]
    before = np.where(where[j] > 0, s.cumulative[where[j] - 1], 0.0)
    area = s.total[i] - before
    return Pairs(s.total, i + offset, drop[j], np.log(s.lrs[where[j]]), np.log(np.maximum(area, 1e-300)))


def spans(s: Sums) -> tuple[np.ndarray, np.ndarray]:
    """Each point's span of drops: its summed drop and the drop-weighted step it sits at."""
    edges = np.concatenate(([s.warmup + 1], s.points + 1))
    edges = np.clip(edges, 0, s.drops.size)
    steps = np.arange(s.drops.size, dtype=float)
    weight = np.abs(s.drops)
    total = np.add.reduceat(np.append(s.drops, 0.0), edges)[: s.points.size]
    mass = np.add.reduceat(np.append(weight, 0.0), edges)[: s.points.size]
    moment = np.add.reduceat(np.append(weight * steps, 0.0), edges)[: s.points.size]
    empty = edges[1:] <= edges[:-1]
    total[empty], mass[empty] = 0.0, 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        where = np.where(mass > 0, np.round(moment / mass), 0).astype(int)
    return total, where


@dataclass(frozen=True)
class MultiPower:
    name: str = "multi-power"
    params: tuple[str, ...] = ("L0", "ln_A", "alpha", "ln_B", "ln_C", "beta", "gamma")

    def bounds(self, top: float) -> list[tuple[float, float]]:
        return [(0.0, 2 * top), (-20.0, 20.0), (0.01, 3.0), (-20.0, np.log(10 * top)), (-20.0, 10.0),
                (0.01, 5.0), (0.0, 3.0)]  # fmt: skip

    def prepare(self, runs: Sequence[tuple[np.ndarray, np.ndarray]]) -> Pairs:
        offsets = np.cumsum([0] + [points.size for _, points in runs])
        parts = [pairs(lrs, points, int(o)) for (lrs, points), o in zip(runs, offsets, strict=False)]
        return Pairs(*(np.concatenate([getattr(p, f) for p in parts]) for f in Pairs.__dataclass_fields__))

    def value(self, theta: np.ndarray, prepared: object) -> tuple[np.ndarray, np.ndarray]:
        p: Pairs = prepared  # type: ignore[assignment]
        l0, ln_a, alpha, ln_b, ln_c, beta, gamma = theta
        a, b, c = np.exp(ln_a), np.exp(ln_b), np.exp(ln_c)
        n = p.total.size
        ln_total = np.log(p.total)
        power = a * np.exp(-alpha * ln_total)
        cx = c * np.exp(p.ln_area - gamma * p.ln_lr)
        ln_u = np.log1p(cx)
        u_beta = np.exp(-beta * ln_u)  # (1 + Cx)^(-β)
        q = p.drop * beta * u_beta * cx / (1 + cx)  # D·∂G/∂ln C
        ld = np.bincount(p.point, p.drop * (1 - u_beta), n)
        jac = np.empty((n, 7))
        jac[:, 0] = 1.0
        jac[:, 1] = power
        jac[:, 2] = -power * ln_total
        jac[:, 3] = -b * ld
        jac[:, 4] = -b * np.bincount(p.point, q, n)
        jac[:, 5] = -b * np.bincount(p.point, p.drop * u_beta * ln_u, n)
        jac[:, 6] = b * np.bincount(p.point, q * p.ln_lr, n)
        return l0 + power - b * ld, jac

    def starts(self, prepared: object, target: np.ndarray) -> list[np.ndarray]:
        """A grid over (C, β, gamma, alpha); for each, L0, A and B by least squares (the law is linear in
        them there). The two best grid points with A, B ≥ 0 and L0 ≥ 0, best first."""
        p: Pairs = prepared  # type: ignore[assignment]
        y = target
        scored = []
        for c, beta, gamma in product((1.0, 10.0, 100.0), (0.3, 0.7), (0.3, 0.7)):
            theta = np.array([0.0, 0.0, 0.5, 0.0, np.log(c / float(p.total.max())), beta, gamma])
            ld = _ld(theta, p)
            for alpha in (0.15, 0.3, 0.5, 0.75, 1.0):
                power = p.total ** (-alpha)
                coef = linear_starts([np.ones_like(y), power, -ld], y)
                if coef is None or coef[1] <= 0 or coef[0] < 0:
                    continue
                b = max(coef[2], 1e-3 * float(np.mean(y)))
                sse = float(np.sum((coef[0] + coef[1] * power - b * ld - y) ** 2))
                scored.append((sse, [coef[0], np.log(coef[1]), alpha, np.log(b), theta[4], beta, gamma]))
        scored.sort(key=lambda item: item[0])
        return [np.array(t) for _, t in scored[:STARTS]] or [
            np.array([0.5 * y.min(), 0.0, 0.5, -3.0, 0.0, 0.5, 0.5])
        ]

    def variants(self) -> list[Law]:
        return [self]

    def shown(self, theta: np.ndarray) -> dict[str, float]:
        l0, ln_a, alpha, ln_b, ln_c, beta, gamma = (float(v) for v in theta)
        return {"L0": l0, "A": np.exp(ln_a), "alpha": alpha, "B": np.exp(ln_b), "C": np.exp(ln_c),
                "beta": beta, "gamma": gamma}  # fmt: skip


def _ld(theta: np.ndarray, p: Pairs) -> np.ndarray:
    """LD(t)/B at the points, for the grid of starts."""
    cx = np.exp(theta[4] + p.ln_area - theta[6] * p.ln_lr)
    return np.bincount(p.point, p.drop * (1 - (1 + cx) ** (-theta[5])), p.total.size)
