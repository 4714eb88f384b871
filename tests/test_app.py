"""Pilot tests: every key, the states a run can be in, and the live trainer behind the app."""

import math

import pytest
from appkit import cut, paused, recorded, replay_app, settle
from rich.text import Text

from lrtui.engine.trainer import Trainer
from lrtui.modes.config import Settings, build_experiment, parse_scheduler_flag
from lrtui.spec.describe import run_infos
from lrtui.spec.events import RunStatus
from lrtui.ui.app import LrTuiApp
from lrtui.ui.screens.charts import RunChartScreen
from lrtui.ui.screens.compare import CompareScreen
from lrtui.ui.screens.help import HelpScreen
from lrtui.ui.screens.leaderboard import LeaderboardScreen
from lrtui.ui.widgets.panel import RunPanel

SEED = recorded("seed")  # the default six schedules, 11 epochs of 40 batches
EVENTS = SEED.events
MID = cut(EVENTS, 170)


async def test_panels_show_state_from_events():
    app = replay_app(SEED, MID)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        runs = app.state.runs
        assert [r.step for r in runs] == [170] * 6
        assert all(r.status is RunStatus.RUNNING for r in runs)
        assert runs[0].plan is not None and runs[4].plan is None  # ReduceLROnPlateau follows the loss
        panel = app.query_one("#run-0", RunPanel)
        title = Text.from_markup(str(panel.border_title)).plain
        assert title == "1 StepLR  step_size=2 gamma=0.1 · per epoch"  # the name, then its setup
        values = panel.render().plain
        assert f"lr {runs[0].lr:.4g} " in values and f"loss~ {runs[0].smooth_loss:.4f}" in values


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["space"], [("toggle", None)]),
        (["3", "p"], [("toggle", 2)]),
        (["2", "r"], [("restart", 1)]),
        (["R"], [("restart", None)]),
    ],
)
async def test_control_keys_send_commands(keys, expected):
    app = replay_app(SEED, MID)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press(*keys)
        assert app.source.commands == expected


async def test_focus_keys_move_across_the_grid():
    app = replay_app(SEED, MID)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)

        def focused():
            return app.focused.index

        assert focused() == 0
        await pilot.press("tab")
        assert focused() == 1
        await pilot.press("shift+tab")
        assert focused() == 0
        await pilot.press("down")  # two columns at 100 wide
        assert focused() == 2
        await pilot.press("right")
        assert focused() == 3
        await pilot.press("up", "left")
        assert focused() == 0
        await pilot.press("6")
        assert focused() == 5
        await pilot.press("9")  # no run 9: focus stays
        assert focused() == 5


async def test_chart_compare_help_and_back():
    app = replay_app(SEED, MID)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("2", "enter")
        assert isinstance(app.screen, RunChartScreen) and app.screen.index == 1
        assert not app.screen.log_y
        await pilot.press("l")
        assert app.screen.log_y
        await pilot.press("escape")
        assert not isinstance(app.screen, RunChartScreen)
        await pilot.press("c")
        assert isinstance(app.screen, CompareScreen)
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.focused, RunPanel)


async def test_log_chart_survives_an_lr_of_zero():
    poly = recorded("polynomial")  # PolynomialLR(total_iters=2), 4 epochs of 5 batches
    app = replay_app(poly, poly.events)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.state.runs[0].lr == 0.0
        await pilot.press("enter", "l")
        await pilot.pause()
        assert isinstance(app.screen, RunChartScreen) and app.screen.log_y
        drawn = app.screen.query_one("#lr-chart").render().plain  # plotext raises on log(0) unguarded
        assert "points <= 0 hidden" in drawn and "log" in drawn


async def test_failed_diverged_and_done_runs_show_in_their_own_panels():
    failing = recorded("failing")  # two healthy runs, one that cannot be built, one that diverges
    app = replay_app(failing, failing.events)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        statuses = [r.status for r in app.state.runs]
        assert statuses == [RunStatus.DONE, RunStatus.ERROR, RunStatus.DIVERGED, RunStatus.DONE]
        broken = app.query_one("#run-1", RunPanel)
        assert broken.has_class("-failed")
        assert "unexpected keyword argument 'bogus'" in " ".join(broken.render().plain.split())
        assert "loss became" in app.query_one("#run-2", RunPanel).render().plain
        assert app.state.overall() == "finished"


