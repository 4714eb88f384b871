"""Loss smoothing, outlier clipping and shared x axes, on made-up series."""

import math

import pytest

from lrtui.spec.events import RunInfo, StepBlock
from lrtui.state.runs import ExperimentState
from lrtui.state.traces import debiased_ema, hampel, loss_trace, x_values, y_limits


def _run(losses: list[float], batches: int | None = 10, times: list[float] | None = None, capacity=None):
    state = ExperimentState([RunInfo("r", total_steps=len(losses), batches=batches)], lambda: 0.0)
    n = len(losses)
    times = times if times is not None else [0.5 * i for i in range(1, n + 1)]
    epochs = tuple(1 + i // (batches or n) for i in range(n))
    state.apply([StepBlock(0, 0, 1, epochs, ((0.1,),) * n, tuple(losses), tuple(times))])
    return state.runs[0]


def test_debiased_ema_starts_at_the_first_value_and_follows_steps():
    out = debiased_ema([2.0, 1.0, 1.0], [1, 1, 1], 0.9, [False] * 3)
    assert out[0] == 2.0  # no pull towards zero at the start
    assert out[1] == pytest.approx((0.9 * 0.1 * 2 + 0.1 * 1) / (1 - 0.81))


def test_ema_over_wide_buckets_equals_the_ema_over_their_steps():
    """A bucket of n equal steps moves the average as those n steps would."""
    per_step = debiased_ema([3.0] * 4 + [1.0] * 4, [1] * 8, 0.8, [False] * 8)
    bucketed = debiased_ema([3.0, 1.0], [4, 4], 0.8, [False, False])
    assert bucketed == pytest.approx([per_step[3], per_step[7]])


def test_a_constant_loss_is_drawn_exactly_flat_in_the_middle():
    run = _run([0.6931471805599453] * 50)
    trace = loss_trace(run, 0.99)
    assert trace.constant and set(trace.smooth) == {0.6931471805599453}
    lo, hi = y_limits(trace.raw + trace.smooth, log=False)
    assert lo < 0.6931 < hi and (hi - lo) < 0.01  # centred, and not a span of rounding noise


def test_a_spike_is_clipped_from_smoothing_and_axis_but_a_real_drop_is_not():
    losses = [1.0 + 0.01 * (i % 3) for i in range(40)] + [0.2 + 0.01 * (i % 3) for i in range(40)]
    spiked = list(losses)
    spiked[60] = 50.0
    flags = hampel(spiked)
    assert flags[60] and sum(flags) == 1  # the fall from 1.0 to 0.2 is no outlier
    clean, dirty = loss_trace(_run(losses), 0.9), loss_trace(_run(spiked), 0.9)
    assert dirty.outliers == 1
    assert dirty.smooth[:60] == pytest.approx(clean.smooth[:60])
    assert max(dirty.smooth) < 1.1  # the spike never reaches the smoothed line
    fit = [v for v, out in zip(dirty.raw, dirty.outlier, strict=True) if not out]
    _, hi = y_limits(fit, log=False)
    assert hi < 2.0  # the spike does not flatten the axis


def test_smoothing_ignores_the_outlier_entirely():
    base = [0.5 + 0.02 * math.sin(i) for i in range(30)]
    spiked = list(base)
    spiked[15] = 40.0
    a, b = loss_trace(_run(base), 0.9), loss_trace(_run(spiked), 0.9)
    assert b.outlier[15]
    # without the spike, the EMA at 16 would also have seen base[15]; with it, it skips 15
    skipped = debiased_ema(base[:15] + base[16:17], [1] * 16, 0.9, [False] * 16)
    assert b.smooth[16] == pytest.approx(skipped[-1])
    assert max(b.smooth) < 1.0 and a.smooth[0] == b.smooth[0]


def test_x_axes_map_each_run_by_its_own_data_only():
    short, long = _run([1.0] * 30, batches=10), _run([1.0] * 90, batches=10)
    for axis in ("step", "epoch", "time"):
        assert len(loss_trace(short, 0.5, axis).xs) == 30  # no points beyond its own end
    assert loss_trace(short, 0.5, "epoch").xs[-1] == 3.0
    assert loss_trace(long, 0.5, "epoch").xs[-1] == 9.0
    assert loss_trace(short, 0.5, "time").xs[-1] == 15.0
    assert x_values(short, [10.0], "step") == [10.0]


def test_epoch_axis_without_a_known_epoch_length_uses_recorded_epoch_ends():
    run = _run([1.0] * 30, batches=None)
    run.epoch_ends = [12, 30]  # a watched file whose epochs differ in length
    assert x_values(run, [12.0, 21.0, 30.0], "epoch") == [1.0, 1.5, 2.0]


def test_log_limits_are_in_decades_and_skip_non_positive_values():
    lo, hi = y_limits([1e-3, 1e-1, 0.0], log=True)
    assert lo < -3 and hi > -1 and hi - lo < 2.5
