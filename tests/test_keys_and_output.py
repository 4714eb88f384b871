"""Keys that do what they say, and headless output for terminals and for programs."""

from __future__ import annotations

import io
import json
import re

from appkit import cut, recorded, replay_app, settle

from lrtui.commands.main import main
from lrtui.modes.config import Settings, build_experiment
from lrtui.modes.headless import run_headless
from lrtui.spec.events import RunInfo, StatusEvent, StepBlock
from lrtui.spec.events import RunStatus as S
from lrtui.state.runs import ExperimentState
from lrtui.ui.screens.charts import RunChartScreen
from lrtui.ui.widgets.statusbar import StatusBar

SEED = recorded("seed")  # the default six schedules, 11 epochs of 40 batches
MID = cut(SEED.events, 170)


async def test_a_digit_then_enter_opens_that_digits_run():
    app = replay_app(SEED, MID)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("3", "enter")
        await pilot.pause()
        assert isinstance(app.screen, RunChartScreen) and app.screen.index == 2


async def test_q_quits_from_help_and_the_footer_keeps_help_and_quit():
    app = replay_app(SEED, MID)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = [b.key for b in app.BINDINGS if b.show]
        assert shown[-2:] == ["question_mark", "q"] and len(shown) <= 6  # fits 80 columns
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.press("q")
    assert app.return_code == 0


async def test_a_screenshot_goes_to_the_working_directory_without_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    app = replay_app(SEED, MID)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_screenshot()
    assert list(tmp_path.glob("*.svg"))


def test_the_step_count_starts_again_with_a_restart():
    state = ExperimentState([RunInfo("a"), RunInfo("b")], lambda: 0.0)
    block = StepBlock(0, 0, 1, (1,) * 5, ((0.1,),) * 5, (1.0,) * 5, (0.0,) * 5)
    state.apply([block, StepBlock(1, 0, 1, (1,) * 5, ((0.1,),) * 5, (1.0,) * 5, (0.0,) * 5)])
    state.apply([StatusEvent(0, 1, S.RUNNING, "", 0)])  # run 0 restarted
    bar = StatusBar()
    texts: list = []
    bar.update = lambda renderable, layout=False: texts.append(renderable)  # type: ignore[method-assign]
    bar.show(state, "src")
    assert "  5 steps" in texts[-1].plain


def test_headless_json_and_progress(capsys):
    assert main(["--headless", "--json", "--epochs", "2", "--batches", "20"]) == 0
    board = json.loads(capsys.readouterr().out)
    assert [r["run"] for r in board["runs"]][:1] and len(board["runs"]) == 6
    assert all(set(r) >= {"final", "best", "area", "steps_to_threshold", "flag"} for r in board["runs"])
    terminal = _Terminal()
    exp = build_experiment(Settings(epochs=3, batches=10))
    assert run_headless(exp, io.StringIO(), progress=terminal) == 0
    said = terminal.getvalue()
    assert said.startswith("\r") and said.count("\n") == 1 and said.endswith("\n")  # one line, rewritten
    assert "\rlrtui: epoch 3/3 of every run · 180 steps\n" in said


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_headless_into_a_log_says_a_plain_line_per_epoch(capsys):
    """Standard error that is not a terminal (CI, `2> log`) gets a line per epoch, no carriage
    returns: a long run says it is alive."""
    assert main(["--headless", "--epochs", "3", "--batches", "10", "--no-summary"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert "\r" not in "".join(lines)
    pattern = r"lrtui: epoch (\d)/3 · ([\d,]+)/180 steps · \d+\.\d s"
    found = [re.fullmatch(pattern, line) for line in lines]
    assert all(found) and [(m[1], m[2]) for m in found] == [("1", "60"), ("2", "120"), ("3", "180")]


async def test_a_frame_between_push_and_mount_does_not_redraw_the_new_screen():
    from lrtui.ui.app import CHART_EVERY
    from lrtui.ui.screens.compare import CompareScreen
    from lrtui.ui.screens.leaderboard import LeaderboardScreen
    from lrtui.ui.screens.ranks import RanksScreen

    app = replay_app(SEED, MID)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        for screen in (RanksScreen(app.state), LeaderboardScreen(app.state), CompareScreen(app.state)):
            app.push_screen(screen)  # on the stack at once, composed only later
            app._frame = CHART_EVERY - 1
            app.frame()  # the frame timer firing in between
            await pilot.pause()
            assert app.screen is screen and screen.is_mounted
            app.pop_screen()
            await pilot.pause()
        assert app._exception is None
