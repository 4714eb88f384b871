"""Sparklines of any height, as rows of block characters, with a scale a reader can trust.

A bar of blocks implies its floor: so an LR on a linear scale is drawn from zero (twice the
height is twice the LR), and switches to a log scale only past a span of 20x, which the panel
then says. A loss is drawn from a floor just under its lowest value, but never over a span
narrower than a tenth of its size (0.70 → 0.69 is not drawn as a fall to nothing), and its
top is set by the run after its first tenth: the first steps' spike is clipped, not allowed to
flatten the rest, and clipped columns are marked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lrtui.state.series import Column

BLOCKS = " ▁▂▃▄▅▆▇█"
LOG_SPAN = 20.0  # positive values spanning more than this are drawn on a log scale
MIN_LOSS_SPAN = 0.1  # a loss axis spans at least this share of its top value
WARMUP_SHARE = 0.1  # the loss's first tenth of columns may be clipped rather than set the top
WARMUP_MIN_COLUMNS = 10  # below this many columns nothing is warm-up


@dataclass(frozen=True)
class SparkData:
    """Column values (None = no data) and how many leading columns are real, not planned;
    `band`: each column's (lower, upper) values where a forecast has a band, else None."""

    values: list[float | None]
    done: int
    band: tuple[list[float | None], list[float | None]] | None = None


@dataclass(frozen=True)
class Scale:
    """What the bottom and the top of a sparkline stand for."""

    lo: float
    hi: float
    log: bool = False

    def level(self, v: float) -> float:
        """Where `v` sits, 0..1 (a value above the top is over 1: clipped)."""
        if self.log:
            if v <= 0:
                return 0.0  # an LR of exactly 0 sits on the floor of a log scale
            lo, hi, x = math.log10(self.lo), math.log10(self.hi), math.log10(v)
        else:
            lo, hi, x = self.lo / 2, self.hi / 2, v / 2  # halved: 1e308 - -1e308 stays finite
        if hi - lo <= 1e-12 * max(1.0, abs(hi)):
            return 0.5  # a constant series sits flat in the middle
        return max(0.0, (x - lo) / (hi - lo))


def columns_values(cols: list[Column | None]) -> list[float | None]:
    return [c.mean if c is not None else None for c in cols]


def _finite(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def lr_scale(values: list[float | None]) -> Scale | None:
    """From zero on a linear scale; log (from the lowest positive value) past a span of 20x."""
    usable = _finite(values)
    positive = [v for v in usable if v > 0]
    if positive and max(positive) / min(positive) > LOG_SPAN:
        return Scale(min(positive), max(positive), log=True)
    if not usable:
        return None
    hi, lo = max(usable), min(0.0, min(usable))
    return Scale(lo, hi if hi > lo else lo + 1.0)


def loss_scale(values: list[float | None]) -> Scale | None:
    """Top: the highest column after the warm-up share; floor: the lowest, widened down to a
    tenth of the top's size."""
    usable = _finite(values)
    if not usable:
        return None
    skip = math.ceil(len(values) * WARMUP_SHARE) if len(values) >= WARMUP_MIN_COLUMNS else 0
    after = _finite(values[skip:]) or usable
    hi, lo = max(after), min(usable)
    span = MIN_LOSS_SPAN * abs(hi)
    if hi - lo < span:
        lo = hi - span
    return Scale(lo, hi)


def levels(values: list[float | None], scale: Scale | None) -> tuple[list[float | None], list[bool]]:
    """Each value's level (0..1, None where there is none) and whether it was clipped."""
    out: list[float | None] = []
    clipped: list[bool] = []
    for v in values:
        if v is None or not math.isfinite(v) or scale is None:
            out.append(None)
            clipped.append(False)
            continue
        level = scale.level(v)
        out.append(min(1.0, level))
        clipped.append(level > 1.0 + 1e-9)
    return out, clipped


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


def shade_band(grid: list[list[str]], lower: list[float | None], upper: list[float | None]) -> None:
    """A band drawn into a sparkline's rows (from `render_rows`, top first), levels 0..1: a
    cell wholly above the lower edge and under the bar's top turns ▒, a blank cell the upper
    edge reaches into turns ░. So the solid bar ends at the band's floor, ▒ runs up to the
    value, ░ on to the band's top (a band thinner than a cell shows nothing)."""
    rows = len(grid)
    steps = rows * 8
    for c, (lo, hi) in enumerate(zip(lower, upper, strict=True)):
        if lo is None or hi is None:
            continue
        lo_top, hi_top = 1 + round(lo * (steps - 1)), 1 + round(hi * (steps - 1))
        for r in range(rows):  # r counts from the bottom
            cell = grid[rows - 1 - r]
            if cell[c] == BLOCKS[8] and r * 8 >= lo_top:
                cell[c] = "▒"
            elif cell[c] == " " and hi_top > r * 8:
                cell[c] = "░"


def compact(v: float) -> str:
    """An axis value in at most 7 characters, 3 significant digits: 0.00105, 0.693, 1.5e-05."""
    if v == 0:
        return "0"
    if not math.isfinite(v):
        return "—"
    if 1e-3 <= abs(v) < 1e4:
        return f"{v:.3g}"
    mantissa, exponent = f"{v:.2e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
