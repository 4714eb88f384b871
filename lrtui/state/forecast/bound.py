"""The convex-bound law: a power law in the progress the LR has bought, plus the noise the LR
still stirs, timed as the last-iterate bound of convex SGD times it.

    L(t) = L0 + A·P(t)^(-alpha) + B·N(t)
    P(t) = Σ_{s≤t} η_s·(1 + κ)/(η_s + κ)
    N(t) = Q_t/(2·C_t) + ½·Σ_{k<t} min(1, η_k/a_k)·(q_k/b_k)·exp(-a_k/τ)
    a_k = Σ_{s=k+1..t} η_s,  b_k = Σ_{s=k..t} η_s,  q_k = Σ_{s=k..t} η_s²
    C_t = Σ_{s≤t} η_s,  Q_t = Σ_{s≤t} η_s²

(LRs divided by the peak.) N is the schedule's term of the last-iterate bound for convex
SGD (Defazio, Cutkosky, Mehta, Mishchenko 2023, "When, why and how much?", Thm. 10), which
Schaipp, Hägele, Taylor, Şimşekli and Bach (ICML 2025) found to follow real LLM loss curves
across schedules (a cooldown's drop, WSD against cosine). The bound's D²/(2·C_t) becomes the
power law of the other two laws, with its area P: each step's LR counted up to a saturation κ
(κ → ∞ is S1; a small κ counts a step near the peak little more than one at a tenth of it,
the LR past which more LR buys little more progress). Three changes to the bound's noise
term, each for a way training is not the bound: its sum is cut off after τ of LR area (at a
constant LR the bound's harmonic sum grows as ln t, a loss at a constant LR does not);
η_k/a_k is capped at 1 (right after a sharp drop a_k < η_k and the bound jumps up for a few
steps, and to infinity for a drop to 0, where training's loss stands still); and steps at an
LR of 0 are left out (the law's `FLOOR_LR`: they move nothing).

θ = (L0, ln A, alpha, ln B): the law is linear in L0, A and B. κ and τ are chosen from a grid
(`variants`), the fit that matches best kept. Why this law beside the other two, measured on
charlm (`python -m lrtui.bench --forecast`, fitted on constant + warm-up+cosine): training
there ends linear decay 2.2% below cosine, and the multi-power and annealing laws, which
count progress as S1, put it 3% above its observed final; with P saturating (κ 0.3 of the
peak) a step of linear decay's long middle at half the peak buys nearly what one of cosine's
near the peak does, and the law misses linear by 0.9% (by +1.9% with κ = ∞). And the bound's
noise term times a late decay's payoff by the LR area left after each step, where the
multi-power fit paid WSD's 240-step decay in full at once (-7%): this law misses WSD by 0.5%.

N at a point t is a sum over every step before it: O(points x steps) once per (run, τ) when
a fit is prepared, cut to the steps within 12·τ of LR area of the point (exp(-12) of a term),
in chunks of points so no array passes `CHUNK` entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lrtui.state.forecast.law import FLOOR_LR, Columns, Law, power_starts, power_value

KAPPAS = (0.1, 0.3, 1.0, np.inf)
TAUS = (100.0, 300.0, 1000.0)
CUT = 12.0  # in τ: terms further back in LR area than this are left out
CHUNK = 1 << 21
KNOWN = 64  # N's kept for reuse: a fit's (3 τ x its runs); a search's many schedules are not


def progress(lrs: np.ndarray, kappa: float) -> np.ndarray:
    """P at every step: each step's LR (≥ `FLOOR_LR`) saturating at κ, summed."""
    eta = np.maximum(lrs, FLOOR_LR)
    return np.cumsum(eta if np.isinf(kappa) else eta * (1 + kappa) / (eta + kappa))


def noise(lrs: np.ndarray, points: np.ndarray, tau: float) -> np.ndarray:
    """N at `points` (0-based step indices, increasing) of a schedule."""
    eta = np.where(lrs > FLOOR_LR, lrs, 0.0)
    c, q = np.cumsum(eta), np.cumsum(eta * eta)
    c_before, q_before = c - eta, q - eta * eta
    out = np.empty(points.size)
    per = max(1, CHUNK // max(1, int(points[-1]) + 1)) if points.size else 1
    for first in range(0, points.size, per):
        p = points[first : first + per]
        lo = int(np.searchsorted(c, c[p[0]] - CUT * tau))
        k = np.arange(lo, int(p[-1]))
        ct, qt = c[p][:, None], q[p][:, None]
        a = ct - c[k]
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.minimum(1.0, eta[k] / a) * (qt - q_before[k]) / (ct - c_before[k])
        term = np.where((k < p[:, None]) & (eta[k] > 0) & (a > 0), weight * np.exp(-a / tau), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            head = np.where(c[p] > 0, q[p] / (2 * c[p]), 0.0)
        out[first : first + per] = head + 0.5 * term.sum(axis=1)
    return out


@dataclass(frozen=True)
class ConvexBound:
    kappa: float = np.inf
    tau: float = 300.0
    name: str = "convex-bound"
    params: tuple[str, ...] = ("L0", "ln_A", "alpha", "ln_B")
    # N of (τ, a run's LRs and points), shared by the variants of one `variants()` call (one
    # fit): N does not depend on κ, and is most of a fit's time (6 x 10,000 steps: 16 ms a run);
    # None (the registry's law): nothing kept
    known: dict | None = field(default=None, compare=False, repr=False)

    def bounds(self, top: float) -> list[tuple[float, float]]:
        return [(0.0, 2 * top), (-20.0, 20.0), (0.01, 3.0), (-30.0, np.log(10 * top))]

    def prepare(self, runs: Sequence[tuple[np.ndarray, np.ndarray]]) -> Columns:
        return Columns(
            np.concatenate([progress(lrs, self.kappa)[points] for lrs, points in runs]),
            np.concatenate([self._noise(lrs, points) for lrs, points in runs]),
        )

    def _noise(self, lrs: np.ndarray, points: np.ndarray) -> np.ndarray:
        if self.known is None:
            return noise(lrs, points, self.tau)
        key = (self.tau, hash(lrs.tobytes()), hash(points.tobytes()))
        found = self.known.get(key)
        if found is None:
            found = noise(lrs, points, self.tau)
            if len(self.known) < KNOWN:
                self.known[key] = found
        return found

    def value(self, theta: np.ndarray, prepared: object) -> tuple[np.ndarray, np.ndarray]:
        return power_value(theta, prepared)  # type: ignore[arg-type]

    def starts(self, prepared: object, target: np.ndarray) -> list[np.ndarray]:
        return power_starts(prepared, target, -3.0)  # type: ignore[arg-type]

    def variants(self) -> list[Law]:
        known: dict = {}
        return [ConvexBound(kappa, tau, known=known) for kappa in KAPPAS for tau in TAUS]

    def shown(self, theta: np.ndarray) -> dict[str, float]:
        l0, ln_a, alpha, ln_b = (float(v) for v in theta)
        return {"L0": l0, "A": float(np.exp(ln_a)), "alpha": alpha, "B": float(np.exp(ln_b)),
                "kappa": self.kappa, "tau": self.tau}  # fmt: skip
