"""The forecaster (`lrtui.state.forecast`) and `lrtui forecast`: laws recover the parameters
that made a curve, the binned O(T²) sum equals the plain one, the held-out score is honest,
unfittable runs are named, the suggestion is monotone and beats the runs, and the command's
table, JSON and CSV say what the README says."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from appkit import PlanEvent, replay_app, settle
from terminal import Terminal, have_tmux, lrtui_command

from lrtui.commands.main import main
from lrtui.spec.events import RunInfo, StepBlock
from lrtui.state.forecast import standings
from lrtui.state.forecast.annealing import Annealing, momentum
from lrtui.state.forecast.curves import final_mean, make_curve, warmup_end
from lrtui.state.forecast.fit import Fitted, fit
from lrtui.state.forecast.heldout import forecast
from lrtui.state.forecast.laws import LAWS
from lrtui.state.forecast.live import Answer
from lrtui.state.forecast.multipower import MultiPower
from lrtui.state.forecast.suggest import suggest
from lrtui.state.groups import views
from lrtui.ui import forecasting
from lrtui.ui.widgets.lines import loss_data
from lrtui.ui.widgets.spark import render_rows, shade_band

PEAK = 0.01
TRUE_MPL = np.array([1.5, np.log(2.0), 0.4, np.log(0.4), np.log(0.02), 0.6, 0.4])
TRUE_ANNEALING = np.array([1.4, np.log(2.5), 0.35, np.log(0.002)])


def schedule(kind: str, steps: int = 2000, warm: int = 100) -> np.ndarray:
    """A schedule's LR per step, as lrtui's specs plan them: a linear warm-up, then its shape."""
    t = np.arange(steps)
    lr = np.ones(steps)
    lr[:warm] = np.linspace(0.01, 1, warm)
    after = (t[warm:] - warm) / (steps - warm)
    shapes = {
        "constant": lambda: 1.0,
        "cosine": lambda: 0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * after)),
        "linear": lambda: 1 - 0.99 * after,
        "wsd": lambda: np.where(after < 0.8, 1.0, 1 - 0.99 * (after - 0.8) / 0.2),
        "step": lambda: np.where(after < 1 / 3, 1.0, np.where(after < 2 / 3, 0.3, 0.09)),
    }
    lr[warm:] = shapes[kind]()
    return PEAK * lr


def law_curve(law, theta: np.ndarray, lrs: np.ndarray) -> np.ndarray:
    return Fitted(law, theta, PEAK, (), 0.0).curve(lrs)


def synthetic(law, theta, kinds, steps=2000, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    runs = []
    for kind in kinds:
        lrs = schedule(kind, steps)
        loss = law_curve(law, theta, lrs)
        loss[np.isnan(loss)] = 5.0  # the warm-up's loss: never fitted
        runs.append(make_curve(kind, lrs, loss * (1 + noise * rng.standard_normal(steps))))
    return runs


def exact_multipower(theta: np.ndarray, lrs: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The law's O(T²) sum as written, step by step, for the points `at`."""
    l0, ln_a, alpha, ln_b, ln_c, beta, gamma = theta
    eta = lrs / PEAK
    w = warmup_end(eta)
    area = np.cumsum(eta)
    drops = np.zeros_like(eta)
    drops[w + 1 :] = eta[w:-1] - eta[w + 1 :]
    out = []
    for t in at:
        k = np.arange(w + 1, t + 1)
        x = eta[k] ** (-gamma) * (area[t] - area[k - 1])
        ld = np.exp(ln_b) * np.sum(drops[k] * (1 - (np.exp(ln_c) * x + 1) ** (-beta)))
        out.append(l0 + np.exp(ln_a) * area[t] ** (-alpha) - ld)
    return np.array(out)


@pytest.mark.parametrize("kind", ["linear", "wsd", "step", "cosine"])
def test_the_binned_sum_equals_the_law_as_written(kind):
    lrs = schedule(kind)
    at = np.arange(150, 2000, 97)
    binned = law_curve(MultiPower(), TRUE_MPL, lrs)[at]
    assert np.max(np.abs(binned / exact_multipower(TRUE_MPL, lrs, at) - 1)) < 2e-3


