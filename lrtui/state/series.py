"""A bounded history of one value per step that any run length fits in.

Steps fall into buckets of equal width; when the buckets run out, neighbours merge and the
width doubles. Each bucket keeps min, max, sum and count, so a series of a million steps costs
the same few kilobytes as one of a thousand, and still yields an honest overview at any width
(means for the line, min/max for an envelope; spikes never vanish from the envelope).

A series logged every k steps (HF's `logging_steps`) leaves buckets empty between its points.
They are bridged wherever a value is read: columns between two logged points, and values
looked up at a step between them, are interpolated linearly, so a sparse series reads as the
line it is, never as a comb. Nothing is invented before the first point or after the last.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

BULK_WIDTH = 64  # buckets up to this wide are filled in bulk; wider ones take few calls anyway


@dataclass(frozen=True)
class Column:
    """One drawn column: the steps it covers and the values seen there."""

    first: int
    last: int
    mean: float
    low: float
    high: float


class BucketSeries:
    """Values indexed by step (1, 2, 3, ... or from 0; gaps allowed, never backwards)."""

    def __init__(self, capacity: int = 1024) -> None:
        if capacity < 2 or capacity % 2:
            raise ValueError("capacity must be an even number >= 2")
        self.capacity = capacity
        self.width = 1  # steps per bucket
        self._low = array("d")
        self._high = array("d")
        self._sum = array("d")
        self._count = array("l")
        self.first_step = 0  # the first step with a value (where a log x axis can begin)
        self.last_step = 0
        self.last_value = math.nan
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def append(self, step: int, value: float) -> None:
        if step <= self.last_step and self.count:
            raise ValueError(f"steps must increase: {step} after {self.last_step}")
        if not self.count:
            self.first_step = step
        index = self._bucket(step)
        if value < self._low[index]:
            self._low[index] = value
        if value > self._high[index]:
            self._high[index] = value
        self._sum[index] += value
        self._count[index] += 1
        self.last_step = step
        self.last_value = value
        self.count += 1

    def extend(self, first_step: int, values: Sequence[float]) -> None:
        """Append values for steps first_step, first_step + 1, ... a bucket's worth at a time.

        This runs on the UI thread for every step trained, so the common cases stay in C:
        while buckets hold one step each, new values are appended as whole arrays.
        """
        if not values:
            return
        if first_step <= self.last_step and self.count:
            raise ValueError(f"steps must increase: {first_step} after {self.last_step}")
        if not self.count:
            self.first_step = first_step
        step, i, n = first_step, 0, len(values)
        while i < n:
            index = self._bucket(step)
            w = self.width
            fresh = index == len(self._count) - 1 and not self._count[index] and (step - 1) % w == 0
            whole = min((n - i) // w, self.capacity - index) if fresh and w <= BULK_WIDTH else 0
            if whole:  # whole fresh buckets, in bulk
                chunk = values[i : i + whole * w]
                del self._low[index:], self._high[index:], self._sum[index:], self._count[index:]
                if w == 1:
                    self._low.extend(chunk)
                    self._high.extend(chunk)
                    self._sum.extend(chunk)
                else:
                    groups = list(zip(*(chunk[k::w] for k in range(w)), strict=True))
                    self._low.extend(map(min, groups))
                    self._high.extend(map(max, groups))
                    self._sum.extend(map(sum, groups))
                self._count.extend(array("l", [w]) * whole)
                i += whole * w
                step += whole * w
                continue
            take = min(n - i, (index + 1) * self.width - step + 1)
            chunk = values[i : i + take]
            low, high = min(chunk), max(chunk)
            if low < self._low[index]:
                self._low[index] = low
            if high > self._high[index]:
                self._high[index] = high
            self._sum[index] += sum(chunk)
            self._count[index] += take
            i += take
            step += take
        self.last_step = step - 1
        self.last_value = values[-1]
        self.count += n

    def _bucket(self, step: int) -> int:
        """The bucket `step` falls in, merging buckets or opening new ones as needed (a step 0,
        as TensorBoard counts, shares the first bucket with step 1)."""
        index = max(0, step - 1) // self.width
        while index >= self.capacity:
            self._halve()
            index = max(0, step - 1) // self.width
        while len(self._count) <= index:
            self._low.append(math.inf)
            self._high.append(-math.inf)
            self._sum.append(0.0)
            self._count.append(0)
        return index

    def _halve(self) -> None:
        """Merge neighbouring buckets (in C: pairs of slices through min, max and add)."""
        if len(self._count) % 2:  # an odd last bucket merges with an empty one
            self._low.append(math.inf)
            self._high.append(-math.inf)
            self._sum.append(0.0)
            self._count.append(0)
        self._low = array("d", map(min, self._low[0::2], self._low[1::2]))
        self._high = array("d", map(max, self._high[0::2], self._high[1::2]))
        self._sum = array("d", map(operator.add, self._sum[0::2], self._sum[1::2]))
        self._count = array("l", map(operator.add, self._count[0::2], self._count[1::2]))
        self.width *= 2

    def columns(self, n: int, until: int | None = None) -> list[Column | None]:
        """`n` columns spanning steps 1..`until` (default: the last step); None before the first
        value and after the last, bridged between (`bridge`)."""
        end = until if until is not None else self.last_step
        if n <= 0 or end <= 0:
            return []
        out: list[Column | None] = []
        w, nb = self.width, len(self._count)
        spans = [(c * end // n + 1, max(c * end // n + 1, (c + 1) * end // n)) for c in range(n)]
        for first, last in spans:  # each column's buckets as slices: sums, mins and maxes in C
            lo_b, hi_b = (first - 1) // w, min((last - 1) // w, nb - 1) + 1
            count = sum(self._count[lo_b:hi_b]) if lo_b < hi_b else 0
            if not count:
                out.append(None)
                continue
            low, high = min(self._low[lo_b:hi_b]), max(self._high[lo_b:hi_b])  # empty buckets: +inf/-inf
            out.append(Column(first, last, sum(self._sum[lo_b:hi_b]) / count, low, high))
        return bridge(out, spans)

    def points(self, n: int) -> tuple[list[float], list[float]]:
        """Up to `n` (step, mean) points for a chart: whole buckets, grouped when there are more
        than `n` (straight from the arrays: a chart of 40 runs asks for 40 of these a frame)."""
        firsts, lasts, means, _, _, _ = self.grouped(n)
        return [(a + b) / 2 for a, b in zip(firsts, lasts, strict=True)], means

    def grouped(
        self, limit: int
    ) -> tuple[list[int], list[int], list[float], list[float], list[float], list[int]]:
        """The non-empty buckets, neighbours merged in equal groups to at most `limit`: first
        and last step, mean, low, high and count of each, as plain lists."""
        nb = len(self._count)
        size = max(1, -(-nb // max(1, limit)))
        w, last_step = self.width, self.last_step
        if size == 1:  # every bucket as it is: in comprehensions, no slicing
            full = [i for i, c in enumerate(self._count) if c]
            return (
                [i * w + 1 for i in full],
                [min((i + 1) * w, last_step) for i in full],
                [self._sum[i] / self._count[i] for i in full],
                [self._low[i] for i in full],
                [self._high[i] for i in full],
                [self._count[i] for i in full],
            )
        out: tuple[list, list, list, list, list, list] = ([], [], [], [], [], [])
        for i in range(0, nb, size):
            count = sum(self._count[i : i + size])
            if not count:
                continue
            out[0].append(i * w + 1)
            out[1].append(min((i + size) * w, last_step))
            out[2].append(sum(self._sum[i : i + size]) / count)
            out[3].append(min(self._low[i : i + size]))
            out[4].append(max(self._high[i : i + size]))
            out[5].append(count)
        return out

    def buckets(self) -> list[Column]:
        """Every non-empty bucket at the series' own resolution (each step while it fits)."""
        w, last = self.width, self.last_step
        return [
            Column(b * w + 1, min((b + 1) * w, last), self._sum[b] / n, self._low[b], self._high[b])
            for b, n in enumerate(self._count)
            if n
        ]

    def counts(self) -> list[int]:
        """How many values each non-empty bucket holds, in the order of `buckets()`."""
        return [n for n in self._count if n]

    def value_at(self, step: int) -> float:
        """The mean of the bucket holding `step` (NaN outside the series)."""
        b = (step - 1) // self.width
        if step < 1 or b >= len(self._count) or not self._count[b]:
            return math.nan
        return self._sum[b] / self._count[b]

    def values_at(self, steps: Sequence[float]) -> list[float]:
        """The value at each step: its bucket's mean, or where its bucket is empty (a series
        logged every k steps), the line between the neighbouring buckets' means, through their
        middles: v = v₀ + (s - m₀)·(v₁ - v₀)/(m₁ - m₀). NaN before the first value and after the
        last. One pass over the buckets for all of `steps`: charts ask for hundreds at a time."""
        w, counts, sums = self.width, self._count, self._sum
        full = [b for b, c in enumerate(counts) if c]
        out = []
        for step in steps:
            b = (max(1, round(step)) - 1) // w
            if b < len(counts) and counts[b]:
                out.append(sums[b] / counts[b])
                continue
            j = bisect.bisect_left(full, b)
            if j == 0 or j == len(full):
                out.append(math.nan)
                continue
            b0, b1 = full[j - 1], full[j]
            v0, v1 = sums[b0] / counts[b0], sums[b1] / counts[b1]
            m0 = b0 * w + (w + 1) / 2  # a bucket's middle step
            out.append(v0 + (step - m0) * (v1 - v0) / ((b1 - b0) * w))
        return out

    def first_above(self, floor: float = 0.0) -> float:
        """The first bucket mean above `floor` (NaN if none): where a log axis of a quantity
        that only grows (seconds since the start) begins."""
        for total, n in zip(self._sum, self._count, strict=True):
            if n and total / n > floor:
                return total / n
        return math.nan

    def total(self) -> float:
        return math.fsum(self._sum)

    def nbytes(self) -> int:
        """Memory held by the buckets (what grows with a run's length, here: nothing past capacity)."""
        return sum(a.itemsize * len(a) for a in (self._low, self._high, self._sum, self._count))


def bridge(cols: list[Column | None], spans: Sequence[tuple[int, int]]) -> list[Column | None]:
    """Empty columns between two full ones filled by the straight line between their means
    (v = v₀ + (c - c₀)·(v₁ - v₀)/(c₁ - c₀) at column c; `spans` are each column's first and
    last step): a series logged every few steps is a line across the columns, not a comb.
    Columns before the first and after the last stay empty (no data there yet)."""
    full = [(c, col) for c, col in enumerate(cols) if col is not None]
    out = list(cols)
    for (c0, a), (c1, b) in itertools.pairwise(full):
        for c in range(c0 + 1, c1):
            v = a.mean + (c - c0) * (b.mean - a.mean) / (c1 - c0)
            out[c] = Column(*spans[c], v, v, v)
    return out
