"""The forecast as a new user met it: run names and specs shown literally in the app, logs that
start past step 1 or log every k steps, schedules annealed to exactly 0, per-epoch specs, the
limits and combinations of `lrtui forecast`'s flags, and runs that share a name."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from appkit import replay_app, settle
from test_forecast import (
    PEAK,
    TRUE_MPL,
    law_curve,
    law_events,
    schedule,
    synthetic,
    write_runs,
)

from lrtui.commands.main import main
from lrtui.modes.forecast import MAX_STEPS
from lrtui.state.forecast import standings
from lrtui.state.forecast.curves import make_curve, why_unfittable
from lrtui.state.forecast.fit import Fitted
from lrtui.state.forecast.heldout import Forecast, Scored
from lrtui.state.forecast.live import Answer, LiveForecast, curve_of
from lrtui.state.forecast.multipower import MultiPower
from lrtui.state.groups import views
from lrtui.ui import forecasting

NAMES = ("const[ant=1]", "lin[/x]", "[bold]step")


async def test_f_and_n_show_run_names_and_specs_literally():
    """Names from files and specs holding `[...]` are never markup: `F` and `N` keep the app up."""
    infos, events = law_events(["constant", "cosine", "step"], 2000, 1200)
    infos = [type(i)(name, total_steps=i.total_steps, epochs=1, batches=i.batches, config=i.config)
             for i, name in zip(infos, NAMES, strict=True)]  # fmt: skip
    app = replay_app(infos, events)  # the live fit off: it is made below, on this thread
    async with app.run_test(size=(160, 50), notifications=True) as pilot:  # toasts drawn
        await settle(pilot)
        curves = [c for v in views(app.state) if (c := curve_of(v)) is not None]
        steps = {v.info.label: v.step for v in views(app.state)}
        app.forecast._fit(curves, sum(steps.values()), steps)  # the fit its thread makes
        assert app.forecast.latest is not None and app.forecast.latest.suggested is not None
        await pilot.press("F")
        await pilot.pause()
        shown = forecasting.describe(app.forecast)
        assert all(name in shown for name in NAMES)
        assert "(3 runs, 1,200 steps each)" in shown  # not the 3,600 steps summed over them
        await pilot.press("N")
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert messages[0] == shown
        assert "schedulers=[LinearLR(" in messages[-1] and messages[-1].endswith(app.clipboard)
        await pilot.pause(0.3)
        toasts = [str(t.render()) for s in app.screen_stack for t in s.query("Toast")]
        assert any("const[ant=1]" in t for t in toasts)  # drawn as written, not as a style
        assert app.is_running


def test_a_log_that_starts_past_step_one_or_logs_every_k_steps_is_fitted(tmp_path, capsys):
    runs = synthetic(MultiPower(), TRUE_MPL, ["constant", "cosine", "wsd"], steps=1200, noise=0.003)
    folder = write_runs(tmp_path / "runs", runs)
    for path in folder.glob("*.jsonl"):  # as Hugging Face logs: every 5th step, from step 5
        head, *rows = path.read_text().splitlines()
        path.write_text("\n".join([head] + [r for r in rows if json.loads(r)["step"] % 5 == 0]) + "\n")
    assert main(["forecast", str(folder), "--fit", "constant", "cosine", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["skipped"] == []
    runs_out = {r["run"]: r for r in out["runs"]}
    assert set(runs_out) == {"constant", "cosine", "wsd"}
    assert abs(runs_out["wsd"]["error"]) < 0.02  # a schedule it never saw, from sparse logs


def test_a_cosine_annealed_to_exactly_zero_is_fitted_and_a_negative_lr_is_not(tmp_path, capsys):
    steps = 1200
    t = np.arange(steps - 100)
    to_zero = schedule("constant", steps)
    to_zero[100:] = PEAK * 0.5 * (1 + np.cos(np.pi * t / (steps - 101)))  # its last step: LR 0
    assert to_zero[-1] == pytest.approx(0, abs=1e-18)
    loss = law_curve(MultiPower(), TRUE_MPL, to_zero)
    assert np.isfinite(loss[100:]).all()  # the law predicts through the zero
    loss[:100] = 5.0
    zero = make_curve("cos0", to_zero, loss)
    assert why_unfittable(zero) is None
    assert why_unfittable(make_curve("neg", -to_zero, loss)) == "a negative LR (the laws take the LR's power)"
    runs = synthetic(MultiPower(), TRUE_MPL, ["constant", "wsd"], steps=steps, noise=0.002)
    folder = write_runs(tmp_path / "runs", [*runs, zero])
    assert main(["forecast", str(folder), "--fit", "constant", "cos0", "--json"]) == 0
    said = json.loads(capsys.readouterr().out)
    out = {r["run"]: r for r in said["runs"]}
    assert said["trusted"] and out["cos0"]["fitted"] and said["skipped"] == []
    assert abs(out["wsd"]["error"]) < 0.01  # fitted on a cosine to 0, a WSD it never saw


@pytest.fixture
def logdir(tmp_path) -> Path:
    runs = synthetic(MultiPower(), TRUE_MPL, ["constant", "cosine", "wsd"], steps=1200, noise=0.003)
    return write_runs(tmp_path / "runs", runs)


def test_a_per_epoch_spec_steps_once_every_batches_per_epoch(logdir, capsys):
    spec = "StepLR(step_size=2, gamma=0.5)"
    with pytest.raises(SystemExit):
        main(["forecast", str(logdir), "-s", spec, "--steps", "1200"])
    err = capsys.readouterr().err
    assert err.startswith(f"lrtui: error: -s {spec}: steps once an epoch") and err.count("\n") == 1
    assert "--batches-per-epoch" in err
    assert main(["forecast", str(logdir), "-s", spec, "--steps", "1200", "--batches-per-epoch", "100",
                 "--csv", "-"]) == 0  # fmt: skip
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))[1:]
    steps = [int(s) for s, run, _ in rows if run == spec]
    assert steps[0] == 1 and steps[-1] == 1200  # 12 epochs of 100 batches, not 1,200 epochs
    lrs = np.repeat(PEAK * 0.5 ** (np.arange(12) // 2), 100)
    truth = law_curve(MultiPower(), TRUE_MPL, lrs)
    predicted = {int(s): float(v) for s, run, v in rows if run == spec}
    assert predicted[1200] == pytest.approx(truth[-1], rel=0.02)
    for path in logdir.glob("*.jsonl"):  # runs that recorded 100 batches an epoch: the default
        head, *rest = path.read_text().splitlines()
        path.write_text("\n".join([json.dumps({**json.loads(head), "batches": 100}), *rest]) + "\n")
    assert main(["forecast", str(logdir), "-s", spec, "--steps", "1200", "--csv", "-"]) == 0
    again = list(csv.reader(io.StringIO(capsys.readouterr().out)))[1:]
    assert {int(s): float(v) for s, run, v in again if run == spec} == predicted


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--suggest", "--steps", "100000000000"], "--steps 100,000,000,000: at most 200,000"),
        (["-s", "StepLR(step_size=2)@batch", "--steps", "200001"], "--steps 200,001: at most 200,000"),
        (["--steps", "100"], "--steps is the length of the schedules -s and --suggest forecast"),
        (
            ["--suggest", "--warmup", "300", "--steps", "300"],
            "--warmup 300: must be shorter than --steps 300",
        ),
        (["--batches-per-epoch", "10"], "--batches-per-epoch is for -s schedules"),
    ],
)
def test_flags_out_of_range_or_alone_are_one_line(logdir, capsys, argv, said):
    with pytest.raises(SystemExit) as exc:
        main(["forecast", str(logdir), *argv])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith(f"lrtui: error: {said}") and err.count("\n") == 1


def test_no_suggestion_from_a_fit_it_does_not_trust(tmp_path, capsys):
    rng = np.random.default_rng(3)
    noisy = [
        make_curve(k, schedule(k, 600), 3 + 0.3 * rng.standard_normal(600)) for k in ("constant", "cosine")
    ]
    folder = write_runs(tmp_path / "noise", noisy)
    with pytest.raises(SystemExit):
        main(["forecast", str(folder), "--suggest"])
    err = capsys.readouterr().err
    assert err.startswith("lrtui: error: no suggestion: the fit is not trusted (held-out R² ")
    assert err.rstrip().endswith("< 0.9)") and err.count("\n") == 1


def test_flattened_reasons_and_runs_that_share_a_name(tmp_path, capsys):
    runs = synthetic(MultiPower(), TRUE_MPL, ["constant", "cosine"], steps=1200, noise=0.003)
    twin = synthetic(MultiPower(), TRUE_MPL, ["wsd"], steps=1200, noise=0.003)[0]
    short = make_curve("short", schedule("constant", 160), np.full(160, 3.0))  # 61 after its warm-up of 99
    folder = write_runs(tmp_path / "runs", [*runs, short])
    again = write_runs(tmp_path / "again", [make_curve("cosine", twin.lrs, twin.losses)])
    (again / "cosine.jsonl").rename(folder / "cosine-again.jsonl")  # a second run called "cosine"
    assert main(["forecast", str(folder), "--fit", "constant", "cosine #2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    names = [r["run"] for r in out["runs"]]
    assert sorted(names) == ["constant", "cosine", "cosine #2", "short"]
    fitted = {r["run"] for r in out["runs"] if r["fitted"]}
    assert fitted == {"constant", "cosine #2"}
    assert main(["forecast", str(folder), "--fit", "short", "--json"]) == 0
    why = json.loads(capsys.readouterr().out)
    assert not why["trusted"]
    # one readable clause, no brackets inside brackets
    with pytest.raises(SystemExit):
        main(["forecast", str(folder), "--fit", "short", "--suggest"])
    err = capsys.readouterr().err
    assert (
        "too few steps to hold the last 20% out: short's first 80% has only 29 steps after the warm-up" in err
    )
    assert err.count("(") == 1


def test_the_longest_forecast_is_the_longest_plan(logdir, capsys):
    """--steps at its cap is planned to its last step (how long it takes: the README's command)."""
    from lrtui.schedule.plan import MAX_PLAN

    assert MAX_STEPS == MAX_PLAN
    spec = f"LinearLR(start_factor=1, end_factor=0.01, total_iters={MAX_STEPS})@batch"
    assert main(["forecast", str(logdir), "-s", spec, "--steps", str(MAX_STEPS), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["runs"][-1]
    assert row["run"] == spec and row["predicted_final"] < 3


def two_laws(rival_error: float) -> Forecast:
    """A forecast whose best law is the multi-power law that made the test curves (held-out
    error 1%) and whose other credits each drop of the LR 35% more (`rival_error`): the two
    agree on a constant LR and part on a decay."""
    best = Fitted(MultiPower(), TRUE_MPL, PEAK, (), 0.0)
    other = Fitted(MultiPower(), TRUE_MPL + np.array([0, 0, 0, 0.3, 0, 0, 0]), PEAK, (), 0.0)
    return Forecast((Scored(best, 0.01, 0.99), Scored(other, rival_error, 0.95)), ())


def test_the_band_widens_where_an_as_good_law_puts_the_final_elsewhere():
    """The band is the held-out error, or how far a rival law's final is where that is wider;
    a law with over twice the best's held-out error is no rival."""
    result = two_laws(0.015)
    spreads = {}
    for kind in ("constant", "cosine", "wsd"):
        lrs = schedule(kind)
        mine, theirs = (s.fitted.final(lrs, lrs.size) for s in result.scored)
        spreads[kind] = abs(theirs / mine - 1)
        assert result.band(lrs) == pytest.approx(max(0.01, spreads[kind]))
        assert two_laws(0.03).band(lrs) == pytest.approx(0.01)  # not a rival: the error alone
    assert max(spreads.values()) > 0.02 and min(spreads.values()) < 0.01  # both cases were met


def test_runs_the_laws_part_on_cannot_be_told_apart():
    """Two runs whose forecasts are further apart than the held-out error but not than the
    laws' spread are not ranked as if they were apart; the live fit hands each run its band."""
    result = two_laws(0.015)
    predicted = {"a": np.full(100, 1.30), "b": np.full(100, 1.30 * 1.03)}  # 3% apart
    apart = standings.standings(Answer(result, predicted, "", 1000))
    assert [r.apart_from_next for r in apart] == [True, True]  # by the 1% error alone
    wide = {"a": 0.04, "b": 0.01}
    rows = standings.standings(Answer(result, predicted, "", 1000, bands=wide))
    assert [r.apart_from_next for r in rows] == [False, True]
    assert rows[0].band == pytest.approx(0.04 * 1.30)
    runs = synthetic(MultiPower(), TRUE_MPL, ["constant", "cosine", "wsd"], noise=0.01)
    live = LiveForecast()
    live._fit(runs, 6000, {r.name: 2000 for r in runs})  # what its thread does
    answer = live.latest
    assert answer is not None and answer.result is not None and set(answer.bands) == {r.name for r in runs}
    error = answer.result.best.heldout_error
    assert all(band >= error for band in answer.bands.values())
    assert live.band_of("wsd") == pytest.approx(max(live.band(), answer.bands["wsd"]))


def test_suggest_prints_the_whole_command_that_trains_it_as_the_runs_were(tmp_path, capsys):
    """The suggestion's command carries the runs' setup (task, optimizer, LR, seed), its length
    made the suggestion's: pasted alone (`lrtui -s SPEC`) it trained the default task with SGD."""
    import shlex

    from lrtui.record.format import encode_header
    from lrtui.spec.events import RunInfo

    folder = write_runs(
        tmp_path / "runs", synthetic(MultiPower(), TRUE_MPL, ["constant", "cosine"], steps=1200)
    )
    setup = (
        ("optimizer", "AdamW()"),
        ("lr", "0.01"),
        ("task", "charlm"),
        ("epochs", "12"),
        ("batches", "100"),
    )
    for path in folder.glob("*.jsonl"):  # each run's header as lrtui's own writer puts it
        rows = path.read_text().splitlines()[1:]
        path.write_text("\n".join([encode_header(RunInfo(path.stem, config=setup)).strip(), *rows]) + "\n")
    assert main(["forecast", str(folder), "--suggest", "--steps", "2400", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["suggested"]
    argv = shlex.split(found["command"])
    assert argv[:11] == ["lrtui", "--task", "charlm", "--optimizer", "AdamW()", "--lr", "0.01",
                         "--epochs", "24", "--batches", "100"]  # fmt: skip  # 24 x 100 = its 2,400 steps
    assert argv[-2:] == ["-s", found["spec"]]
    assert main(["forecast", str(folder), "--suggest", "--steps", "1250"]) == 0
    out = capsys.readouterr().out
    assert "--epochs 1 --batches 1250" in out and "a shape no run has trained" in out


def test_a_lightning_csv_is_fitted_as_readme_says(tmp_path, capsys):
    """A run Lightning's own `CSVLogger` wrote (the LR from `LearningRateMonitor`'s column, the
    loss on rows of its own, as a training step logs them) is read and fitted, not a traceback:
    the forecast's reader counts what every reader counts (`record.export.Exported`)."""
    loggers = pytest.importorskip("lightning.pytorch.loggers")
    (run,) = synthetic(MultiPower(), TRUE_MPL, ["cosine"], steps=600, noise=0.002)
    logger = loggers.CSVLogger(tmp_path, name="lightning_logs", version=0)
    for step, (lr, loss) in enumerate(zip(run.lrs, run.losses, strict=True)):
        logger.log_metrics({"lr-AdamW": float(lr)}, step=step)
        logger.log_metrics({"train_loss": float(loss)}, step=step)
    logger.save()
    assert main(["forecast", str(tmp_path), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["runs"]
    assert row["fitted"] and abs(row["error"]) < 0.01


def test_a_runs_observed_final_is_the_leaderboards(tmp_path, capsys):
    """The final is the mean of the last 5% of steps rounded up, as the leaderboard takes it:
    448 steps, the last 23 (22.4), not 22; the two said the same run ended 1% apart."""
    (run,) = synthetic(MultiPower(), TRUE_MPL, ["cosine"], steps=448, noise=0.02)
    folder = write_runs(tmp_path / "runs", [run])
    assert main(["forecast", str(folder), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["runs"]
    assert row["observed_final"] == pytest.approx(float(np.mean(run.losses[-23:])), rel=1e-6)


def test_a_band_past_the_loss_itself_says_no_number():
    """Far past the runs fitted the laws can part by more than the loss (±898% was printed for
    a 12,000-step schedule from 800-step runs): the table says ±>100%, the JSON keeps the number."""
    from lrtui.modes.forecast_print import _band

    assert _band(0.0217) == "±2.17%" and _band(float("nan")) == "—"
    assert _band(1.14) == "±>100%" and _band(8.98) == "±>100%"


def test_a_file_that_holds_no_run_is_named(tmp_path, capsys):
    stray = tmp_path / "notes.csv"
    stray.write_text("a,b\n1,2\n")
    with pytest.raises(SystemExit) as exc:
        main(["forecast", str(stray)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        f"lrtui: error: {stray}: no run that logs an LR and a loss"
    )


def test_no_forecast_is_trusted_on_a_held_out_window_too_short_to_say():
    """On a short held-out window of a falling loss R² comes out high by chance: under 50
    steps held out (the longest run's last 20%) there is no forecast yet, and it says why."""
    from lrtui.state.forecast.heldout import MIN_HELD_STEPS, forecast

    runs = synthetic(MultiPower(), TRUE_MPL, ["constant", "cosine"], steps=2000, noise=0.003)
    early = forecast([r.cut(240) for r in runs])  # 48 steps held out
    assert early.why_not == "too few steps: the last 20% held out is 48 steps, at least 50 needed"
    assert MIN_HELD_STEPS == 50
    later = forecast([r.cut(800) for r in runs])
    assert later.why_not == "" and later.best is not None and np.isfinite(later.best.heldout_error)


def test_a_law_whose_fit_is_not_trusted_is_no_rival():
    """A law that cannot follow the held-out steps (R² under 0.9) widens no band, however near
    its held-out error: one at R² 0.64 put an 8% band on a run the others fitted within 0.2%."""
    best = Fitted(MultiPower(), TRUE_MPL, PEAK, (), 0.0)
    other = Fitted(MultiPower(), TRUE_MPL + np.array([0, 0, 0, 0.3, 0, 0, 0]), PEAK, (), 0.0)
    lrs = schedule("wsd")
    trusted = Forecast((Scored(best, 0.01, 0.99), Scored(other, 0.015, 0.95)), ())
    untrusted = Forecast((Scored(best, 0.01, 0.99), Scored(other, 0.015, 0.64)), ())
    assert trusted.band(lrs) > 0.02 and trusted.band(lrs, unseen=True) > 0.02
    assert untrusted.band(lrs) == pytest.approx(0.01) and untrusted.band(lrs, unseen=True) == pytest.approx(
        0.01
    )


def test_f_says_no_nan_where_nothing_was_held_out():
    """`F` on runs too short to hold their last 20% out said "held-out error nan%, R² nan"
    above the reason; the reason alone is said."""
    runs = synthetic(MultiPower(), TRUE_MPL, ["constant", "cosine"], steps=2000, noise=0.003)
    live = LiveForecast()
    live._fit([r.cut(240) for r in runs], 480, {r.name: 240 for r in runs})
    said = live.describe()
    assert not any("nan" in line for line in said)
    assert (
        said[-1] == "no forecast yet (too few steps: the last 20% held out is 48 steps, at least 50 needed)"
    )