def test_momentum_is_the_recurrence():
    drops = np.random.default_rng(1).standard_normal(1000)
    m, expected = 0.0, []
    for d in drops:
        m = 0.995 * m + d
        expected.append(m)
    assert np.allclose(momentum(drops, 0.995), expected)


def test_multipower_fitted_on_three_schedules_predicts_two_others():
    runs = synthetic(MultiPower(), TRUE_MPL, ["constant", "cosine", "step"])
    fitted = fit(MultiPower(), runs)
    assert fitted.parameters()["L0"] == pytest.approx(1.5, rel=0.02)
    assert fitted.parameters()["alpha"] == pytest.approx(0.4, rel=0.05)
    for kind in ("wsd", "linear"):
        lrs = schedule(kind)
        truth = final_mean(law_curve(MultiPower(), TRUE_MPL, lrs), lrs.size)
        assert final_mean(fitted.curve(lrs), lrs.size) == pytest.approx(truth, rel=2e-3)


def test_annealing_recovers_its_parameters_and_its_lambda():
    law = Annealing(0.995)
    runs = synthetic(law, TRUE_ANNEALING, ["constant", "cosine"])
    fitted = fit(Annealing(), runs)  # λ is chosen among its variants: the true one matches best
    shown = fitted.parameters()
    assert shown["lambda"] == 0.995
    assert shown["L0"] == pytest.approx(1.4, rel=0.02) and shown["alpha"] == pytest.approx(0.35, rel=0.05)
    lrs = schedule("wsd")
    truth = final_mean(law_curve(law, TRUE_ANNEALING, lrs), lrs.size)
    assert final_mean(fitted.curve(lrs), lrs.size) == pytest.approx(truth, rel=2e-3)


def test_held_out_score_is_honest_and_unfittable_runs_are_named():
    runs = synthetic(MultiPower(), TRUE_MPL, ["constant", "cosine"], noise=0.01)
    short = make_curve("short", schedule("constant", 120), np.full(120, 3.0))
    no_lr = make_curve("no-lr", [], [])
    result = forecast([*runs, short, no_lr])
    assert dict(result.skipped) == {
        "short": "only 21 steps after the warm-up, at least 50 needed",
        "no-lr": "no LR recorded",
    }
    assert result.best is not None and result.why_not == ""
    assert result.best.heldout_r2 > 0.9 and result.best.heldout_error < 0.01
    # a law told nothing of the decay cannot foresee it: fitted on the first 80% of a WSD run,
    # whose decay starts at 80%, the held-out part is missed and the forecast is refused
    wsd = synthetic(MultiPower(), TRUE_MPL, ["wsd"], noise=0.0)
    blind = forecast(wsd)
    assert blind.best is not None and blind.best.heldout_error > 0.01
    assert blind.why_not.startswith("held-out R²")


def test_the_suggestion_never_rises_after_the_warm_up_and_beats_the_runs():
    runs = synthetic(MultiPower(), TRUE_MPL, ["constant", "cosine", "step"])
    fitted = fit(MultiPower(), runs)
    found = suggest(fitted, 2000, 100, PEAK)
    after = found.lrs[100:]
    assert np.all(np.diff(after) <= 1e-12) and after.max() <= PEAK * (1 + 1e-9)
    for kind in ("constant", "cosine", "linear", "wsd"):  # a local search: a step decay may win
        lrs = schedule(kind)
        assert found.predicted_final < final_mean(fitted.curve(lrs), lrs.size)
    assert found.spec.startswith("SequentialLR(schedulers=[LinearLR(start_factor=0.01, total_iters=100)")


# ---- the command --------------------------------------------------------------------------------
def write_runs(folder: Path, runs) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for run in runs:
        lines = [json.dumps({"format": "lrtui-events", "version": 1, "run": run.name})]
        lines += [json.dumps({"step": i + 1, "epoch": 1, "lr": [float(lr)], "loss": float(loss)})
                  for i, (lr, loss) in enumerate(zip(run.lrs, run.losses, strict=True))]  # fmt: skip
        (folder / f"{run.name}.jsonl").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture
