"""Bounded history: any run length in fixed memory, honest at any width."""

import math
import random

import pytest

from lrtui.state.series import BucketSeries


def _filled(values, capacity=16, chunks=None):
    s = BucketSeries(capacity)
    if chunks is None:
        for i, v in enumerate(values, 1):
            s.append(i, v)
        return s
    step = 1
    for size in chunks:
        part = values[step - 1 : step - 1 + size]
        if part:
            s.extend(step, part)
        step += size
    return s


def test_extend_equals_appending_one_by_one():
    rng = random.Random(4)
    values = [rng.uniform(-5, 5) for _ in range(1000)]
    chunks = [rng.randint(1, 97) for _ in range(60)]
    a, b = _filled(values), _filled(values, chunks=chunks)
    assert (a.width, a.count, a.last_step, a.last_value) == (b.width, b.count, b.last_step, b.last_value)
    for ca, cb in zip(a.columns(37), b.columns(37), strict=True):
        assert (ca.first, ca.last, ca.low, ca.high) == (cb.first, cb.last, cb.low, cb.high)
        assert ca.mean == pytest.approx(cb.mean)


def test_columns_keep_extremes_and_means():
    s = _filled([float(i) for i in range(1, 101)], capacity=8)
    cols = s.columns(4)
    assert [c.first for c in cols] == [1, 26, 51, 76] and [c.last for c in cols] == [25, 50, 75, 100]
    assert cols[0].low == 1.0 and cols[-1].high == 100.0  # extremes are never averaged away
    spike = _filled([0.0] * 500 + [9.0] + [0.0] * 499, capacity=8)
    assert max(c.high for c in spike.columns(3)) == 9.0


def test_memory_does_not_grow_with_length():
    short, long = BucketSeries(), BucketSeries()
    short.extend(1, [1.0] * 2_000)
    long.extend(1, [1.0] * 1_000_000)
    assert long.nbytes() <= 2 * short.nbytes() and long.nbytes() < 64_000
    assert long.count == 1_000_000 and math.isclose(long.columns(1)[0].mean, 1.0)


def test_steps_must_increase():
    s = BucketSeries()
    s.append(5, 1.0)
    with pytest.raises(ValueError):
        s.append(5, 2.0)
    with pytest.raises(ValueError):
        s.extend(3, [1.0])


@pytest.mark.parametrize("capacity", [2, 16, 1024])
def test_buckets_hold_exactly_the_steps_they_cover(capacity):
    """Bulk appends and merged buckets agree with a brute-force count over the raw values,
    also across gaps in the steps and a capacity reached in the middle of a chunk."""
    rng = random.Random(capacity)
    series = BucketSeries(capacity)
    raw: dict[int, float] = {}
    step = 1
    for _ in range(300):
        step += rng.choice([0, 0, 0, 3])  # mostly contiguous, sometimes a gap
        chunk = [rng.uniform(0, 10) for _ in range(rng.randint(1, 40))]
        series.extend(step, chunk)
        raw.update({step + i: v for i, v in enumerate(chunk)})
        step += len(chunk)
    assert series.count == len(raw) and series.last_step == max(raw)
    assert len(series.buckets()) <= capacity
    for b, n in zip(series.buckets(), series.counts(), strict=True):
        inside = [v for s, v in raw.items() if b.first <= s <= b.last]
        assert n == len(inside)
        assert (b.low, b.high) == (min(inside), max(inside))
        assert b.mean == pytest.approx(sum(inside) / len(inside))
    assert series.total() == pytest.approx(sum(raw.values()))
