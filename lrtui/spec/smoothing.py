"""The one moving average of a loss: an EMA debiased for its start.

The range test smooths its loss with it as it trains, and the charts, panels and leaderboard
smooth every run's loss with it (`state.traces`), so "smoothed" means one thing everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class DebiasedEma:
    """An exponential moving average with weight w, each value standing for n steps:

        d = w^n,  avg ← d·avg + (1 - d)·x,  norm ← d·norm + (1 - d),  value = avg / norm

    A plain EMA starts at zero and is dragged towards it for its first ~1/(1 - w) steps;
    dividing by `norm` (1 - w^k after k single steps, Adam's bias correction) makes the
    first value the value itself and gives a weight the same meaning for every run length.
    A value standing for n steps (a bucket of a long history) moves the average as n steps
    of that value would.
    """

    weight: float
    avg: float = 0.0
    norm: float = 0.0

    def add(self, value: float, steps: int = 1) -> float:
        """Take in `value` (for `steps` steps); the average now."""
        decay = self.weight**steps
        self.avg = decay * self.avg + (1 - decay) * value
        self.norm = decay * self.norm + (1 - decay)
        return self.value

    @property
    def value(self) -> float:
        """The average so far (NaN before any value)."""
        return self.avg / self.norm if self.norm else math.nan
