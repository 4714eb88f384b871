"""Pictures of the app, from recorded event streams (no torch, no clocks, no timing, no
animation): `tests/fixtures/record.py` trained them once."""

import pytest
from appkit import cut, paused, recorded, replay_app, settle

SEED = recorded("seed")
SEED_EVENTS = SEED.events
MID = cut(SEED_EVENTS, 170)  # epoch 5 of 11, step 170 of 440
FAILING = recorded("failing")  # two healthy runs, one that cannot be built, one that diverges


def test_grid_mid_run(snap_compare):
    assert snap_compare(replay_app(SEED, MID), run_before=settle, terminal_size=(100, 30))


def test_grid_paused(snap_compare):
    assert snap_compare(replay_app(SEED, paused(MID, range(6))), run_before=settle, terminal_size=(100, 30))


def test_focused_run(snap_compare):
    assert snap_compare(replay_app(SEED, MID), run_before=settle, press=["3"], terminal_size=(100, 30))


def test_full_chart_linear(snap_compare):
    app = replay_app(SEED, MID)
    assert snap_compare(app, run_before=settle, press=["1", "enter"], terminal_size=(100, 30))


def test_full_chart_log(snap_compare):
    app = replay_app(SEED, MID)
    assert snap_compare(app, run_before=settle, press=["1", "enter", "l"], terminal_size=(100, 30))


def test_compare_charts(snap_compare):
    assert snap_compare(replay_app(SEED, MID), run_before=settle, press=["c"], terminal_size=(100, 34))


def test_help(snap_compare):
    assert snap_compare(
        replay_app(SEED, MID), run_before=settle, press=["question_mark"], terminal_size=(100, 30)
    )


def test_small_terminal(snap_compare):
    assert snap_compare(replay_app(SEED, MID), run_before=settle, terminal_size=(80, 24))


def test_wide_terminal(snap_compare):
    assert snap_compare(replay_app(SEED, MID), run_before=settle, terminal_size=(250, 70))


def test_failed_and_diverged_runs(snap_compare):
    assert snap_compare(replay_app(FAILING, FAILING.events), run_before=settle, terminal_size=(100, 30))


def test_all_runs_done(snap_compare):
    assert snap_compare(replay_app(SEED, SEED_EVENTS), run_before=settle, terminal_size=(100, 30))


def test_preset_all_grid(snap_compare):
    everything = recorded("all")  # every schedule, recorded to step 150
    assert snap_compare(replay_app(everything, everything.events), run_before=settle, terminal_size=(160, 50))


# warm-up into a plateau, one cycle, warm restarts, milestones; the task "teacher"
REGIMES = recorded("regimes")
REGIME_EVENTS = cut(REGIMES.events, 150)


def test_regime_markers_in_the_grid(snap_compare):
    """Plateau counters live, last and next regime change of planned schedules."""
    assert snap_compare(replay_app(REGIMES, REGIME_EVENTS), run_before=settle, terminal_size=(110, 30))


def test_regime_markers_compare(snap_compare):
    assert snap_compare(
        replay_app(REGIMES, REGIME_EVENTS), run_before=settle, press=["c"], terminal_size=(110, 36)
    )


def test_regime_markers_full_chart(snap_compare):
    """Warm-up then plateau: the phase boundary and every cut marked on the LR line."""
    assert snap_compare(
        replay_app(REGIMES, REGIME_EVENTS), run_before=settle, press=["1", "enter"], terminal_size=(110, 34)
    )


def test_smoothed_chart_with_envelope_against_epochs(snap_compare):
    assert snap_compare(
        replay_app(SEED, MID),
        run_before=settle,
        press=["2", "enter", "s", "s", "e", "x"],
        terminal_size=(110, 34),
    )


def test_leaderboard(snap_compare):
    assert snap_compare(
        replay_app(SEED, SEED_EVENTS), run_before=settle, press=["b"], terminal_size=(110, 20)
    )


def test_leaderboard_flags_failed_runs(snap_compare):
    assert snap_compare(
        replay_app(FAILING, FAILING.events), run_before=settle, press=["b"], terminal_size=(110, 20)
    )


def test_grid_at_160x45(snap_compare):
    """Three panels a row, numbers uncut, sparklines with their scales."""
    assert snap_compare(replay_app(SEED, MID), run_before=settle, terminal_size=(160, 45))


def test_compare_against_a_baseline(snap_compare):
    assert snap_compare(replay_app(SEED, MID), run_before=settle, press=["c", "P"], terminal_size=(110, 36))


def test_compare_filtered(snap_compare):
    keys = ["c", "slash", *"step", "enter"]
    assert snap_compare(replay_app(SEED, MID), run_before=settle, press=keys, terminal_size=(110, 36))


def test_loss_against_the_lr(snap_compare):
    assert snap_compare(
        replay_app(SEED, MID), run_before=settle, press=["3", "enter", "x", "x", "x"], terminal_size=(110, 34)
    )


@pytest.mark.parametrize("theme", ["textual-light", "ansi-light"])
def test_chart_on_a_light_theme(snap_compare, theme):
    async def themed(pilot):
        pilot.app.theme = theme
        await settle(pilot)

    assert snap_compare(
        replay_app(SEED, MID), run_before=themed, press=["1", "enter"], terminal_size=(110, 34)
    )


SEEDS = recorded("seeds")  # three seeds of each default schedule
SEEDS_EVENTS = SEEDS.events


def test_seeds_grid(snap_compare):
    assert snap_compare(replay_app(SEEDS, cut(SEEDS_EVENTS, 170)), run_before=settle, terminal_size=(100, 30))


def test_seeds_leaderboard(snap_compare):
    assert snap_compare(
        replay_app(SEEDS, SEEDS_EVENTS), run_before=settle, press=["b"], terminal_size=(130, 20)
    )
