"""Axis ticks a reader can use at a glance: round values, evenly spaced, whole epochs.

plotext's own ticks divide the axis into equal parts of whatever the limits are (2750.8, 0.017);
here limits are widened to round values and ticks fall on multiples of 1, 2 or 5 times a power
of ten. Log axes get their decades. Pure arithmetic: nothing here draws.
"""

from __future__ import annotations

import math

TARGET_TICKS = 6


def tidy(value: float) -> float:
    """A tick value without float noise (69 * 0.01 is 0.6900000000000001)."""
    return float(f"{value:.12g}")


def nice_step(span: float, target: int = TARGET_TICKS, whole: bool = False) -> float:
    """A round distance between ticks: 1, 2, 2.5 or 5 times a power of ten (whole numbers only
    where the axis counts whole things: steps, epochs)."""
    raw = span / max(1, target)
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        step = m * power
        if step >= raw and not (whole and step < 1) and not (whole and m == 2.5 and power < 10):
            return step
    return 10 * power


def linear_ticks(lo: float, hi: float, whole: bool = False, target: int = TARGET_TICKS) -> list[float]:
    """Round ticks covering lo..hi: the first at or below lo, the last at or above hi."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    step = nice_step(hi - lo, target, whole)
    first = math.floor(lo / step + 1e-9) * step
    count = math.ceil((hi - first) / step - 1e-9)
    return [tidy(first + i * step) for i in range(count + 1)]


def label(value: float, step: float) -> str:
    """A tick's label with as many decimals as the tick distance needs, thousands separated."""
    if abs(value) < step * 1e-6:
        value = 0.0
    if abs(value) >= 1e6 or (value != 0 and abs(value) < 1e-4):
        return f"{value:.3g}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    if step < 1 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6:
        decimals += 1  # 0.025 needs three
    return f"{value:,.{decimals}f}"


def decade_ticks(lo: float, hi: float) -> list[float]:
    """Ticks of a log axis, in log10 units: whole decades, or 1-2-5 within a narrow span."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    first, last = math.floor(lo + 1e-9), math.ceil(hi - 1e-9)
    mantissas = (1,) if last - first >= 3 else (1, 2, 5)
    every = int(nice_step(last - first, TARGET_TICKS, whole=True)) if last - first > 2 * TARGET_TICKS else 1
    decades = [e for e in range(first, last + 1) if e % every == 0]
    ticks = [e + math.log10(m) for e in decades for m in mantissas]
    return [t for t in ticks if lo - 1e-9 <= t <= hi + 1e-9]


def power_label(t: float, digits: int = 1) -> str:
    """10**t written out, for any t (10**t itself overflows past 308)."""
    exponent = math.floor(t)
    mantissa = 10 ** (t - exponent)
    if mantissa >= 9.995:
        mantissa, exponent = 1.0, exponent + 1
    if -4 <= exponent < 6 and digits > 1:
        return f"{mantissa * 10.0**exponent:.{digits}g}"
    if -4 <= exponent < 4:
        return f"{mantissa * 10.0**exponent:.{max(digits, exponent + 1)}g}"
    return f"{mantissa:.{max(0, digits - 1)}f}e{exponent}"


def axis(lo: float, hi: float, log: bool, whole: bool = False) -> tuple[list[float], list[str]]:
    """Ticks within lo..hi and their labels; on a log axis `lo`, `hi` and the ticks are log10
    values. The limits stay the data's: round ticks never add empty space."""
    if log:
        ticks = decade_ticks(lo, hi)
        if len(ticks) < 2:  # a narrow span: evenly spaced, labelled with real values
            span = hi - lo if hi > lo else 1e-12
            ticks = [lo + i * span / 4 for i in range(5)]
            return ticks, [power_label(t, 3) for t in ticks]
        return ticks, [power_label(t) for t in ticks]
    ticks = linear_ticks(lo, hi, whole)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    slack = (hi - lo) * 1e-6
    inside = [t for t in ticks if lo - slack <= t <= hi + slack]
    return inside, [label(t, step) for t in inside]


def even_axis(
    lo: float, hi: float, rows: int, log: bool = False, spare: int = 0
) -> tuple[tuple[float, float], list[float], list[str]]:
    """Limits, ticks and labels for a y axis of `rows` text rows whose ticks fall exactly the
    same number of rows apart (plotext rounds each tick to a row, so ticks that divide the axis
    unevenly come out 2, 3, 2, 3 rows apart). Of the round tick distances, the one whose axis
    the data fills most wins. `spare` rows stay free above the data, for labels. Log axes do
    this with whole decades."""
    rows -= spare
    best: tuple[tuple[float, int], float, float, int] | None = None
    for target in range(2, 9) if rows >= 4 and hi > lo and math.isfinite(hi - lo) else ():
        step = nice_step(hi - lo, target, whole=log)
        step = max(step, 1.0) if log else step
        first = tidy(math.floor(lo / step + 1e-9) * step)
        count = math.ceil((hi - first) / step - 1e-9)
        per_tick = (rows - 1) // max(1, count)
        if per_tick < 2:
            continue
        used = (hi - lo) / ((rows - 1) / per_tick * step)  # the share of the axis the data fills
        score = (-round(used, 2), abs(count - TARGET_TICKS + 1))
        if best is None or score < best[0]:
            best = (score, step, first, per_tick)
    if best is None:  # too few rows for even spacing: at most a tick every other row
        ticks, labels = axis(lo, hi, log)
        every = math.ceil(len(ticks) / (rows // 2)) if rows >= 2 else 1
        return (lo, hi), ticks[::every], labels[::every]
    _, step, first, per_tick = best
    ticks = [tidy(first + i * step) for i in range((rows - 1) // per_tick + 1)]
    labels = [power_label(t) for t in ticks] if log else [label(t, step) for t in ticks]
    return (first, first + (rows - 1 + spare) / per_tick * step), ticks, labels