def logdir(tmp_path) -> Path:
    runs = synthetic(MultiPower(), TRUE_MPL, ["constant", "cosine", "wsd"], steps=1200, noise=0.003)
    short = make_curve("short", np.full(40, PEAK), np.full(40, 3.0))
    return write_runs(tmp_path / "runs", [*runs, short])


def test_forecast_json_fits_some_runs_and_predicts_the_others(logdir, capsys):
    assert main(["forecast", str(logdir), "--fit", "constant", "cosine", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["law"] in LAWS and set(out["laws"]) == set(LAWS)
    runs = {r["run"]: r for r in out["runs"]}
    assert set(runs) == {"constant", "cosine", "wsd", "short"}  # a run too short to fit is predicted
    assert [runs[n]["fitted"] for n in ("constant", "cosine", "wsd", "short")] == [True, True, False, False]
    for r in runs.values():
        assert set(r) == {"run", "fitted", "observed_final", "predicted_final", "error", "band"}
        assert r["band"] >= out["heldout_error"] - 1e-6  # the held-out error, or wider
        assert r["error"] == pytest.approx(r["predicted_final"] / r["observed_final"] - 1, abs=2e-6)
    assert abs(runs["wsd"]["error"]) < 0.01  # a schedule it never saw, within 1%
    assert out["skipped"] == []  # "short" was not asked for


def test_forecast_names_the_runs_it_cannot_fit(logdir, capsys):
    assert main(["forecast", str(logdir)]) == 0
    out = capsys.readouterr().out
    assert "not fitted: short (only 40 steps after the warm-up, at least 50 needed)" in out
    assert out.splitlines()[0].startswith("law: ")


def test_forecast_csv_and_a_schedule_never_trained(logdir, capsys):
    spec = "CosineAnnealingLR(T_max=2400)@batch"
    assert main(["forecast", str(logdir), "--fit", "constant", "cosine", "-s", spec, "--steps", "2400",
                 "--csv", "-"]) == 0  # fmt: skip
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["step", "run", "predicted_loss"]
    by_run: dict[str, list[tuple[int, float]]] = {}
    for step, run, loss in rows[1:]:
        by_run.setdefault(run, []).append((int(step), float(loss)))
    assert set(by_run) == {"constant", "cosine", "wsd", "short", spec}
    assert by_run[spec][0][0] == 1 and by_run[spec][-1][0] == 2400  # no warm-up: every step
    lrs = PEAK * 0.5 * (1 + np.cos(np.pi * np.arange(2400) / 2400))
    truth = law_curve(MultiPower(), TRUE_MPL, lrs)
    assert by_run[spec][-1][1] == pytest.approx(truth[-1], rel=0.01)


def test_forecast_bad_input_is_one_line(logdir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["forecast", str(logdir), "--fit", "nope"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("lrtui: error: --fit nope: no such run here") and err.count("\n") == 1
    with pytest.raises(SystemExit):
        main(["forecast", str(tmp_path / "missing")])
    assert "no such file or directory" in capsys.readouterr().err
    only_short = write_runs(tmp_path / "short", [make_curve("s", np.full(30, PEAK), np.ones(30))])
    with pytest.raises(SystemExit):
        main(["forecast", str(only_short)])
    assert "no run here can be fitted: s: only 30 steps" in capsys.readouterr().err


def test_forecast_of_a_folder_never_imports_torch_or_textual(logdir, tmp_path):
    code = (
        "import sys, json\nfrom lrtui.commands.main import main\n"
        f"main(['forecast', {str(logdir)!r}, '--json'])\n"
        "print(json.dumps({m: m in sys.modules for m in ('torch', 'textual')}), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stderr.strip().splitlines()[-1]) == {"torch": False, "textual": False}
    assert json.loads(done.stdout)["runs"]


@pytest.mark.journey
@pytest.mark.skipif(not have_tmux(), reason="journeys run in tmux: apt-get install tmux")
def test_journey_forecast_a_recorded_folder_in_a_terminal(logdir):
    """A user forecasts a folder of recorded runs in a terminal, fits on two, and asks for the
    schedule the law likes best at twice the length; then plans that schedule as printed."""
    command = lrtui_command(
        "forecast", str(logdir), "--fit", "constant", "cosine", "--suggest", "--steps", "2400"
    )
    with Terminal(command, 160, 90) as term:  # tall: the table, the spec and the two charts
        screen = term.wait_for("journey-exit=", timeout=120)
        assert term.exit_status(timeout=5) == 0, screen
        assert re.search(r"^law: (multi-power|annealing|convex-bound)", screen, re.M), screen
        assert "predicted loss: the runs and the suggested schedule" in screen  # plotted beside them
        assert re.search(
            r"^wsd\s+no\s+1,200\s+\d\.\d{4}\s+\d\.\d{4}\s+±\d\.\d\d%\s+[+-]\d\.\d\d%", screen, re.M
        ), screen
        assert "suggested (2,400 steps" in screen
        spec = re.search(r"lrtui -s '(.+?)'", screen.replace("\n", "")).group(1)
    plan = lrtui_command("plan", "-s", spec, "--epochs", "24", "--batches", "100", "--lr", "0.01", "--text")
    with Terminal(plan, 160, 50) as term:
        screen = term.wait_for("journey-exit=", timeout=120)
        assert term.exit_status(timeout=5) == 0, screen
        assert re.search(r"^SequentialLR\s+0\.010000\s+100\s", screen, re.M), screen  # peak after warm-up


# ---- the app ------------------------------------------------------------------------------------
def law_events(kinds: list[str], total: int, trained: int) -> tuple[list[RunInfo], list]:
    """Runs following the multi-power law exactly, their plans, and their first `trained` steps."""
    infos, events = [], []
    for run, kind in enumerate(kinds):
        lrs = schedule(kind, total)
        loss = law_curve(MultiPower(), TRUE_MPL, lrs)
        loss[np.isnan(loss)] = 5.0
        setup = (("optimizer", "AdamW"), ("lr", f"{PEAK:g}"), ("task", "charlm"), ("epochs", "1"),
                 ("batches", str(total)), ("batch_size", "32"))  # fmt: skip
        infos.append(RunInfo(kind, total_steps=total, epochs=1, batches=total, config=setup))
        events.append(PlanEvent(run, 0, (*map(float, lrs), float(lrs[-1])), "batch", total))
        steps = tuple((float(x),) for x in lrs[:trained])
        times = tuple(0.01 * i for i in range(trained))
        events.append(StepBlock(run, 0, 1, (1,) * trained, steps, tuple(map(float, loss[:trained])), times))
    return infos, events


async def test_the_app_draws_the_trusted_forecast_dimmed_past_the_steps_trained(tmp_path):
    infos, events = law_events(["constant", "cosine", "step"], 2000, 1200)
    app = replay_app(infos, events, forecast=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        deadline = time.monotonic() + 120
        while app.forecast.latest is None and time.monotonic() < deadline:  # the fit's own thread
            await pilot.pause(0.1)
        app.drain()
        await pilot.pause()
        panel = app.panels()[1]
        assert panel.forecast is not None, forecasting.describe(app.forecast)
        line = loss_data(panel.view, 100, panel.forecast)
        assert 55 <= line.done <= 61  # 1,200 of 2,000 steps trained: the rest is the forecast
        ahead = line.values[line.done :]
        assert all(v is not None for v in ahead) and ahead[-1] < ahead[0]
        truth = law_curve(MultiPower(), TRUE_MPL, schedule("cosine", 2000))
        assert ahead[-1] == pytest.approx(float(np.mean(truth[1980:])), rel=0.01)
        await pilot.press("F", "F")
        await pilot.pause()
        shown = forecasting.describe(app.forecast)
        assert shown.startswith("law: ") and "held-out error" in shown
        assert [n.message for n in app._notifications] == [shown]  # pressed twice: shown once
        await pilot.press("b")  # the leaderboard ranks the runs by where the forecast ends them
        await pilot.pause()
        ranking = str(app.screen.query_one("#board-forecast").render())
        finals = {
            k: final_mean(law_curve(MultiPower(), TRUE_MPL, schedule(k)), 2000)
            for k in ("constant", "cosine", "step")
        }
        order = sorted(finals, key=finals.get)
        assert ranking.startswith("forecast final ± band")
        assert [line.split()[1] for line in ranking.splitlines()[1:]] == order
        table = app.screen.query_one("#board")  # and a column of the table: final ± band (place)
        assert str(table.ordered_columns[-1].label) == standings.HEAD
        column = {str(table.get_row_at(i)[1]): str(table.get_row_at(i)[-1]) for i in range(table.row_count)}
        for place, run in enumerate(order, 1):
            value, pm, band, rank = column[run].split()
            assert float(value) == pytest.approx(finals[run], rel=0.01) and pm == "±"
            assert float(band) == pytest.approx(float(value) * app.forecast.band_of(run), abs=1e-4)
            assert rank.strip("()=") == str(place)
        await pilot.press("escape", "2", "enter")  # the cosine run's chart: the forecast ahead, banded
        await pilot.pause()
        legend = [e.name for e in app.screen.legend_entries()]
        assert legend[-1] == f"loss forecast ± {100 * app.forecast.band_of('cosine'):.1f}%"
        drawn = app.screen._forecast(app.screen.canvases()[1], panel.view, "step")
        assert len(drawn) > 0 and min(drawn) < ahead[-1] < max(drawn)
        assert panel.forecast_band == app.forecast.band_of("cosine") > 0  # the panel's sparkline bands it too
        banded = loss_data(panel.view, 100, panel.forecast, panel.forecast_band).band
        assert banded is not None and banded[0][line.done - 1] is None
        assert banded[1][-1] == pytest.approx(ahead[-1] * (1 + panel.forecast_band))
        while app.forecast.latest.suggested is None and time.monotonic() < deadline:  # searched after the fit
            await pilot.pause(0.1)
        await pilot.press("escape", "N")  # the suggested schedule, as the command that trains it
        await pilot.pause()
        found = app.forecast.latest.suggested
        assert found is not None and found.curve.size == 2000
        assert found.predicted_final < min(
            finals["constant"], finals["cosine"]
        )  # step's sharp drops: not a shape of knots
        command = forecasting.offer(app.forecast, views(app.state))
        assert command.startswith("lrtui --task charlm --optimizer AdamW --lr 0.01 --epochs 1 --batches 2000")
        assert list(app._notifications)[-1].message.endswith("(copied):\n" + command)
        assert app.clipboard == command
        spec = shlex.split(command)[-1]
        assert spec == found.spec
        plan = ["plan", "-s", spec, "--epochs", "1", "--batches", "2000", "--lr", "0.01"]
        assert main([*plan, "--csv", str(tmp_path / "plan.csv")]) == 0
        planned = [float(row[2]) for row in list(csv.reader((tmp_path / "plan.csv").open()))[1:]]
        assert np.allclose(planned, found.lrs, rtol=2e-3, atol=1e-5)  # it trains what the law was asked


def test_a_forecast_band_shades_the_sparkline_between_its_edges():
    grid = render_rows([0.4, 0.4], 2)  # two bars of 7 eighths of the bottom row
    shade_band(grid, [None, 0.2], [None, 0.9])
    assert grid == [[" ", "░"], ["▇", "▇"]]  # the upper edge reaches into the top row
    grid = render_rows([1.0], 2)
    shade_band(grid, [0.4], [1.0])
    assert grid == [["▒"], ["█"]]  # the bar above the lower edge is shaded lighter


async def test_the_app_says_why_there_is_no_forecast_yet():
    infos, events = law_events(["constant"], 2000, 120)  # 20 steps after the warm-up
    app = replay_app(infos, events, forecast=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        app.drain()
        assert all(p.forecast is None for p in app.panels())
        assert forecasting.describe(app.forecast) == "no forecast yet (fewer than 200 steps)"
        await pilot.press("N")  # nothing to suggest from: it says why
        await pilot.pause()
        assert (
            list(app._notifications)[-1].message
            == "no suggestion yet: no forecast yet (fewer than 200 steps)"
        )


def test_standings_say_which_runs_cannot_be_told_apart():
    runs = synthetic(MultiPower(), TRUE_MPL, ["constant", "cosine"], noise=0.01)
    result = forecast(runs)
    best = result.best
    assert best is not None
    predicted = {
        "a": np.full(100, 1.30),
        "b": np.full(100, 1.30 * (1 + best.heldout_error)),  # within the bands
        "c": np.full(100, 2.0),
    }
    rows = standings.standings(Answer(result, predicted, "", 1000))
    assert [(r.label, r.apart_from_next) for r in rows] == [("a", False), ("b", True), ("c", True)]
    assert rows[2].band == pytest.approx(2.0 * best.heldout_error)
    text = standings.lines(Answer(result, predicted, "", 1000))
    assert text[1].endswith("(cannot be told apart from #2)") and text[0].startswith("forecast final ± band")
    assert standings.lines(Answer(result, predicted, "held-out R² 0.50 < 0.9")) == [
        "forecast final: no forecast yet (held-out R² 0.50 < 0.9)"
    ]


def test_finished_runs_rank_by_their_observed_final_beside_forecasts():
    runs = synthetic(MultiPower(), TRUE_MPL, ["constant", "cosine"], noise=0.01)
    result = forecast(runs)
    predicted = {"a": np.full(100, 1.30), "b": np.full(100, 1.50), "gone": np.full(100, 1.0)}
    done = {"c": 1.40, "gone": float("nan")}  # "gone" finished without a final (diverged)
    rows = standings.standings(Answer(result, predicted, "", 1000), done)
    assert [(r.label, r.finished) for r in rows] == [("a", False), ("c", True), ("b", False)]
    assert rows[1].band == 0.0
    cells = standings.cells(rows)
    assert cells["c"] == "1.4000 observed (2)" and cells["a"].startswith("1.3000 ± ")


def test_suggest_plots_the_suggestion_beside_the_runs(logdir, capsys):
    assert main(["forecast", str(logdir), "--fit", "constant", "cosine", "--suggest", "--steps", "2400"]) == 0
    out = capsys.readouterr().out
    assert "LR: the runs and the suggested schedule" in out and "predicted loss: the runs and" in out
    chart = out[out.index("predicted loss: the runs") :]
    assert "suggested" in chart and "wsd" in chart and "\x1b" not in out
    assert main(["forecast", str(logdir), "--fit", "constant", "cosine", "--suggest", "--steps", "2400",
                 "--csv", "-"]) == 0  # fmt: skip
    rows = [r for r in csv.reader(io.StringIO(capsys.readouterr().out)) if r[1] == "suggested"]
    assert rows[-1][0] == "2400"


def test_without_scipy_the_error_names_the_extra(logdir, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)  # as if scipy were not installed
    with pytest.raises(SystemExit) as exc:
        main(["forecast", str(logdir)])
    assert exc.value.code == 2
    assert (
        capsys.readouterr().err == "lrtui: error: the forecast needs scipy: pip install 'lrtui[forecast]'\n"
    )


async def test_without_a_forecast_the_loss_line_stands_under_the_lr_plan():
    """A new user read a loss column as the steps of the LR column above it, and it was not:
    the loss was stretched over the steps trained. Now both span the plan, column for column:
    the loss ends where the LR's trained part ends, blank after it."""
    from lrtui.ui.widgets.lines import lr_data

    infos, events = law_events(["step"], 2000, 500)
    app = replay_app(infos, events)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        view = app.panels()[0].view
        loss, lr = loss_data(view, 40, None), lr_data(view, 40)
        assert len(loss.values) == len(lr.values) == 40 and loss.done == lr.done == 10  # 500 of 2,000
        assert all(x is not None for x in loss.values[:10]) and all(x is None for x in loss.values[10:])


def test_a_run_stopped_before_its_plans_end_is_ranked_by_its_forecast():
    """A new user stopped an added run at step 338 of 1,200 and the leaderboard ranked it last,
    by its loss there; its final is still the forecast's. Done, diverged or failed: observed."""
    from types import SimpleNamespace

    from lrtui.spec.events import RunStatus

    def run(status, step, total=1200):
        return SimpleNamespace(status=status, step=step, total_steps=total)

    assert not standings.ended(run(RunStatus.STOPPED, 338))
    assert standings.ended(run(RunStatus.STOPPED, 1200)) and standings.ended(run(RunStatus.DONE, 1200))
    assert standings.ended(run(RunStatus.DIVERGED, 12)) and not standings.ended(run(RunStatus.RUNNING, 338))
    assert standings.ended(run(RunStatus.STOPPED, 338, total=0))  # no plan: where it stopped is its end
