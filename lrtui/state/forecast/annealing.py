"""The annealing law (Tissue et al., "Scaling Law with Learning Rate Annealing", 2024): a
power law in the LR's area, less a momentum of the LR's drops.

    L(s) = L0 + A·S1^(-alpha) - C·S2,   S2 = Σ_{i≤s} m_i,   m_i = λ·m_{i-1} + (η_{i-1} - η_i)

θ = (L0, ln A, alpha, ln C); λ is not fitted but chosen from a few values (`variants`), the fit
that matches best kept. S2 is a linear recurrence: it is computed in blocks, each block in
closed form (m_{s0+k} = λ^k·(λ·m_{s0-1} + Σ_{j≤k} λ^(-j)·d_{s0+j})), so no Python loop runs
per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lrtui.state.forecast.law import Columns, Law, power_starts, power_value, sums

BLOCK = 256  # steps a block: λ^(-256) stays far inside a float for λ ≥ 0.9
LAMBDAS = (0.99, 0.995, 0.999)


def momentum(drops: np.ndarray, lam: float) -> np.ndarray:
    """m_i = λ·m_{i-1} + drops_i for every step, m before the first step being 0."""
    out = np.empty_like(drops)
    carry = 0.0
    for start in range(0, drops.size, BLOCK):
        block = drops[start : start + BLOCK]
        powers = lam ** np.arange(block.size)
        out[start : start + block.size] = powers * (lam * carry + np.cumsum(block / powers))
        carry = float(out[start + block.size - 1])
    return out


@dataclass(frozen=True)
class Annealing:
    lam: float = 0.999
    name: str = "annealing"
    params: tuple[str, ...] = ("L0", "ln_A", "alpha", "ln_C")

    def bounds(self, top: float) -> list[tuple[float, float]]:
        return [(0.0, 2 * top), (-20.0, 20.0), (0.01, 3.0), (-30.0, 5.0)]

    def prepare(self, runs: Sequence[tuple[np.ndarray, np.ndarray]]) -> Columns:
        parts = [(sums(lrs, points), points) for lrs, points in runs]
        total = np.concatenate([s.total for s, _ in parts])
        annealed = np.concatenate([np.cumsum(momentum(s.drops, self.lam))[points] for s, points in parts])
        return Columns(total, -annealed)

    def value(self, theta: np.ndarray, prepared: object) -> tuple[np.ndarray, np.ndarray]:
        return power_value(theta, prepared)  # type: ignore[arg-type]

    def starts(self, prepared: object, target: np.ndarray) -> list[np.ndarray]:
        return power_starts(prepared, target, -10.0)  # type: ignore[arg-type]

    def variants(self) -> list[Law]:
        return [Annealing(lam) for lam in LAMBDAS]

    def shown(self, theta: np.ndarray) -> dict[str, float]:
        l0, ln_a, alpha, ln_c = (float(v) for v in theta)
        return {
            "L0": l0,
            "A": float(np.exp(ln_a)),
            "alpha": alpha,
            "C": float(np.exp(ln_c)),
            "lambda": self.lam,
        }
