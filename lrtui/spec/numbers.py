"""The one rule for which numbers a run may show: finite ones.

A NaN or an infinite loss marks a run diverged (the trainer, the file watcher); a chart has no
place for either (the state). All of them ask here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

FLOAT32_MAX = 3.4028234663852886e38


def is_finite(value: float) -> bool:
    return math.isfinite(value)


def all_finite(values: Sequence[float]) -> bool:
    """Whether every value is finite, in one pass in C: a NaN or an infinity makes any sum
    non-finite, and a finite sum can only come from finite values (or overflow, which is
    checked the slow way)."""
    if math.isfinite(sum(values)):
        return True
    return all(math.isfinite(v) for v in values)


def usable_lr(value: float) -> bool:
    """Whether torch can train with this LR: finite and within float32 (larger ones overflow
    inside the optimizer step)."""
    return math.isfinite(value) and abs(value) < FLOAT32_MAX
