"""Ranking runs, flagging failures, the headless summary and the config diff."""

import io
import math

import pytest

from lrtui.config import Settings, build_experiment, parse_scheduler_flag
from lrtui.headless import run_headless
from lrtui.spec.describe import run_infos
from lrtui.spec.events import RunInfo, RunStatus, StatusEvent, StepBlock
from lrtui.state import leaderboard
from lrtui.state.configdiff import config_diff
from lrtui.state.runs import ExperimentState


def _state(curves: dict[str, list[float]], statuses: dict[int, RunStatus] | None = None) -> ExperimentState:
    state = ExperimentState([RunInfo(name) for name in curves], lambda: 0.0)
    for i, losses in enumerate(curves.values()):
        n = len(losses)
        state.apply([StepBlock(i, 0, 1, (1,) * n, ((0.1,),) * n, tuple(losses), (0.0,) * n)])
        state.apply([StatusEvent(i, 0, (statuses or {}).get(i, RunStatus.DONE), "", n)])
    return state


def test_runs_rank_by_each_metric_and_failures_come_last():
    state = _state(
        {
            "fast": [1.0, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3],  # reaches 0.4 at step 3
            "slow": [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.2],  # best final, late
            "blown": [1.0, 0.1, 0.5, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],  # final far above best
            "nan": [1.0, 0.05, math.nan],
        },
        {3: RunStatus.DIVERGED},
    )
    b = leaderboard.board(state.runs, "final", threshold=0.4)
    assert [s.label for s in b.rows] == ["slow", "fast", "blown", "nan"]
    by = {s.label: s for s in b.rows}
    assert by["blown"].flag == "blowing up" and by["nan"].flag == "diverged"
    assert by["fast"].reach == 3 and by["slow"].reach == 7
    assert by["fast"].ranks["reach"] == 1 and by["fast"].ranks["area"] == 1
    assert by["fast"].area == pytest.approx(sum([1.0, 0.5] + [0.3] * 8))
    assert by["slow"].ranks["best"] == 1  # flagged runs rank after healthy ones, whatever their best
    assert by["slow"].final == 0.2  # mean of the last 5% of 10 steps: the last one
    assert [s.label for s in leaderboard.board(state.runs, "reach", 0.4).rows][:2] == ["fast", "slow"]


def test_equal_values_share_a_rank_and_the_default_threshold_is_reached_by_every_healthy_run():
    state = _state({"a": [1.0, 0.5], "b": [1.0, 0.5], "c": [1.0, 0.7]})
    b = leaderboard.board(state.runs)
    assert b.threshold == 0.7 and b.threshold_auto
    assert all(s.reach is not None for s in b.rows)
    ranks = {s.label: s.ranks["final"] for s in b.rows}
    assert ranks == {"a": 1, "b": 1, "c": 3}


def test_headless_prints_the_leaderboard_after_the_table():
    exp = build_experiment(
        Settings(
            runs=[
                parse_scheduler_flag(s)
                for s in ("StepLR(step_size=1)", "LambdaLR(lr_lambda=constant(value=1e39))")
            ],
            epochs=2,
            batches=4,
        )
    )
    out = io.StringIO()
    assert run_headless(exp, out, threshold=0.5) == 0
    table, summary = out.getvalue().split("\n\n")
    assert table.splitlines()[0] == "StepLR"
    lines = summary.splitlines()
    assert lines[0].startswith("Leaderboard (by final loss") and "threshold 0.5000" in lines[0]
    assert lines[2].startswith("1  StepLR") and lines[3].startswith("-  LambdaLR")
    assert lines[3].rstrip().endswith(("diverged", "failed"))
    quiet = io.StringIO()
    run_headless(exp, quiet, summary=False)
    assert "Leaderboard" not in quiet.getvalue()


def test_config_diff_names_what_sets_a_run_apart_and_what_all_share():
    exp = build_experiment(
        Settings(
            runs=[
                parse_scheduler_flag(s)
                for s in ("StepLR(step_size=2, gamma=0.1)", "StepLR(step_size=2, gamma=0.5)")
            ],
            seed=7,
        )
    )
    infos = run_infos(exp)
    diff = config_diff(infos, 1)
    assert diff.differs == (("scheduler.gamma", "0.5"),)
    assert ("seed", "7") in diff.shared and ("scheduler", "StepLR") in diff.shared
    assert diff.describe(diff.differs) == "gamma=0.5"
    seed = build_experiment(Settings())
    step = config_diff(run_infos(seed), 0)
    assert step.describe(step.differs) == "StepLR step_size=2 gamma=0.1"
    mixed = build_experiment(
        Settings(
            runs=[
                parse_scheduler_flag(s)
                for s in ("ExponentialLR(gamma=0.9)", "ExponentialLR(gamma=0.9) @batch")
            ]
        )
    )
    assert config_diff(run_infos(mixed), 1).differs == (("per", "batch"),)


def test_one_lucky_batch_is_not_a_level_to_blow_up_from():
    lucky = [0.9] * 20 + [0.077] + [0.5] * 150 + [0.42] * 29  # one very low batch, then settled
    blown = [0.9] * 20 + [0.3] * 150 + [2.0] * 30  # settled low for long, then far above it
    state = _state({"one-cycle": lucky, "blown": blown})
    by = {s.label: s for s in leaderboard.board(state.runs).rows}
    assert by["one-cycle"].flag == "" and by["one-cycle"].best == 0.077  # best batch still shown
    assert by["blown"].flag == "blowing up"
    assert leaderboard.best_stretch(state.runs[1]) == pytest.approx(0.3)


def test_mid_run_ranks_say_the_runs_are_at_different_steps_and_ties_show():
    state = _state({"a": [1.0, 0.5, 0.4, 0.3], "b": [1.0, 0.5], "c": [1.0, 0.5]}, {0: RunStatus.RUNNING})
    b = leaderboard.board(state.runs)
    assert b.uneven == (2, 4)
    lines = leaderboard.summary(b)
    assert lines[-1] == "Note: runs are at different steps (2 to 4): ranks compare unequal stretches"
    assert any("(2=)" in line for line in lines)  # b and c tie
    done = _state({"a": [1.0, 0.5], "b": [1.0, 0.4, 0.3]})
    assert leaderboard.board(done.runs).uneven is None  # finished runs of different lengths: no note
