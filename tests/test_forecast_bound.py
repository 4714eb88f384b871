"""The convex-bound law (`state/forecast/bound.py`) and the choice of law (`heldout.kept_first`):
the noise term is the bound as written, cut where the module says; the law recovers the
parameters that made a curve and carries them to schedules it did not see; it puts linear
decay below cosine; and of laws the held-out error cannot tell apart, the smaller is kept."""

from __future__ import annotations

import numpy as np
import pytest
from test_forecast import PEAK, law_curve, schedule, synthetic

from lrtui.state.forecast.annealing import Annealing
from lrtui.state.forecast.bound import ConvexBound, noise
from lrtui.state.forecast.curves import final_mean
from lrtui.state.forecast.fit import Fitted, fit
from lrtui.state.forecast.heldout import Forecast, Scored, kept_first
from lrtui.state.forecast.laws import LAWS
from lrtui.state.forecast.multipower import MultiPower

TRUE_BOUND = np.array([0.5, np.log(4.0), 0.25, np.log(0.15)])


def bound_as_written(eta: np.ndarray, t: int, tau: float) -> float:
    """The module's N at step t (0-based), term by term, the sums taken afresh for each k:
    Q/(2C) + ½ Σ_{k<t} min(1, η_k/a_k) · q_k/b_k · exp(-a_k/τ)."""
    total = eta[: t + 1].sum()
    out = (eta[: t + 1] ** 2).sum() / (2 * total)
    for k in range(t):
        a, b, q = eta[k + 1 : t + 1].sum(), eta[k : t + 1].sum(), (eta[k : t + 1] ** 2).sum()
        out += 0.5 * min(1.0, eta[k] / a) * q / b * np.exp(-a / tau)
    return out


@pytest.mark.parametrize("kind", ["cosine", "step", "wsd"])
@pytest.mark.parametrize("tau", [np.inf, 30.0])
def test_the_noise_term_is_the_formula_term_by_term(kind, tau):
    """Without the cut-off (τ = ∞) the sum is the bound of Defazio et al. (Thm. 10) but for the
    cap, which a decaying LR's last term meets (η_(t-1) > η_t)."""
    eta = schedule(kind, 600) / PEAK
    at = np.array([150, 333, 598])
    assert np.allclose(noise(eta, at, tau), [bound_as_written(eta, t, tau) for t in at], rtol=1e-9)


def test_at_a_constant_lr_the_cut_off_stops_the_bounds_log_growth():
    eta = np.ones(20_000)
    at = np.array([4_999, 9_999, 19_999])
    uncut, cut = noise(eta, at, np.inf), noise(eta, at, 300.0)
    # the bound: ½ + ½·H(t-1), up by ½·ln 2 from 10,000 to 20,000 steps
    assert uncut[2] - uncut[1] == pytest.approx(0.5 * np.log(2), rel=1e-3)
    assert abs(cut[2] - cut[1]) < 1e-6 and cut[0] == pytest.approx(cut[2], rel=1e-4)


def test_a_drop_to_zero_stands_still_and_never_blows_up():
    """The bound's η_k/a_k → ∞ right after a drop to ~0; training's loss stands still there."""
    eta = np.ones(1000)
    eta[700:] = 0.0
    at = np.array([699, 700, 850, 999])
    n = noise(eta, at, 300.0)
    assert np.all(np.isfinite(n)) and np.allclose(n[1:], n[0])
    eta[700:] = 1e-6  # nearly 0: the cap keeps the jump to what one step at the old LR adds
    assert noise(eta, at[1:2], 300.0)[0] < n[0] + 1.0  # uncapped: ½·η/a = 5e5


def test_the_law_recovers_its_parameters_and_carries_them_to_other_schedules():
    truth = ConvexBound(0.3, 300.0)
    runs = synthetic(truth, TRUE_BOUND, ["constant", "cosine"])
    fitted = fit(ConvexBound(), runs)  # κ and τ among its variants: the true ones match best
    shown = fitted.parameters()
    assert (shown["kappa"], shown["tau"]) == (0.3, 300.0)
    assert shown["L0"] == pytest.approx(0.5, rel=0.02) and shown["alpha"] == pytest.approx(0.25, rel=0.05)
    for kind in ("wsd", "linear", "step"):
        lrs = schedule(kind)
        expected = final_mean(law_curve(truth, TRUE_BOUND, lrs), lrs.size)
        assert final_mean(fitted.curve(lrs), lrs.size) == pytest.approx(expected, rel=2e-3)


def test_with_the_progress_saturating_linear_decay_can_end_below_cosine():
    """What charlm shows (README): linear decay ends below cosine. With P = S1 (κ = ∞) a law
    of this form cannot say so, as the other two laws cannot; with P saturating it can."""
    final = {}
    for kappa in (0.3, np.inf):
        law = ConvexBound(kappa, 300.0)
        final[kappa] = {
            k: final_mean(law_curve(law, TRUE_BOUND, schedule(k)), 2000) for k in ("linear", "cosine")
        }
    assert final[0.3]["linear"] < final[0.3]["cosine"]
    assert final[np.inf]["linear"] > final[np.inf]["cosine"]


def scored(law, error: float, se: float = 0.002) -> Scored:
    theta = np.zeros(len(law.params))
    return Scored(Fitted(law, theta, 1.0, (), 0.0), error, 0.95, heldout_se=se)


def test_of_laws_within_one_standard_error_the_first_in_the_order_is_kept():
    """`kept_first` takes the laws in their order of preference (the registry's)."""
    assert list(LAWS) == ["convex-bound", "annealing", "multi-power"]
    bound, power, annealing = (
        scored(ConvexBound(), 0.0215),
        scored(MultiPower(), 0.020),
        scored(Annealing(), 0.021),
    )
    assert kept_first([bound, power])[0] is bound  # 2.15% < 2.0% + 0.2%: cannot be told apart
    said = Forecast(tuple(kept_first([bound, power])), ()).why_kept  # `F` and `lrtui forecast` say it
    assert said == (
        "kept over multi-power (2.00%): within one standard error (0.20%) of it, "
        "and before it in the laws' order"
    )
    farther = scored(ConvexBound(), 0.0225)
    assert kept_first([farther, power]) == [power, farther]  # past one standard error: the smaller error
    assert Forecast((power, farther), ()).why_kept == ""
    # the rest by held-out error; a law with none is last, and with none at all, nothing is kept over
    unscored = scored(MultiPower(), float("nan"))
    assert kept_first([bound, unscored, annealing]) == [bound, annealing, unscored]
    assert kept_first([unscored]) == [unscored]
