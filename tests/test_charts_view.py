"""Charts at the terminal's best and a compare view that shows every run."""

import itertools
import math

import pytest
from appkit import ReplaySource, cut, recorded, replay_app, settle

from lrtui.spec.events import RunAdded, RunInfo, StepBlock
from lrtui.state.traces import SMOOTHING, Trace, auto_smoothing, difference, half_life_steps
from lrtui.ui.app import LrTuiApp
from lrtui.ui.screens.axes import axis, even_axis
from lrtui.ui.screens.canvas import fit_title
from lrtui.ui.screens.compare import CompareScreen
from lrtui.ui.screens.style import Entry, legend, run_style

SEED = recorded("seed")  # the default six schedules, 11 epochs of 40 batches
MID = cut(SEED.events, 170)
BRAILLE = {chr(c) for c in range(0x2801, 0x2900)}


def test_ticks_are_round_and_epochs_whole():
    assert axis(0, 11_000, False, whole=True)[1] == ["0", "2,000", "4,000", "6,000", "8,000", "10,000"]
    assert axis(0, 5_000, False, whole=True)[1][:3] == ["0", "1,000", "2,000"]
    assert all(float(t).is_integer() for t in axis(0, 11, False, whole=True)[0])  # epochs
    assert axis(-6, -1, True)[1] == ["1e-6", "1e-5", "0.0001", "0.001", "0.01", "0.1"]


@pytest.mark.parametrize("lo,hi,rows", [(0.636, 0.78, 15), (0.0, 0.105, 10), (2.3, 9.7, 23), (0.69, 0.71, 8)])
def test_y_ticks_fall_the_same_number_of_rows_apart(lo, hi, rows):
    (bottom, top), ticks, labels = even_axis(lo, hi, rows)
    assert bottom <= lo and top >= hi and len(ticks) == len(labels) >= 2
    positions = [(t - bottom) / (top - bottom) * (rows - 1) for t in ticks]
    assert all(abs(p - round(p)) < 1e-6 for p in positions)  # each tick on a whole row
    gaps = {round(b - a) for a, b in itertools.pairwise(positions)}
    assert len(gaps) == 1  # evenly spaced


def test_a_plot_too_short_for_even_ticks_gets_no_two_on_neighbouring_rows():
    (bottom, top), ticks, _ = even_axis(-0.002, 0.103, 5)  # no round step spaces it evenly
    rows = sorted(round((t - bottom) / (top - bottom) * 4) for t in ticks)
    assert len(ticks) >= 2 and all(b - a >= 2 for a, b in itertools.pairwise(rows))


def test_every_run_has_its_own_colour_and_line_style():
    styles = [run_style(i)[:2] for i in range(40)]
    assert len(set(styles)) == 40
    assert run_style(0)[0] != run_style(0, dark=False)[0]  # a palette for light themes too


def test_a_legend_breaks_between_entries_never_inside_a_name():
    names = [f"Run number {i} with a long name" for i in range(6)]
    text = legend([Entry(n, "red") for n in names], width=70)
    lines = text.plain.splitlines()
    assert len(lines) > 1 and all(len(line) <= 70 for line in lines)
    assert sorted(n for line in lines for n in names if n in line) == sorted(names)


def test_a_title_too_wide_loses_its_last_parts_not_everything():
    title = "loss of every run · linear · smoothing auto 0.8 (half-life 3.11 steps) · 2 outliers clipped"
    assert fit_title(title, 200) == title
    assert fit_title(title, 80) == "loss of every run · linear · smoothing auto 0.8 (half-life 3.11 steps)"
    assert fit_title("x" * 50, 10) == "x" * 9 + "…"  # plotext would drop it whole


def test_smoothing_by_default_suits_the_runs_length():
    assert SMOOTHING[auto_smoothing(440)] == 0.8  # half-life 3 steps on the seed's 440
    long = half_life_steps(SMOOTHING[auto_smoothing(11_000)])
    assert 50 < long < 200  # visible on an 11k-step run (6.6 steps was not)


def test_difference_to_a_baseline_interpolates_between_its_points():
    base = Trace([1.0, 3.0], [0, 0], [1.0, 2.0], [0, 0], [0, 0], [False, False], False)
    run = Trace([1.0, 2.0, 3.0, 4.0], [0] * 4, [0.5, 1.0, 3.0, 9.0], [0] * 4, [0] * 4, [False] * 4, False)
    assert difference(run, base) == ([1.0, 2.0, 3.0], [-0.5, -0.5, 1.0])  # step 4 is past the baseline


def _plot_text(app, name: str) -> str:
    return app.screen.query_one(f"#{name}").render().plain