async def test_paused_state_and_status_bar():
    app = replay_app(SEED, paused(MID, range(6)))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.state.overall() == "paused"
        assert all(p.has_class("-paused") for p in app.panels())
        assert "paused" in str(app.query_one("#status").render())


async def test_restart_event_resets_the_panel():
    from lrtui.spec.events import StatusEvent

    app = replay_app(SEED, [*MID, StatusEvent(0, 1, RunStatus.RUNNING, "", 0)])
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        run = app.state.runs[0]
        assert run.gen == 1 and run.step == 0 and math.isnan(run.lr) and len(run.lr_series) == 0


async def test_quit_key_exits_cleanly_with_code_zero():
    app = replay_app(SEED, MID)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("q")
    assert app.return_code == 0
    assert app.source._stopped.is_set()


def _live_app(exp, **trainer_kw):
    def factory(sink):
        return Trainer(exp, sink, plans=True, **trainer_kw)

    return LrTuiApp(run_infos(exp), factory, source_label="cpu")


async def test_live_trainer_fills_every_panel_to_the_end():
    exp = build_experiment(Settings(preset="seed", epochs=3, batches=30))
    app = _live_app(exp)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.drain()
        assert [r.status for r in app.state.runs] == [RunStatus.DONE] * 6
        assert [r.step for r in app.state.runs] == [90] * 6
        assert [r.epochs_done for r in app.state.runs] == [3] * 6


async def test_quit_mid_epoch_stops_the_trainer_thread():
    exp = build_experiment(Settings(preset="seed", epochs=1000, batches=1000))
    app = _live_app(exp, linger=True)
    async with app.run_test(size=(100, 30)) as pilot:
        trainer = app.source
        while app.state.total_steps == 0:  # training has started (bounded by the test timeout)
            await pilot.pause(0.05)
            app.drain()
        await pilot.press("q")
    assert app.return_code == 0
    assert trainer.stopped
    assert all(w.is_finished for w in app.workers)


async def test_grid_adapts_its_columns_when_the_terminal_is_resized():
    app = replay_app(SEED, MID)
    async with app.run_test(size=(250, 70)) as pilot:
        await settle(pilot)
        assert app.query_one("#grid").columns == 3  # three wide panels, not six skinny ones
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert app.query_one("#grid").columns == 2
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.query_one("#grid").columns == 2
        panel = app.query_one("#run-5")
        assert panel.region.bottom <= 23  # six panels fit above the footer at 80x24


async def test_frames_keep_applying_events_while_a_chart_is_open():
    from lrtui.spec.events import RunAdded, RunInfo, StatusEvent

    app = replay_app(SEED, MID)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        app._queue.put_nowait([StatusEvent(0, 0, RunStatus.PAUSED, "", 170), RunAdded(6, RunInfo("late"))])
        for _ in range(3):  # every panel's turn comes round
            app.frame()
        assert app.state.runs[0].status is RunStatus.PAUSED
        assert len(app.panels()) == 7  # a run that appeared meanwhile got its panel
        await pilot.press("escape")
        assert app.query_one("#run-0", RunPanel).has_class("-paused")


async def test_pause_shows_at_once_and_the_source_confirms_it():
    app = replay_app(SEED, MID)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("space")
        assert app.state.overall() == "paused"  # before any event came back
        assert all(p.has_class("-paused") for p in app.panels())
        await pilot.press("2", "p")
        assert app.state.runs[1].status is RunStatus.RUNNING  # p resumes the focused run alone
        assert app.state.runs[0].status is RunStatus.PAUSED
        assert app.source.commands == [("toggle", None), ("toggle", 1)]


