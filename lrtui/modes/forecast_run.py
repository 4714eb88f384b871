"""`lrtui forecast`'s run: the forecast made (`modes.forecast`), the suggestion searched, and
the answer written where it was asked for (`modes.forecast_print`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from lrtui.modes.forecast import Request, Row, run, setup_of
from lrtui.modes.forecast_print import Printed, write_csv, write_json, write_text
from lrtui.spec.describe import train_command
from lrtui.spec.errors import SpecError
from lrtui.state.forecast.curves import RunCurve
from lrtui.state.forecast.heldout import Forecast
from lrtui.state.forecast.suggest import Suggested, for_runs


def suggestion(
    result: Forecast, fitted: Sequence[RunCurve], request: Request, warmup: int | None
) -> Suggested:
    """The law's best schedule at --steps (default: the runs' longest), warmed up as the runs
    were (`suggest.for_runs`). Refused while the fit is not trusted, as the app refuses `N`:
    a law that misses its own held-out steps would only suggest what it gets wrong."""
    best = result.best
    assert best is not None
    if result.why_not:
        raise SpecError(f"no suggestion: the fit is not trusted ({result.why_not})")
    steps = request.steps or max(c.seen for c in fitted)
    if warmup is not None and warmup >= steps:
        raise SpecError(f"--warmup {warmup:,}: must be shorter than the suggestion's {steps:,} steps")
    return for_runs(best.fitted, fitted, steps, warmup, request.lr)


def run_forecast(request: Request, warmup: int | None, csv_out: str | None, as_json: bool) -> int:
    result, rows, fitted = run(request)
    suggested = suggestion(result, fitted, request, warmup) if request.suggest else None
    if csv_out is not None:
        if csv_out == "-":
            write_csv(rows, sys.stdout, suggested)
            return 0
        with open(csv_out, "w", encoding="utf-8", newline="") as f:
            count = write_csv(rows, f, suggested)
        print(f"lrtui: wrote {count} rows to {csv_out}", file=sys.stderr)
    command = None
    if suggested is not None:
        setup = setup_of(request.path, request.options, suggested.curve.size)
        command = train_command(suggested.spec, setup)
    printed = Printed(result, rows, suggested, command)
    if as_json:
        write_json(printed, sys.stdout)
    elif csv_out is None or csv_out != "-":
        write_text(printed, sys.stdout)
    return 0


def final_rows(rows: Sequence[Row]) -> dict[str, float]:
    """Each row's predicted final, for a caller comparing forecasts (the benchmark)."""
    return {
        r.run: float(r.predicted_final)
        for r in rows
        if r.predicted_final is not None and np.isfinite(r.predicted_final)
    }
