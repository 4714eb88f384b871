"""At 120x40 (a common laptop pane) the status bar, the help box and `plan`'s numbers either
fit or scroll: nothing is cut without a sign."""

from __future__ import annotations

import pytest
from appkit import cut, recorded, replay_app, settle
from textual.geometry import Region
from textual.widgets import DataTable

from lrtui.modes.config import Settings, build_experiment, parse_scheduler_flag
from lrtui.modes.plan import planned_runs
from lrtui.spec.events import Notice, RunInfo
from lrtui.spec.experiment import ExperimentSpec
from lrtui.state.runs import ExperimentState
from lrtui.ui.plan import NUMBER_HEADERS, PlanApp
from lrtui.ui.widgets.statusbar import shorten

SEED = recorded("seed")  # the default six schedules, 11 epochs of 40 batches
MID = cut(SEED.events, 170)
LONG = "cpu · examples/my_task.py · SGD · seed 0 · one after another: faster here (7 vs 80 ms a step stacked)"


def _bar_text(app) -> str:
    return app.query_one("#status").render().plain


async def test_a_long_source_gives_way_to_the_counters_at_120_columns():
    app = replay_app(SEED, MID, label=LONG)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = _bar_text(app)
        assert len(text) <= 120 and text.rstrip().endswith("00:00")  # the counters are all there
        assert "steps/s" in text and f"{6 * 170:,} steps" in text
        source = text[text.index("cpu ·") :].split("  ")[0]
        assert source.endswith("…") and LONG.startswith(source[:-1])
        assert LONG[len(source) - 1] == " "  # cut after a whole word
        await pilot.resize_terminal(250, 40)
        await pilot.pause()
        app._status()
        assert LONG in _bar_text(app)  # room enough: said whole


async def test_a_long_source_keeps_the_status_bar_one_row_high_at_80_columns():
    """The line is drawn before layout (no width to cut it for): once laid out, it is one row
    again, or the grid loses a row and scrolls (seen at 80x24 in tmux)."""
    app = replay_app(SEED, MID, label=LONG)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app._status()
        await pilot.pause()
        assert app.query_one("#status").size.height == 1


def test_shorten_keeps_a_least_part_and_whole_words():
    assert shorten("a short one", 40) == "a short one"
    assert shorten("alpha beta gamma delta epsilon", 20, least=10) == "alpha beta gamma…"
    assert shorten("x" * 40, 4, least=10) == "x" * 9 + "…"


@pytest.mark.parametrize("size", [(120, 40), (100, 30), (80, 24)])
async def test_the_help_box_fits_or_scrolls_to_its_last_line(size):
    app = replay_app(SEED, MID)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        box = app.screen.query_one("#help")
        note = app.screen.query_one("#help-note")
        assert box.outer_size.height <= size[1]
        assert app.screen.query_one("#help DataTable").max_scroll_x == 0  # no key's text cut
        fits = box.virtual_size.height <= box.scrollable_content_region.height
        assert fits == (size == (120, 40))  # 30 rows of keys: a smaller terminal scrolls them
        assert fits or (box.show_vertical_scrollbar and box.max_scroll_y > 0)
        await pilot.press("end")
        await pilot.pause()
        inside = box.scrollable_content_region
        assert note.region.y >= inside.y and note.region.bottom <= inside.bottom  # the last line shows


def _plan_exp() -> ExperimentSpec:
    specs = ["OneCycleLR(max_lr=0.1)", "CosineAnnealingLR(T_max=11)", "StepLR(step_size=3)"]
    return build_experiment(Settings(runs=[parse_scheduler_flag(s) for s in specs]))


async def test_plan_numbers_fit_at_120x40_and_stand_beside_the_chart_when_wide():
    app = PlanApp(planned_runs(_plan_exp()), "plan")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.query_one("#plan-numbers", DataTable)
        chart = app.query_one("#plan-chart")
        assert app.query_one("#plan-body").has_class("-stacked")
        assert table.max_scroll_x == 0 and table.region.right <= 120  # every column in view
        assert [str(c.label) for c in table.columns.values()] == list(NUMBER_HEADERS)
        assert table.region.y >= chart.region.bottom and chart.region.height >= 20
        await pilot.resize_terminal(250, 40)
        await pilot.pause()
        assert not app.query_one("#plan-body").has_class("-stacked")
        assert table.region.x >= chart.region.right and table.max_scroll_x == 0


async def test_a_long_notice_wraps_under_the_status_line():
    state = ExperimentState([RunInfo("a")], lambda: 0.0)
    state.apply([Notice("recording stopped: " + "no space left on device " * 6)])
    app = replay_app(SEED, [])
    async with app.run_test(size=(80, 24)) as pilot:
        bar = app.query_one("#status")
        bar.show(state, "src")
        await pilot.pause()
        lines = [s.text.rstrip() for s in bar.render_lines(Region(0, 0, 80, bar.size.height))]
        assert bar.size.height == 4 and lines[1].startswith(" recording stopped: no space")
        assert " ".join(lines[1:]).split() == ("recording stopped: " + "no space left on device " * 6).split()
