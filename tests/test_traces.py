"""Loss smoothing, outlier clipping and shared x axes, on made-up series."""

import math

import pytest

from lrtui.spec.events import RunInfo, StepBlock
from lrtui.state.runs import ExperimentState
from lrtui.state.traces import debiased_ema, first_x, hampel, loss_trace, x_values, y_limits


def _run(losses: list[float], batches: int | None = 10, times: list[float] | None = None, capacity=None):
    state = ExperimentState([RunInfo("r", total_steps=len(losses), batches=batches)], lambda: 0.0)
    n = len(losses)
    times = times if times is not None else [0.5 * i for i in range(1, n + 1)]
    epochs = tuple(1 + i // (batches or n) for i in range(n))
    state.apply([StepBlock(0, 0, 1, epochs, ((0.1,),) * n, tuple(losses), tuple(times))])
    return state.runs[0]


def _sparse_run(every: int, last: int, batches: int | None = 100):
    """A run logged every `every` steps (HF's `logging_steps`), as a watched log gives it."""
    state = ExperimentState([RunInfo("r", total_steps=last, batches=batches)], lambda: 0.0)
    at = tuple(range(every, last + 1, every))
    lrs = tuple((0.1 / (1 + s / 100),) for s in at)
    losses = tuple(2.0 / (1 + s / 50) for s in at)
    state.apply([StepBlock(0, 0, at[0], (1,) * len(at), lrs, losses, tuple(0.01 * s for s in at), at)])
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


@pytest.mark.parametrize("axis", ["step", "epoch", "time", "lr"])
def test_a_run_logged_every_5_steps_keeps_every_point_on_every_axis(axis):
    """A chart asks for fewer points than the run has buckets: each point is a group of steps
    whose last one was not logged. Seconds and LRs are read between the logged steps, so no
    point falls out of the line (before, four in five did on the seconds and LR axes)."""
    run = _sparse_run(5, 2000)
    trace = loss_trace(run, 0.6, axis, limit=150)
    steps = loss_trace(run, 0.6, "step", limit=150)
    assert len(trace.xs) == len(steps.xs) > 100 and all(math.isfinite(x) for x in trace.xs)
    xs, _ = run.lr_series.points(150)
    assert all(math.isfinite(x) for x in x_values(run, xs, axis))
    if axis != "lr":  # grows with the step: the line runs from start to end in order
        assert trace.xs == sorted(trace.xs) and trace.xs[-1] == pytest.approx(
            x_values(run, [2000.0], axis)[0]
        )


def test_the_first_positive_x_of_each_axis():
    run = _sparse_run(5, 200, batches=20)
    assert first_x(run, "step") == 5.0  # the first logged step, not 0 or 1
    assert first_x(run, "epoch") == 0.25
    assert first_x(run, "time") == pytest.approx(0.05)
    tb = _sparse_run(5, 200)
    tb.time_series = type(tb.time_series)()
    for step, t in ((0, 0.0), (5, 0.4), (10, 0.8)):  # TensorBoard counts from step 0, at 0 s
        tb.time_series.append(step, t)
    assert first_x(tb, "time") == pytest.approx(0.4)
