"""The forecast while runs train: refitted on a thread of its own as the runs progress, never
in the caller's way, and handed out only once it can be trusted.

The caller (the app, once a second) asks `tick(views)`: when the runs have trained a tenth more
steps since the last fit (and at least `MIN_NEW_STEPS`), or none is running any more (finished,
paused: the steps since are fitted at once, not after 10% more that may never come), and no fit
is running, it snapshots
each run (its planned LR for every step, its loss as the display history's column means) and
starts a fit on a daemon thread. The thread's answer replaces `latest` in one assignment, so
the caller reads either the old answer or the new, never half of one. Once the fit is trusted,
the schedule it likes best is searched on the same thread and handed out the same way, the
answer's copy with `suggested` set (the forecast is not held up by the search).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from lrtui.spec.events import RunStatus
from lrtui.state.forecast.curves import RunCurve
from lrtui.state.forecast.fit import ForecastError
from lrtui.state.forecast.heldout import Forecast, forecast
from lrtui.state.forecast.suggest import Suggested, for_runs
from lrtui.state.runlike import RunLike

MIN_NEW_STEPS = 200
GROWTH = 1.1  # refit once the runs have trained 10% more steps
COLUMNS = 512  # the loss is read from the display history in this many columns at most


def curve_of(v: RunLike) -> RunCurve | None:
    """A run as the forecaster sees it: its planned LR over its whole length, or where it has
    no plan (a log read back, a schedule that follows the loss) the LR it trained with, each
    display column's mean over the column's steps, so only the steps trained are predicted.
    None before its first step."""
    if v.step < 1:
        return None
    total = v.total_steps if v.plan is not None and v.total_steps else v.step
    if v.plan is not None:
        lrs = np.array([v.planned_lr_at(step) for step in range(1, total + 1)], dtype=float)
    else:
        lrs = np.full(total, np.nan)
        for col in v.lr_series.columns(min(total, COLUMNS), until=total):
            if col is not None:
                lrs[col.first - 1 : col.last] = col.mean
    losses = np.full(total, np.nan)
    for col in v.loss_series.columns(min(v.step, COLUMNS), until=v.step):
        if col is not None and np.isfinite(col.mean) and col.last <= total:
            losses[(col.first + col.last) // 2 - 1] = col.mean
    return RunCurve(v.info.label, lrs, losses)


@dataclass(frozen=True)
class Answer:
    """One fit's outcome: the forecast (None: failed, `why` says so) and each run's predicted
    loss at every step of its plan, by run label."""

    result: Forecast | None
    predicted: dict[str, np.ndarray] = field(default_factory=dict)
    why: str = ""
    steps: int = 0  # the steps trained, summed over the runs, when it was fitted
    seen: dict[str, int] = field(default_factory=dict)  # each run's steps trained then, by label
    suggested: Suggested | None = None  # the law's best schedule for the runs' length, once trusted
    bands: dict[str, float] = field(default_factory=dict)  # each run's band (`Forecast.band`), by label


def _lengths(answer: Answer, runs: Sequence[str]) -> str:
    """ "3 runs, 2,000 steps each", or each run's own count where they differ."""
    counts = [answer.seen.get(run, 0) for run in runs]
    if len(set(counts)) == 1:
        each = "" if len(runs) == 1 else " each"
        return f"{len(runs)} run{'s' if len(runs) > 1 else ''}, {counts[0]:,} steps{each}"
    return "steps: " + ", ".join(f"{run} {n:,}" for run, n in zip(runs, counts, strict=True))


@dataclass
class LiveForecast:
    enabled: bool = True  # off: never fits (replayed pictures that must not depend on a thread)
    latest: Answer | None = None
    _running: threading.Thread | None = None
    _asked_at: int = 0
    _waiting: str = f"fewer than {MIN_NEW_STEPS} steps"  # why no fit has started yet

    def tick(self, views: Sequence[RunLike]) -> bool:
        """Start a fit if one is due; whether one was started. Returns at once."""
        trained = sum(v.step for v in views)
        if not self.enabled:
            self._waiting = "off"
            return False
        if self._running is not None and self._running.is_alive():
            return False
        settled = trained > self._asked_at and not any(v.status is RunStatus.RUNNING for v in views)
        due = (
            trained >= max(MIN_NEW_STEPS, self._asked_at * GROWTH)
            and trained - self._asked_at >= MIN_NEW_STEPS
        )
        if not (due or (settled and trained >= MIN_NEW_STEPS)):
            return False
        curves = [c for v in views if (c := curve_of(v)) is not None]
        if not curves:
            self._waiting = "no run has trained a step"
            return False
        self._asked_at = trained
        self._running = threading.Thread(
            target=self._fit,
            args=(curves, trained, {v.info.label: v.step for v in views}),
            daemon=True,
            name="lrtui-forecast",  # in `commands.main.COMPUTING`: not finalized under
        )
        self._running.start()
        return True

    def _fit(self, curves: list[RunCurve], trained: int, seen: dict[str, int]) -> None:
        try:
            result = forecast(curves)
        except ForecastError as exc:
            self.latest = Answer(None, why=str(exc), steps=trained)
            return
        best = result.best
        predicted = {c.name: best.fitted.curve(c.lrs) for c in curves} if best is not None else {}
        fitted = best.fitted.runs if best is not None else ()
        bands = {c.name: result.band(c.lrs, unseen=c.name not in fitted) for c in curves} if best else {}
        self.latest = answer = Answer(result, predicted, result.why_not, trained, seen, bands=bands)
        planned = [c for c in curves if np.all(np.isfinite(c.lrs))]
        if best is not None and planned and not result.why_not:  # then the suggestion (seconds)
            self.latest = replace(answer, suggested=for_runs(best.fitted, planned))

    def trusted(self, label: str) -> np.ndarray | None:
        """The predicted loss of every step of a run, once the forecast is trusted; else None."""
        answer = self.latest
        if answer is None or answer.result is None or answer.why:
            return None
        return answer.predicted.get(label)

    def band(self) -> float:
        """The trusted forecast's band, relative: its held-out error (0 without one)."""
        answer = self.latest
        best = answer.result.best if answer is not None and answer.result is not None else None
        return float(best.heldout_error) if best is not None and not answer.why else 0.0

    def band_of(self, label: str) -> float:
        """One run's band, relative: `band()`, or wider where the laws part on its final."""
        answer = self.latest
        own = answer.bands.get(label, float("nan")) if answer is not None else float("nan")
        return max(self.band(), own) if np.isfinite(own) else self.band()

    def describe(self) -> list[str]:
        """The fit as people read it: law, parameters, held-out error; or why there is none."""
        answer = self.latest
        if answer is None:
            running = self._running is not None and self._running.is_alive()
            return [f"no forecast yet ({'fitting' if running else self._waiting})"]
        if answer.result is None or answer.result.best is None:
            return [f"no forecast yet ({answer.why or 'no run can be fitted'})"]
        best = answer.result.best
        runs = best.fitted.runs
        lines = [f"law: {best.fitted.law.name}, fitted on {', '.join(runs)} ({_lengths(answer, runs)})"]
        lines.append(", ".join(f"{k}={v:.4g}" for k, v in best.fitted.parameters().items()))
        if np.isfinite(best.heldout_error):  # else not scored: the last line says why
            error, r2 = 100 * best.heldout_error, best.heldout_r2
            lines.append(f"held-out error {error:.2f}%, R² {r2:.3f} (last 20% of steps)")
        if answer.result.why_kept:
            lines.append(answer.result.why_kept)
        if answer.why:
            lines.append(f"no forecast yet ({answer.why})")
        return lines
