"""Sparklines of any height, as rows of block characters, for the run panels."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lrtui.state.series import Column

BLOCKS = " ▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class SparkData:
    """Column values (None = no data) and how many leading columns are real, not planned."""

    values: list[float | None]
    done: int
    log: bool = False


def columns_values(cols: list[Column | None]) -> list[float | None]:
    return [c.mean if c is not None else None for c in cols]


def scale(values: list[float | None], log: bool) -> list[float | None]:
    """Map values into 0..1; a constant series sits flat in the middle."""
    usable = [v for v in values if v is not None and math.isfinite(v) and (v > 0 or not log)]
    if not usable:
        return [None] * len(values)
    # halved, so that the span of values near the float's limits (1e308 and -1e308) is finite
    tf = (lambda v: math.log10(v) / 2) if log else (lambda v: v / 2)
    lo, hi = tf(min(usable)), tf(max(usable))
    out: list[float | None] = []
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(None)
        elif log and v <= 0:
            out.append(0.0)  # an LR of exactly 0 sits on the floor of a log scale
        else:
            flat = hi - lo <= 1e-12 * max(1.0, abs(hi))
            out.append(0.5 if flat else min(1.0, max(0.0, (tf(v) - lo) / (hi - lo))))
    return out


def wants_log(values: list[float | None]) -> bool:
    """Log scale when the positive values span more than a decade and a bit (decaying LRs)."""
    positive = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    return bool(positive) and max(positive) / min(positive) > 20


def render_rows(levels: list[float | None], rows: int) -> list[list[str]]:
    """Characters per row (top first) for values already scaled to 0..1."""
    steps = rows * 8
    grid = [[" "] * len(levels) for _ in range(rows)]
    for c, v in enumerate(levels):
        if v is None:
            continue
        total = 1 + round(v * (steps - 1))
        for r in range(rows):
            fill = max(0, min(8, total - r * 8))
            grid[rows - 1 - r][c] = BLOCKS[fill]
    return grid
