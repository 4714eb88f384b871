"""The runs ranked by where they will end: an unfinished run by its forecast final loss ± a
band, a finished run by its observed final; and which neighbours cannot be told apart.

Forecast final: the mean of the predicted loss over the last 5% of the run's planned steps.
Band: ± the held-out error (the mean relative error of the fit on the first 80% of the steps
seen, over the last 20%) of that final: how far off the law was on steps it had not seen; or,
where wider, how far the other law (as good on those steps) puts the run's final from it
(`heldout.Forecast.band`: schedules the runs do not decide are not ranked as if they did). A
finished run's final is observed (the same mean over its own last 5%), its band 0.
Two neighbours whose bands overlap (|f1 - f2| < b1 + b2) cannot be told apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from lrtui.spec.events import RunStatus
from lrtui.state.forecast.curves import final_mean
from lrtui.state.forecast.live import Answer
from lrtui.state.runlike import RunLike

HEAD = "forecast final ± band"  # the leaderboard's column


@dataclass(frozen=True)
class Forecasted:
    label: str
    final: float
    band: float
    apart_from_next: bool  # False: its band overlaps the next run's
    finished: bool = False  # its final is observed, not forecast


def standings(answer: Answer | None, finished: Mapping[str, float] | None = None) -> list[Forecasted]:
    """Every run, lowest final first: finished ones (`finished`: label -> observed final, NaN
    for one that diverged: left out) by that, the others by their forecast; [] when the
    forecast is not trusted."""
    if answer is None or answer.result is None or answer.why or answer.result.best is None:
        return []
    error = abs(answer.result.best.heldout_error)
    done = finished or {}  # a finished run without a final (diverged) is not ranked
    rows = [(final, 0.0, label, True) for label, final in done.items() if math.isfinite(final)]
    for label, predicted in answer.predicted.items():
        final = final_mean(predicted, predicted.size)
        if label not in done and math.isfinite(final):
            band = answer.bands.get(label, error)  # wider than the error where the laws part
            rows.append((final, (band if math.isfinite(band) else error) * final, label, False))
    rows.sort()
    out = []
    for i, (final, band, label, was_done) in enumerate(rows):
        nxt = rows[i + 1] if i + 1 < len(rows) else (math.inf, 0.0)
        out.append(Forecasted(label, final, band, nxt[0] - final >= band + nxt[1], was_done))
    return out


def ended(run: RunLike) -> bool:
    """Whether a run's final is its observed one: it has finished, and not by a stop before
    its plan's end (that one's final is still the forecast's)."""
    if not run.status.finished:
        return False
    return not (run.status is RunStatus.STOPPED and run.total_steps and run.step < run.total_steps)


def cells(rows: list[Forecasted]) -> dict[str, str]:
    """The leaderboard column's cell of each run: its final ± band and its place, `=` where it
    cannot be told apart from a neighbour; a finished run's final is marked observed."""
    out = {}
    for i, r in enumerate(rows):
        tied = not r.apart_from_next or (i > 0 and not rows[i - 1].apart_from_next)
        place = f"({i + 1}{'=' if tied else ''})"
        value = f"{r.final:.4f} observed" if r.finished else f"{r.final:.4f} ± {r.band:.4f}"
        out[r.label] = f"{value} {place}"
    return out


def lines(answer: Answer | None, finished: Mapping[str, float] | None = None) -> list[str]:
    """The ranking as text lines for the leaderboard, or why there is none."""
    rows = standings(answer, finished)
    if not rows:
        why = "fewer steps than a fit needs" if answer is None else answer.why or "no run can be fitted"
        return [f"forecast final: no forecast yet ({why})"]
    out = [
        "forecast final ± band (held-out error, or the laws' spread), where each run will end"
        " (finished: observed):"
    ]
    for i, r in enumerate(rows, 1):
        tie = "" if r.apart_from_next or i == len(rows) else f"  (cannot be told apart from #{i + 1})"
        value = f"{r.final:.4f} observed" if r.finished else f"{r.final:.4f} ± {r.band:.4f}"
        out.append(f"  {i}. {r.label}  {value}{tie}")
    return out