async def test_compare_hides_filters_and_draws_runs_against_a_baseline():
    app = replay_app(SEED, MID)
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, CompareScreen) and screen.visible() == list(range(6))
        assert "no raw traces past 4 runs" in _plot_text(app, "loss-chart")
        await pilot.press("2", "3", "4")
        await pilot.pause()
        assert screen.visible() == [0, 4, 5]
        assert "LR of 3 of 6 runs" in _plot_text(app, "lr-chart")
        assert "no raw traces" not in _plot_text(app, "loss-chart")  # three runs: raw traces back
        await pilot.press("a", "slash", *"cyclic", "enter")
        await pilot.pause()
        assert screen.visible() == [5] and app.focused is None  # enter keeps the filter, gives keys back
        await pilot.press("a", "slash", *"gamma=0.1", "enter")
        await pilot.pause()
        assert screen.visible() == [0, 1]  # matched on the setup: StepLR and MultiStepLR
        await pilot.press("a", "P")
        await pilot.pause()
        assert app.chart_options.baseline == 0
        assert "loss minus StepLR (baseline" in _plot_text(app, "loss-chart")
        await pilot.press(*["P"] * 6)
        assert app.chart_options.baseline is None  # past the last: none


async def test_p_on_the_grid_pins_the_focused_run_as_the_baseline():
    app = replay_app(SEED, MID)
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        await pilot.press("3", "P")
        assert app.chart_options.baseline == 2
        await pilot.press("c")
        await pilot.pause()
        assert "loss minus ExponentialLR" in _plot_text(app, "loss-chart")
        await pilot.press("escape", "P")
        assert app.chart_options.baseline is None


async def test_regime_labels_sit_above_the_lines_and_axes_survive_light_themes():
    for theme in ("textual-dark", "textual-light", "ansi-light"):
        app = replay_app(SEED, MID)
        async with app.run_test(size=(110, 34)) as pilot:
            app.theme = theme
            await settle(pilot)
            await pilot.press("1", "enter")
            await pilot.pause()
            lines = _plot_text(app, "lr-chart").splitlines()
            labelled = [line for line in lines if "StepLR x0.1" in line]
            assert labelled and not any(ch in BRAILLE for ch in labelled[0]), theme
            assert any(line.startswith("0.10┤") for line in lines), theme  # ticks drawn
            plot = app.screen.query_one("#lr-chart")
            assert plot.theme == ("clear" if theme.startswith("ansi") else "auto")


async def test_loss_against_the_lr_hides_the_lr_chart_and_uses_a_log_x_axis():
    short = recorded("seed-short")  # the six schedules, 3 epochs of 20 batches
    app = replay_app(short, short.events)
    async with app.run_test(size=(110, 34)) as pilot:
        await settle(pilot)
        await pilot.press("1", "enter", "x", "x", "x")
        await pilot.pause()
        assert app.chart_options.x_axis == "lr" and not app.screen.query_one("#lr-chart").display
        text = _plot_text(app, "loss-chart")
        assert "against the LR (log x)" in text and "learning rate" in text
        ticks = text.splitlines()[-2].split()  # StepLR trained at 0.1, then 0.01: decades between
        assert ticks[0] == "0.01" and ticks[-1] == "0.1"
        await pilot.press("X")
        await pilot.pause()
        assert "against the LR ·" in _plot_text(app, "loss-chart")  # linear x now


def _logged_every(run: int, every: int, last: int = 200) -> list:
    """A watched run logged every `every` steps (HF's `logging_steps`), 20 steps an epoch,
    0.01 s a step: its first x is `every` steps, every/20 epochs, every/100 seconds."""
    at = tuple(range(every, last + 1, every))
    info = RunInfo(f"every {every}", total_steps=last, epochs=last // 20, batches=20)
    lrs = tuple((0.1 / (1 + s / 50),) for s in at)
    losses = tuple(2.0 / (1 + s / 50) for s in at)
    block = StepBlock(run, 0, at[0], (1,) * len(at), lrs, losses, tuple(0.01 * s for s in at), at)
    return [RunAdded(run, info), block]


@pytest.mark.parametrize("view", ["enter", "c"])
async def test_a_log_x_axis_starts_at_the_first_positive_x_on_every_axis(view):
    events = _logged_every(0, 5) + _logged_every(1, 10)
    app = LrTuiApp([], lambda sink: ReplaySource(events, sink), source_label="w", clock=lambda: 0.0)
    app.animation_level = "none"
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        await pilot.press(view)
        for _ in range(100):  # laid out and drawn once: from then on a key redraws at once
            if app.screen.drawn:
                break
            await pilot.pause()
        await pilot.press("X")
        for axis, first, end in (("step", 5.0, 200), ("epoch", 0.25, 10), ("time", 0.05, 2.0)):
            assert app.chart_options.x_axis == axis and app.chart_options.x_log
            for name in ("lr-chart", "loss-chart"):
                plot = app.screen.query_one(f"#{name}")
                (lo, hi), ticks = plot.plt._active.monitor.xlim[0], plot.plt._active.monitor.xticks[0]
                assert lo == pytest.approx(math.log10(first)), (axis, name)  # not log10(1e-300)
                assert hi == pytest.approx(math.log10(end))
                assert lo - 1e-9 <= min(ticks) < lo + 1  # the first tick within a decade of the start
                assert "e-300" not in plot.render().plain
            await pilot.press("x")
