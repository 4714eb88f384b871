"""Ranking runs, flagging failures, the headless summary and the config diff."""

import io
import math
from dataclasses import replace

import pytest

from lrtui.modes.config import Settings, build_experiment, parse_scheduler_flag
from lrtui.modes.headless import run_headless
from lrtui.spec.describe import run_infos
from lrtui.spec.events import EvalEvent, RunInfo, RunStatus, StatusEvent, StepBlock
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
            "slow": [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.2],  # best final, late (smoothed: 9)
            "blown": [1.0, 0.1, 0.5, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],  # final far above best
            "nan": [1.0, 0.05, math.nan],
        },
        {3: RunStatus.DIVERGED},
    )
    b = leaderboard.board(state.runs, "final", threshold=0.4)
    assert [s.label for s in b.rows] == ["slow", "fast", "blown", "nan"]
    by = {s.label: s for s in b.rows}
    assert by["blown"].flag == "blowing up" and by["nan"].flag == "diverged"
    assert by["fast"].reach == 3 and by["slow"].reach == 9  # the smoothed loss lags a falling one
    assert by["fast"].ranks["reach"] == 1 and by["fast"].ranks["area"] == 1
    assert by["fast"].area == pytest.approx(sum([1.0, 0.5] + [0.3] * 8))
    assert by["slow"].ranks["best"] == 1  # flagged runs rank after healthy ones, whatever their best
    assert by["slow"].final == 0.2  # mean of the last 5% of 10 steps: the last one
    assert [s.label for s in leaderboard.board(state.runs, "reach", 0.4).rows][:2] == ["fast", "slow"]


def test_equal_values_share_a_rank_and_the_default_threshold_is_reached_by_every_healthy_run():
    state = _state({"a": [1.0, 0.5], "b": [1.0, 0.5], "c": [1.0, 0.7]})
    b = leaderboard.board(state.runs)
    assert b.threshold == state.runs[2].smooth_best > 0.7 and b.threshold_auto  # c's level, smoothed
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
    assert by["one-cycle"].flag == ""
    assert by["one-cycle"].best == pytest.approx(0.42)  # its level, not its one lucky batch
    assert state.runs[0].best_loss == 0.077  # which the raw minimum is
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


def test_best_and_the_default_threshold_are_smoothed_levels_not_lucky_batches():
    noisy = [0.9] * 40 + [0.5, 0.3] * 180  # settles at 0.4, half its batches at 0.3
    steady = [0.9] * 40 + [0.45] * 360
    state = _state({"noisy": noisy, "steady": steady})
    b = leaderboard.board(state.runs)
    by = {s.label: s for s in b.rows}
    assert by["noisy"].best == pytest.approx(0.4, abs=0.03)  # raw best 0.3: one easy batch
    assert by["steady"].best == pytest.approx(0.45)
    assert b.threshold == pytest.approx(0.45)  # the level every healthy run reached, smoothed
    assert all(s.reach is not None and s.reach > 40 for s in b.rows)  # both got there, after the fall
    assert "best = lowest smoothed loss" in leaderboard.summary(b)[0]


def _with_val(curves: dict[str, list[float]], vals: dict[str, float]) -> ExperimentState:
    state = _state(curves)
    for i, name in enumerate(curves):
        state.apply([EvalEvent(i, 0, 1, len(curves[name]), vals[name])])
    return state


def test_a_task_that_evaluates_is_ranked_by_validation_loss_with_training_loss_beside_it():
    state = _with_val({"a": [1.0, 0.3, 0.3], "b": [1.0, 0.5, 0.5]}, {"a": 0.9, "b": 0.6})
    b = leaderboard.board(state.runs)
    assert b.by == "val" and [s.label for s in b.rows] == ["b", "a"]  # lower training loss, worse val
    lines = leaderboard.summary(b)
    assert lines[0].startswith("Leaderboard (by validation loss")
    assert lines[1].split()[:4] == ["#", "run", "val", "final"]
    assert lines[2].split()[:4] == ["1", "b", "0.6000", "(1)"]
    assert leaderboard.board(state.runs, "final").rows[0].label == "a"  # `f` still ranks by training loss
    plain = _state({"a": [1.0, 0.3], "b": [1.0, 0.5]})
    assert leaderboard.board(plain.runs).by == "final"  # no evaluate(): as before


def test_the_seeds_table_has_the_validation_column():
    from lrtui.state.seedboard import seed_board, seed_table

    curves = {f"s{k}": [1.0, 0.5 + k / 10] for k in range(4)}
    state = _with_val(curves, {"s0": 0.7, "s1": 0.8, "s2": 0.4, "s3": 0.5})
    for i, run in enumerate(state.runs):
        run.info = replace(run.info, group="fast" if i < 2 else "slow")
    sb = seed_board(state.runs, leaderboard.board(state.runs))
    assert sb is not None
    heads, first, second = seed_table(sb)
    assert heads[:4] == ["#", "schedule", "val", "final"]
    assert first[:3] == ["1", "slow", "0.4500 ± 0.0707"] and second[1] == "fast"
