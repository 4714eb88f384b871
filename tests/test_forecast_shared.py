"""Common random numbers in the forecaster (`state/forecast/shared.py`): runs that trained on the
same batch at each step are found from their losses alone, the batches' shared difficulty is
taken out before the law is refitted, and a run that saw those batches has its predicted final
carry their difficulty, while runs of other batch orders are fitted and predicted as before."""

from __future__ import annotations

import numpy as np
from test_forecast import TRUE_MPL, law_curve, schedule

from lrtui.state.forecast.curves import final_mean, make_curve
from lrtui.state.forecast.fit import fit
from lrtui.state.forecast.heldout import forecast
from lrtui.state.forecast.multipower import MultiPower
from lrtui.state.forecast.shared import sharing, shrinkage

STEPS = 2000


def runs_of(kinds, batches: np.ndarray, own: float, seed: int):
    """Runs of the known law, each step's loss times exp(batch difficulty + its own noise)."""
    rng = np.random.default_rng(seed)
    out = []
    for kind in kinds:
        lrs = schedule(kind, STEPS)
        loss = law_curve(MultiPower(), TRUE_MPL, lrs)
        loss[np.isnan(loss)] = 5.0  # the warm-up's loss: never fitted
        out.append(make_curve(kind, lrs, loss * np.exp(batches + own * rng.standard_normal(STEPS))))
    return out


def difficulty(seed: int) -> np.ndarray:
    return 0.06 * np.random.default_rng(seed).standard_normal(STEPS)


def test_runs_sharing_a_batch_order_are_found_and_a_run_of_another_is_not():
    shared = runs_of(["constant", "cosine"], difficulty(1), 0.01, seed=2)
    other = runs_of(["linear"], difficulty(3), 0.01, seed=4)
    assert sharing([shared[0], other[0], shared[1]]) == (0, 2)
    assert sharing([shared[0], other[0]]) == ()
    # nearly all of the noise is the batch's: the estimate is taken nearly whole
    assert 0.95 < shrinkage(shared) < 1.0


def test_the_shared_difficulty_is_taken_out_and_the_fit_comes_closer():
    kinds = ["constant", "cosine", "step"]
    errors = {}
    for refit in (False, True):
        worst = 0.0
        for seed in range(3):
            fitted = fit(MultiPower(), runs_of(kinds, difficulty(seed), 0.005, seed=10 + seed), shared=refit)
            assert (fitted.shared is not None) == refit
            for kind in ("wsd", "linear"):
                lrs = schedule(kind, STEPS)
                truth = final_mean(law_curve(MultiPower(), TRUE_MPL, lrs), STEPS)
                worst = max(worst, abs(final_mean(fitted.curve(lrs), STEPS) / truth - 1))
        errors[refit] = worst
    assert errors[True] < 0.6 * errors[False]


def test_a_run_that_saw_the_batches_has_their_difficulty_in_its_predicted_final():
    batches = difficulty(5)
    batches[-100:] += 0.02  # the last 100 batches harder: every run's final is 2% higher
    fitted_on = runs_of(["constant", "cosine"], batches, 0.005, seed=6)
    fitted = fit(MultiPower(), fitted_on)
    assert fitted.shared is not None and fitted.shared.members == (0, 1)
    (same,) = runs_of(["wsd"], batches, 0.005, seed=7)
    (other,) = runs_of(["wsd"], difficulty(8), 0.005, seed=9)
    smooth = final_mean(fitted.curve(same.lrs), STEPS)
    luck = final_mean(same.losses, STEPS) / final_mean(law_curve(MultiPower(), TRUE_MPL, same.lrs), STEPS) - 1
    carried = fitted.final(same.lrs, STEPS, same.losses) / smooth - 1
    # most of the batches' part of its observed final is carried (all but its part slower
    # than the moving average `shared.estimate` takes off, which the end of a run cuts short)
    assert luck > 0.015
    assert abs(carried - luck) < 0.5 * luck
    # another batch order, or a schedule never trained: the law's smooth curve alone
    assert fitted.final(other.lrs, STEPS, other.losses) == smooth
    assert fitted.final(same.lrs, STEPS) == smooth


def test_runs_of_independent_noise_are_fitted_as_before():
    rng = np.random.default_rng(11)
    runs = [make_curve(r.name, r.lrs, r.losses) for r in
            runs_of(["constant", "cosine"], np.zeros(STEPS), 0.0, seed=0)]  # fmt: skip
    noisy = [make_curve(r.name, r.lrs, r.losses * np.exp(0.03 * rng.standard_normal(STEPS))) for r in runs]
    fitted = fit(MultiPower(), noisy)
    plain = fit(MultiPower(), noisy, shared=False)
    assert fitted.shared is None
    assert np.array_equal(fitted.theta, plain.theta)