def test_expected_toggles_follow_the_sources_rule():
    from lrtui.state.runs import ExperimentState

    state = ExperimentState(SEED.infos, lambda: 0.0)
    state.apply(MID)
    state.runs[5].status = RunStatus.DONE
    state.expect_toggle(None)
    assert [r.status.value for r in state.runs] == ["paused"] * 5 + ["done"]
    state.expect_toggle(None)
    assert [r.status.value for r in state.runs] == ["running"] * 5 + ["done"]
    state.expect_toggle(5)
    assert state.runs[5].status is RunStatus.DONE  # finished runs never change


def test_elapsed_time_stops_when_every_run_has_finished():
    from lrtui.state.runs import ExperimentState

    now = [0.0]
    state = ExperimentState(SEED.infos, lambda: now[0])
    now[0] = 5.0
    state.apply(MID)
    assert state.elapsed() == 5.0
    now[0] = 9.0
    state.apply(EVENTS)
    now[0] = 20.0
    assert state.overall() == "finished" and state.elapsed() == 9.0


def test_every_run_failed_is_said_as_failed_not_finished():
    from lrtui.spec.events import RunStatus, StatusEvent
    from lrtui.state.runs import ExperimentState

    state = ExperimentState(SEED.infos, lambda: 0.0)
    bad = [RunStatus.ERROR, RunStatus.DIVERGED] * 3
    state.apply([StatusEvent(i, 0, s) for i, s in enumerate(bad)])
    assert state.overall() == "failed"
    state.apply([StatusEvent(0, 1, RunStatus.DONE)])  # one run restarted and finished well
    assert state.overall() == "finished"


async def test_chart_keys_change_smoothing_envelope_and_the_shared_x_axis():
    app = replay_app(SEED, MID)
    async with app.run_test(size=(110, 34)) as pilot:
        await settle(pilot)
        await pilot.press("1", "enter")
        opts, chart = app.chart_options, app.screen
        # by default smoothed over about 1% of the 440-step run: a half-life of 3 steps
        assert (chart.weight, opts.smoothing, opts.envelope, opts.x_axis) == (0.8, None, False, "step")
        await pilot.press("s", "s", "e", "x")
        assert (chart.weight, opts.envelope, opts.x_axis) == (0.95, True, "epoch")
        await pilot.press("S", "S", "S", "S", "S")
        assert chart.weight == 0.0  # off: the raw loss alone
        await pilot.press("x", "x", "x")
        assert opts.x_axis == "step"
        await pilot.press("x", "x", "escape", "c")
        assert isinstance(app.screen, CompareScreen) and app.screen.options.x_axis == "time"
        await pilot.press("escape")


async def test_chart_title_shows_the_seed_and_what_sets_the_run_apart():
    app = replay_app(SEED, MID)
    async with app.run_test(size=(110, 34)) as pilot:
        await settle(pilot)
        await pilot.press("1", "enter")
        title = str(app.screen.query_one("#chart-title").render())
        assert "seed 0" in title and "step_size=2 gamma=0.1" in title
        assert "optimizer=SGD()" in title.split("same for all")[1]


