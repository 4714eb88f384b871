"""Typed run views: a run and a schedule's seeds read through one protocol; live screens one base."""

import math

from lrtui.spec.events import RunInfo, StepBlock
from lrtui.state.groups import members, views
from lrtui.state.runlike import RunLike
from lrtui.state.runs import ExperimentState
from lrtui.ui.screens.charts import ChartBase, RunChartScreen
from lrtui.ui.screens.compare import CompareScreen
from lrtui.ui.screens.help import HelpScreen
from lrtui.ui.screens.leaderboard import LeaderboardScreen
from lrtui.ui.screens.live import LiveScreen
from lrtui.ui.screens.ranks import RanksScreen


def _state(groups: list[str]) -> ExperimentState:
    infos = [RunInfo(f"run {i}", group=g, total_steps=4) for i, g in enumerate(groups)]
    state = ExperimentState(infos, clock=lambda: 0.0)
    for i in range(len(infos)):
        state.apply([StepBlock(i, 0, 1, (1,) * 4, ((0.1,),) * 4, (1.0 - 0.1 * i,) * 4, (0.0,) * 4)])
    return state


def test_runs_and_seed_groups_are_run_like_and_say_which_they_are():
    plain = views(_state(["", ""]))
    assert all(isinstance(v, RunLike) and not v.is_group for v in plain)
    grouped = views(_state(["A", "B", "A", "B"]))
    assert all(isinstance(v, RunLike) and v.is_group for v in grouped)
    assert [v.info.label for v in grouped] == ["A", "B"]


def test_commands_reach_the_runs_behind_a_view():
    assert members(_state(["", "", ""]), 2) == [2]
    state = _state(["A", "B", "A", "B"])
    assert members(state, 0) == [0, 2] and members(state, 1) == [1, 3]
    state.apply([StepBlock(0, 0, 5, (1,), ((0.1,),), (0.5,), (0.0,))])  # more steps: same views
    assert members(state, 1) == [1, 3]


def test_what_seeds_share_is_read_from_the_first():
    state = _state(["A", "A"])
    group = views(state)[0]
    first = state.runs[0]
    assert group.plan is first.plan and group.marks is first.marks
    assert group.time_series is first.time_series and group.epoch_ends is first.epoch_ends
    assert group.step == 4 and math.isclose(group.loss, (1.0 + 0.9) / 2)


def test_the_frame_timer_redraws_every_live_screen_and_only_those():
    for screen in (ChartBase, RunChartScreen, CompareScreen, LeaderboardScreen, RanksScreen):
        assert issubclass(screen, LiveScreen)
    assert not issubclass(HelpScreen, LiveScreen)