def test_short_runs_and_short_tails_are_taken_in_stride():
    """Runs shorter than the moving averages (401 steps, 21 steps) are fitted; a run asked
    about with fewer steps than a wiggle's window is predicted by the smooth curve."""
    batches = 0.06 * np.random.default_rng(12).standard_normal(300)
    runs = []
    for kind in ("constant", "cosine"):
        lrs = schedule(kind, 300, warm=20)
        loss = law_curve(MultiPower(), TRUE_MPL, lrs)
        loss[np.isnan(loss)] = 5.0
        runs.append(make_curve(kind, lrs, loss * np.exp(batches)))
    fitted = fit(MultiPower(), runs)
    assert fitted.shared is not None and fitted.shared.offset.size == 300
    lrs = schedule("wsd", 300, warm=5)
    smooth = final_mean(fitted.curve(lrs), 15)
    assert np.isfinite(smooth) and fitted.final(lrs, 15, runs[0].losses[:15]) == smooth


def test_the_held_out_r2_asks_for_the_losss_course_not_the_batches_difficulty():
    """Trust (held-out R²) is scored with the batches' shared difficulty out: runs of the known
    law whose per-step noise is mostly their shared batch score as if nearly noiseless, while
    the same noise, each run's own, leaves nothing to take out; the held-out error keeps it."""
    kinds = ["constant", "cosine", "step"]
    shared = forecast(runs_of(kinds, difficulty(5), 0.008, seed=6)).best
    rng = np.random.default_rng(7)
    own = [make_curve(r.name, r.lrs, r.losses * np.exp(0.06 * rng.standard_normal(STEPS)))
           for r in runs_of(kinds, np.zeros(STEPS), 0.008, seed=6)]  # fmt: skip
    alone = forecast(own).best
    assert shared.heldout_r2 > 0.98 and alone.heldout_r2 < 0.95  # the same noise: only shared comes out
    assert shared.heldout_error > 0.005  # the error is the logged loss's: its noise is in it


def test_a_live_forecast_fits_the_last_steps_once_no_run_is_running(monkeypatch):
    """Fits come every 10% more steps; the steps after the last one, once every run has
    finished (or paused), are fitted at once rather than never."""
    from types import SimpleNamespace

    from lrtui.spec.events import RunStatus
    from lrtui.state.forecast import live as live_module

    live = live_module.LiveForecast()
    live._asked_at = 2000  # the last fit: 2,000 steps in all
    views = [
        SimpleNamespace(step=1050, status=status, info=SimpleNamespace(label=label))
        for label, status in (("a", RunStatus.RUNNING), ("b", RunStatus.DONE))
    ]
    started = []
    monkeypatch.setattr(live, "_fit", lambda curves, trained, seen: started.append(trained))
    monkeypatch.setattr(live_module, "curve_of", lambda v: make_curve(v.info.label, np.ones(4), np.ones(4)))
    assert not live.tick(views)  # 5% more and one still running: not yet
    views[0].status = RunStatus.DONE
    assert live.tick(views)
    live._running.join(5)
    assert started == [2100]
    assert not live.tick(views)  # nothing new since


def test_the_apps_display_columns_are_found_sharing_as_the_steps_are():
    """The app fits display columns (a mean every few steps, `live.curve_of`), not every step:
    runs sharing batches are found so all the same, and trust is scored as from every step
    (the app said "no forecast yet" where `lrtui forecast` on the same runs trusted it)."""
    from lrtui.state.forecast.curves import RunCurve
    from lrtui.state.series import BucketSeries

    def columns(run: RunCurve) -> RunCurve:
        series = BucketSeries()
        for step, y in enumerate(run.losses, 1):
            series.append(step, float(y))
        losses = np.full(run.lrs.size, np.nan)
        for col in series.columns(512, until=run.seen):
            if col is not None:
                losses[(col.first + col.last) // 2 - 1] = col.mean
        return RunCurve(run.name, run.lrs, losses)

    runs = runs_of(["constant", "cosine", "step"], difficulty(8), 0.008, seed=9)
    shown = [columns(r) for r in runs]
    assert np.sum(np.isfinite(shown[0].losses)) == 512  # a loss every ~4 steps
    assert sharing(shown) == sharing(runs) == (0, 1, 2)
    dense, sparse = forecast(runs).best, forecast(shown).best
    assert sparse.heldout_r2 > 0.98 and abs(sparse.heldout_r2 - dense.heldout_r2) < 0.01