async def test_leaderboard_opens_sorts_and_follows_new_events():
    app = replay_app(SEED, MID)
    async with app.run_test(size=(110, 24)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        assert isinstance(app.screen, LeaderboardScreen)
        table = app.screen.query_one("#board")
        assert table.row_count == 6
        firsts = {}
        for key, metric in (("f", "final"), ("b", "best"), ("a", "area"), ("t", "reach")):
            await pilot.press(key)
            assert app.screen.by == metric
            firsts[metric] = str(table.get_row_at(0)[1])
        best = min(app.state.runs, key=lambda r: r.smooth_best)  # the lowest smoothed loss
        assert firsts["best"] == best.info.label
        await pilot.press("escape")
        assert not isinstance(app.screen, LeaderboardScreen)


async def test_the_leaderboard_ranks_by_validation_loss_where_there_is_one_and_says_how_to_switch():
    from lrtui.spec.events import EvalEvent
    from lrtui.state.leaderboard import board as rank

    evals = [EvalEvent(i, 0, 5, 170, 0.9 - 0.01 * i) for i in range(6)]  # the last run validates best
    for events, has_val in ((MID, False), ([*MID, *evals], True)):
        app = replay_app(SEED, events)
        async with app.run_test(size=(110, 24)) as pilot:
            await settle(pilot)
            await pilot.press("b")
            await pilot.pause()
            table, runs = app.screen.query_one("#board"), app.state.runs
            by_final = rank(runs, "final").rows[0].label
            assert by_final != runs[5].info.label
            assert table.get_row_at(0)[1].plain == (runs[5].info.label if has_val else by_final)
            assert ("v" in app.screen.active_bindings) == has_val  # `v By val` in the footer only then
            assert "f" in app.screen.active_bindings  # and `f` back to the training loss
            await pilot.press("f")
            assert table.get_row_at(0)[1].plain == by_final


async def test_plateau_counters_show_live_in_the_panel():
    app = replay_app(SEED, MID)
    async with app.run_test(size=(110, 34)) as pilot:
        await settle(pilot)
        run = app.state.runs[4]
        assert run.plateau is not None
        text = app.query_one("#run-4", RunPanel).render().plain
        counters = run.plateau.counters
        assert f"bad {counters.bad_epochs}/2" in text and f"cuts {counters.cuts}" in text
        step_panel = app.query_one("#run-0", RunPanel).render().plain
        assert "last StepLR x0.1 @160" in step_panel and "next StepLR x0.1 @240" in step_panel


@pytest.mark.parametrize("step", [0, 1, 170])
async def test_charts_and_leaderboard_survive_every_option_at_any_point(step):
    """Before the first step, after one, and mid-run: every chart option on both chart screens."""
    app = replay_app(SEED, cut(EVENTS, step))
    async with app.run_test(size=(110, 34)) as pilot:
        await settle(pilot)
        for opener in (["1", "enter"], ["c"]):
            await pilot.press(*opener)
            screen = app.screen
            for key in ("e", "l", "x", "s", "x", "S", "S", "S", "S", "x", "l"):
                await pilot.press(key)
                screen.redraw(force=True)  # draws now, so an error fails this test
            await pilot.press("escape")
        await pilot.press("b", "t", "a")
        assert isinstance(app.screen, LeaderboardScreen)
        assert app.screen.query_one("#board").row_count == 6


def test_the_trainer_silences_only_torchs_notes_on_step_order(recwarn):
    """Other warnings (CUDA sync reports, say) must reach whoever listens."""
    import warnings

    exp = build_experiment(Settings(epochs=1, batches=2, runs=[parse_scheduler_flag("StepLR(step_size=1)")]))
    trainer = Trainer(exp, lambda events: None)
    step = trainer._train_step

    def noisy(active):
        warnings.warn("called a synchronizing CUDA operation", UserWarning, stacklevel=1)
        return step(active)

    trainer._train_step = noisy
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.run()
    messages = [str(w.message) for w in caught]
    assert "called a synchronizing CUDA operation" in messages
    assert not any("lr_scheduler" in m for m in messages)  # torch warns so without the filter


async def test_palette_lists_every_action_of_the_screen_once():
    from lrtui.ui.keys import KEYS

    app = replay_app(SEED, MID)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        grid_titles = [c.title for c in app.get_system_commands(app.screen)]
        await pilot.press("enter")
        await pilot.pause()
        chart_titles = [c.title for c in app.get_system_commands(app.screen)]
        assert len(chart_titles) == len(set(chart_titles)), chart_titles
        for key in KEYS:  # every palette action of the app, and on a chart every chart action
            if key.palette and key.scope in ("app", "chart"):
                assert key.palette in chart_titles
            if key.palette and key.scope == "chart":
                assert key.palette not in grid_titles
        log = next(c for c in app.get_system_commands(app.screen) if c.title.startswith("Chart: log"))
        assert not app.chart_options.log_y
        await log.callback()  # the palette runs the same action as the key
        assert app.chart_options.log_y
