"""Bounded history: any run length in fixed memory, honest at any width."""

import itertools
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


def _every(k: int, last: int, value=lambda s: 100.0 / s, capacity: int = 1024) -> BucketSeries:
    """A series logged every `k` steps (HF's `logging_steps=k`), from step k."""
    s = BucketSeries(capacity)
    for step in range(k, last + 1, k):
        s.append(step, value(step))
    return s


@pytest.mark.parametrize("width", [40, 100, 333])
def test_a_series_logged_every_5_steps_is_a_line_across_the_columns_not_a_comb(width):
    s = _every(5, 100)
    cols = s.columns(width)
    start = next(c for c, col in enumerate(cols) if col is not None)
    assert cols[start].first <= 5 and all(col is None for col in cols[:start])  # nothing before step 5
    assert all(col is not None for col in cols[start:])  # no empty column between logged steps
    means = [col.mean for col in cols[start:]]
    assert all(a >= b for a, b in itertools.pairwise(means))  # 100/s falls: so does its line
    assert means[0] == pytest.approx(20.0) and means[-1] == pytest.approx(1.0)


def test_columns_past_the_last_step_stay_empty_for_the_plan():
    cols = _every(5, 50).columns(20, until=100)
    assert all(col is None for col in cols[10:]) and all(col is not None for col in cols[2:10])


def test_values_between_logged_steps_lie_on_the_line_between_them():
    s = _every(5, 100, value=lambda step: 0.01 * step)  # seconds since the start
    assert s.values_at([5, 7.5, 10, 12]) == pytest.approx([0.05, 0.075, 0.10, 0.12])
    assert all(math.isnan(v) for v in s.values_at([1, 4, 101]))  # nothing before or after
    wide = _every(300, 3000, value=lambda step: 0.01 * step, capacity=16)  # buckets of 256 steps
    assert wide.width == 256 and wide.value_at(1700) != wide.value_at(1700)  # its bucket is empty
    assert 15.0 < wide.values_at([1700])[0] < 18.0  # between the points at 1500 and 1800


def test_the_first_step_is_kept_for_a_log_axis():
    assert _every(5, 20).first_step == 5
    dense = BucketSeries()
    dense.extend(3, [1.0, 2.0])
    assert dense.first_step == 3 and dense.first_above(1.5) == 2.0
