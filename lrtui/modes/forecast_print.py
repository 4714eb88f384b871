"""What `lrtui forecast` prints: the table (a terminal or a pipe alike), `--json`, `--csv`, and
the suggested schedule.

`--json`: {"law", "parameters", "heldout_error", "heldout_r2", "laws": {name: {heldout_error,
heldout_se, heldout_r2}}, "why_kept", "fit_seconds", "runs": [{"run", "fitted",
"observed_final", "predicted_final", "error", "band"}], "skipped": [{"run", "why"}],
"suggested"?: {"spec", "predicted_final", "command"}}; a run's band is ± of its predicted
final, relative: the held-out error, or where wider how far an as-good law puts that final
(`heldout.Forecast.band`).
`--csv`: step,run,predicted_loss for every step a law predicts (not the warm-up's).
"""

from __future__ import annotations

import csv
import json
import math
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from lrtui.modes.forecast import Row
from lrtui.spec.text import clean
from lrtui.state.forecast.heldout import Forecast
from lrtui.state.forecast.suggest import Suggested

MARKERS = "•+xo*#@%"  # a line each, told apart without colour; the suggestion's is last


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


@dataclass(frozen=True)
class Printed:
    """What `lrtui forecast` prints: the forecast, its rows, and the suggestion (where asked)
    with the command that trains it as the runs were."""

    result: Forecast
    rows: Sequence[Row]
    suggested: Suggested | None = None
    command: str | None = None


def as_json(printed: Printed) -> dict:
    result, rows, suggested, command = printed.result, printed.rows, printed.suggested, printed.command
    best = result.best
    assert best is not None
    out: dict = {
        "law": best.fitted.law.name,
        "parameters": {k: _num(v) for k, v in best.fitted.parameters().items()},
        "lr_scale": best.fitted.scale,
        "heldout_error": _num(best.heldout_error),
        "heldout_r2": _num(best.heldout_r2),
        "trusted": not result.why_not,
        "laws": {
            s.fitted.law.name: {
                "heldout_error": _num(s.heldout_error),
                "heldout_se": _num(s.heldout_se),
                "heldout_r2": _num(s.heldout_r2),
            }
            for s in result.scored
        },
        "why_kept": result.why_kept,
        "fit_seconds": round(sum(s.fitted.seconds for s in result.scored), 3),
        "runs": [
            {
                "run": r.run,
                "fitted": r.fitted,
                "observed_final": _num(r.observed_final),
                "predicted_final": _num(r.predicted_final),
                "error": _num(r.error),
                "band": _num(r.band),
            }
            for r in rows
        ],
        "skipped": [{"run": run, "why": why} for run, why in result.skipped],
    }
    if suggested is not None:
        out["suggested"] = {"spec": suggested.spec, "predicted_final": _num(suggested.predicted_final)}
        if command is not None:
            out["suggested"]["command"] = command
    return out


def write_json(printed: Printed, out: TextIO) -> None:
    out.write(json.dumps(as_json(printed), indent=2) + "\n")


def write_csv(rows: Sequence[Row], out: TextIO, suggested: Suggested | None = None) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step", "run", "predicted_loss"])
    count = 0
    series = [(r.run, r.predicted) for r in rows]
    if suggested is not None:
        series.append(("suggested", suggested.curve))
    for name, predicted in series:
        for step in np.flatnonzero(np.isfinite(predicted)):
            writer.writerow([int(step) + 1, name, f"{predicted[step]:.6g}"])
            count += 1
    return count


def _pct(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{100 * value:+.2f}%"


def _band(value: float | None) -> str:
    """A band as ±x%; past ±100% the laws part by more than the loss itself (a schedule far
    longer than the runs fitted, a shape none of them has), so no number is said."""
    if value is not None and math.isfinite(value) and value >= 1:
        return "±>100%"
    return _pct(value).replace("+", "±")


def _loss(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.4f}"


def write_text(printed: Printed, out: TextIO) -> None:
    result, rows, suggested, command = printed.result, printed.rows, printed.suggested, printed.command
    best = result.best
    assert best is not None
    laws = "; ".join(
        f"{s.fitted.law.name} {_pct(s.heldout_error).lstrip('+')} (R² {s.heldout_r2:.3f})"
        for s in result.scored
    )
    out.write(f"law: {best.fitted.law.name} · held-out error (last 20% of steps): {laws}\n")
    if result.why_kept:
        out.write(f"{best.fitted.law.name} {result.why_kept}\n")
    params = ", ".join(f"{k}={v:.4g}" for k, v in best.fitted.parameters().items())
    out.write(f"parameters (LR in units of {best.fitted.scale:g}): {params}\n")
    if result.why_not:
        out.write(f"no forecast yet ({result.why_not}): the numbers below are not to be trusted\n")
    table = [("run", "fitted", "steps", "observed final", "predicted final", "± band", "error")]
    for r in rows:
        band = _band(r.band)
        table.append((clean(r.run, 80), "yes" if r.fitted else "no", f"{r.steps:,}", _loss(r.observed_final),
                      _loss(r.predicted_final), band, _pct(r.error)))  # fmt: skip
    widths = [max(len(row[c]) for row in table) for c in range(7)]
    for row in table:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")
    for run, why in result.skipped:
        out.write(f"not fitted: {clean(run, 80)} ({why})\n")
    if suggested is not None:
        out.write(
            f"suggested ({suggested.curve.size:,} steps, predicted final {suggested.predicted_final:.4f}; "
            "a shape no run has trained: how far off the law is there shows only once it is trained):\n"
        )
        out.write(f"  {command or shlex.join(['lrtui', '-s', suggested.spec])}\n")
        write_chart(rows, suggested, out)


def write_chart(rows: Sequence[Row], suggested: Suggested, out: TextIO, width: int = 100) -> None:
    """The suggestion beside the runs, as plain text (plotext, no colour: each line its own
    marker): the LR of every run and of the suggestion over the steps, then the loss the law
    predicts for each."""
    import plotext as plt

    series = [(clean(r.run, 40), r.lrs, r.predicted) for r in rows if r.lrs.size]
    series.append(("suggested", suggested.lrs, suggested.curve))
    for what, pick in (("LR", 1), ("predicted loss", 2)):
        plt.clear_figure()
        plt.theme("clear")
        plt.plotsize(width, 16)
        for i, item in enumerate(series):
            values = np.asarray(item[pick], dtype=float)
            xs = np.unique(np.linspace(0, values.size - 1, min(values.size, 2 * width)).astype(int))
            xs = xs[np.isfinite(values[xs])]
            if xs.size:
                plt.plot(
                    (xs + 1).tolist(), values[xs].tolist(), label=item[0], marker=MARKERS[i % len(MARKERS)]
                )
        plt.title(f"{what}: the runs and the suggested schedule")
        plt.xlabel("training step")
        out.write(re.sub(r"\x1b\[[0-9;]*m", "", plt.build()) + "\n")
