"""Panels and the grid tell the truth at a glance: visible, robust scales and room for the numbers."""

import math

from appkit import cut, recorded, replay_app, settle
from rich.text import Text

from lrtui.ui.grid import MIN_PANEL_HEIGHT, MIN_PANEL_WIDTH, choose_layout
from lrtui.ui.widgets.panel import RunPanel
from lrtui.ui.widgets.spark import Scale, compact, levels, loss_scale, lr_scale

SEED = recorded("seed")  # the default six schedules, 11 epochs of 40 batches
MID = cut(SEED.events, 170)


def test_a_narrow_lr_range_is_drawn_from_zero_not_stretched():
    cyclic = [0.00105 + 0.0005 * i / 9 for i in range(10)]  # the seed's CyclicLR, 0.00105 → 0.00155
    fit = lr_scale(cyclic)
    assert fit == Scale(0.0, max(cyclic)) and not fit.log
    low, _ = levels(cyclic, fit)
    assert 0.6 < low[0] < 0.7 and low[-1] == 1.0  # a third taller, not from the floor to the top


def test_an_lr_spanning_decades_is_on_a_log_scale_that_says_so():
    step = [0.1] * 5 + [0.01] * 5 + [0.001] * 5
    fit = lr_scale(step)
    assert fit is not None and fit.log and (fit.lo, fit.hi) == (0.001, 0.1)
    low, _ = levels(step, fit)
    assert [round(x, 3) for x in (low[0], low[5], low[-1])] == [1.0, 0.5, 0.0]


def test_a_small_loss_change_is_not_drawn_as_a_fall_to_nothing():
    loss = [0.70 - 0.01 * i / 19 for i in range(20)]  # 0.70 → 0.69
    low, _ = levels(loss, loss_scale(loss))
    assert low[-1] > 0.8  # the last is still high: the axis spans at least a tenth of 0.7


def test_the_first_steps_spike_is_clipped_and_marked_not_flattening_the_rest():
    loss = [9.0, 5.0, 1.0, 1.0] + [1.0 - 0.5 * i / 35 for i in range(36)]
    fit = loss_scale(loss)
    assert fit is not None and math.isclose(fit.hi, 1.0)
    low, clipped = levels(loss, fit)
    assert clipped[:2] == [True, True] and not any(clipped[2:])
    assert low[2] == 1.0 and low[-1] == 0.0  # the rest uses the whole height


def test_axis_values_stay_short():
    assert [compact(v) for v in (0.00105, 0.693, 1.5e-05, 0.1, 12345.0)] == [
        "0.00105",
        "0.693",
        "1.5e-5",
        "0.1",
        "1.23e4",
    ]


def _panel_text(panel: RunPanel) -> str:
    rendered = panel.render()
    return rendered.plain if isinstance(rendered, Text) else str(rendered)


def _lr_top(panel: RunPanel) -> str:
    return next(line for line in _panel_text(panel).splitlines() if line.startswith("lr   "))


async def test_panels_show_their_scales_and_one_lr_scale_on_demand():
    app = replay_app(SEED, MID)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        step_lr, cyclic = app.query_one("#run-0", RunPanel), app.query_one("#run-5", RunPanel)
        lines = _panel_text(step_lr).splitlines()
        lr_rows = [line for line in lines if line.startswith(("lr   ", "log  "))]
        assert lr_rows[0].startswith("lr") and lr_rows[0].endswith("0.1")
        assert lr_rows[1].startswith("log") and lr_rows[1].endswith("1e-6")  # StepLR plans 0.1 → 1e-6
        assert _lr_top(cyclic).endswith("0.00149")  # its own, linear from 0
        await pilot.press("y")
        await pilot.pause()
        assert step_lr.shared_lr == cyclic.shared_lr and cyclic.shared_lr is not None
        assert _lr_top(cyclic).endswith("0.1")  # now on the shared scale
        await pilot.press("y")
        await pilot.pause()
        assert cyclic.shared_lr is None


def test_layouts_at_four_terminal_sizes():
    # the grid's area is the terminal less the status bar and the footer
    assert choose_layout(6, 80, 22) == (2, 7)
    assert choose_layout(6, 100, 28) == (2, 9)
    assert choose_layout(6, 160, 43) == (3, 21)
    assert choose_layout(6, 250, 68) == (3, 34)  # not six skinny panels in one row
    cols, height = choose_layout(40, 160, 43)  # too many to show at once: as many as fit, scrolling
    assert (160 - cols + 1) // cols >= MIN_PANEL_WIDTH and height == MIN_PANEL_HEIGHT


async def test_no_panel_number_is_cut_at_common_sizes():
    for size in ((80, 24), (100, 30), (160, 45), (250, 70)):
        app = replay_app(SEED, MID)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            for panel in app.panels():
                where, numbers = _panel_text(panel).splitlines()[:2]
                assert f"step {panel.view.step:,}/440" in where, size
                assert numbers.rstrip().endswith(f"{panel.view.smooth_best:.4f}"), (size, numbers)


def test_the_panels_loss_and_best_are_the_charts_smoothed_loss_not_one_lucky_batch():
    from lrtui.spec.events import RunInfo, StepBlock
    from lrtui.state.runs import ExperimentState
    from lrtui.state.traces import SMOOTH_POINTS, SMOOTHING, auto_smoothing, loss_trace
    from lrtui.ui.widgets.lines import fmt_loss, numbers_line

    losses = [0.9] * 400 + [0.45, 0.40, 0.42, 0.47] * 900 + [0.175]  # ends on its easiest batch
    n = len(losses)
    state = ExperimentState([RunInfo("r", total_steps=n)], lambda: 0.0)
    state.apply([StepBlock(0, 0, 1, (1,) * n, ((0.1,),) * n, tuple(losses), (0.0,) * n)])
    run = state.runs[0]
    assert run.loss == run.best_loss == 0.175  # the raw figures: one lucky batch
    chart = loss_trace(run, SMOOTHING[auto_smoothing(n)], limit=SMOOTH_POINTS)  # a chart 128 cells wide
    text = numbers_line(run, 60).plain
    assert f"loss~ {fmt_loss(chart.smooth[-1])}" in text
    assert f"best {fmt_loss(min(chart.smooth))}" in text
    assert "0.1750" not in text and 0.4 < run.smooth_loss < 0.45 and 0.4 < run.smooth_best < 0.45
