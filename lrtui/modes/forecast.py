"""`lrtui forecast LOGDIR`: each recorded run's final loss as a law fitted on the runs predicts
it, schedules never trained predicted too, and the schedule the law likes best.

Runs are read through the log readers (`record.readers`: lrtui's JSON Lines, TensorBoard), as
`lrtui export` reads them; the fit is `state.forecast`'s. Only `-s SPEC` needs torch (the
schedule layer plans the spec's LR), imported then and not before.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lrtui.record.export import Exported, ExportError, input_files
from lrtui.record.readers import ReadOptions
from lrtui.spec.errors import SpecError
from lrtui.spec.events import Event, RunAdded, RunInfo
from lrtui.state.forecast.curves import RunCurve, final_mean, warmup_end
from lrtui.state.forecast.heldout import Forecast, forecast

# The longest -s/--suggest forecast: the schedule layer's own cap (`schedule.plan.MAX_PLAN`, not
# imported: it would bring torch). Planning is torch stepping a scheduler once a step, so
# 2,000,000 steps took 2.6 minutes on this machine; 200,000 take seconds.
MAX_STEPS = 200_000


@dataclass
class Request:
    """What `lrtui forecast` was asked, checked by the command."""

    path: Path
    fit: list[str] = field(default_factory=list)  # runs to fit on (all when empty)
    specs: list[str] = field(default_factory=list)  # schedules to predict, as given
    steps: int | None = None
    lr: float | None = None
    batches_per_epoch: int | None = None  # -s specs that step once an epoch (default: the runs')
    suggest: bool = False
    options: ReadOptions = field(default_factory=ReadOptions)


@dataclass(frozen=True)
class Row:
    """One run or schedule of the table."""

    run: str
    fitted: bool
    steps: int
    observed_final: float | None
    predicted_final: float | None
    predicted: np.ndarray  # the predicted loss of every step (NaN: warm-up, or no forecast)
    lrs: np.ndarray = field(default_factory=lambda: np.array([]))  # its LR of every step
    band: float | None = None  # ± of the predicted final, relative (`heldout.Forecast.band`)

    @property
    def error(self) -> float | None:
        """predicted / observed - 1, or None where either is missing."""
        if self.observed_final is None or self.predicted_final is None:
            return None
        return self.predicted_final / self.observed_final - 1


def read_curves(path: Path, options: ReadOptions) -> list[RunCurve]:
    """Every run under `path` (or the one it names), its LR carried forward over steps it did
    not log and its loss NaN there; a run with no LR at all has an empty schedule. Two runs
    called the same (two MLflow runs `step-a`) are told apart as `watch` does: `step-a #2`."""
    curves = []
    try:
        logs = input_files(path)
    except ExportError as exc:
        raise SpecError(str(exc)) from None
    for log in logs:
        text = "".join(log.reader.rows(log.path, options, Exported()))
        by_run: dict[str, dict[int, tuple[str, str]]] = {}
        for row in csv.reader(io.StringIO(text)):
            if len(row) >= 5 and row[1].isdigit():
                by_run.setdefault(row[0], {})[int(row[1])] = (row[3], row[4])
        curves += [_curve(name, steps) for name, steps in by_run.items()]
    return unique(curves)


def unique(curves: Sequence[RunCurve]) -> list[RunCurve]:
    """The runs, a name met again numbered from 2 (`name #2`), so each can be named by `--fit`."""
    taken: set[str] = set()
    out = []
    for c in curves:
        name, n = c.name, 2
        while name in taken:
            name, n = f"{c.name} #{n}", n + 1
        taken.add(name)
        out.append(c if name == c.name else RunCurve(name, c.lrs, c.losses))
    return out


def recorded_infos(path: Path, options: ReadOptions) -> list[RunInfo]:
    """What each run under `path` says of itself (lrtui's logs: their header), from each run's
    first read only."""
    found = []
    for log in input_files(path):
        events: list[Event] = []
        log.reader.tail(log.path, 0, options).read(events)
        found += [e.info for e in events if isinstance(e, RunAdded)]
    return found


def recorded_batches(path: Path, options: ReadOptions) -> set[int]:
    """The batches an epoch that the runs under `path` recorded: the default of
    `--batches-per-epoch`."""
    return {info.batches for info in recorded_infos(path, options) if info.batches}


def setup_of(path: Path, options: ReadOptions, steps: int) -> dict[str, str]:
    """The first run's setup (`describe.run_config`: task, optimizer, LR, ...) for the command
    that trains a suggestion of `steps` steps as the runs were: its length made `steps`
    (epochs of the runs' batches where they divide it, else one epoch of `steps`)."""
    infos = recorded_infos(path, options)
    config = dict(infos[0].config) if infos else {}
    batches = int(config.get("batches", "0") or 0)
    if "epochs" in config or "batches" in config:
        whole = batches > 0 and steps % batches == 0
        config["epochs"], config["batches"] = (
            (str(steps // batches), str(batches)) if whole else ("1", str(steps))
        )
    return config


def _curve(name: str, steps: dict[int, tuple[str, str]]) -> RunCurve:
    """A run from its logged steps. The LR of a step not logged is the last one logged before
    it, and before the first logged step the first logged LR: a log written every k steps
    (Hugging Face from step k, Lightning's CSV, JSONL every 5 steps) starts past step 1, and
    the steps before it trained, at an LR the log never said; the first one said is the best
    guess, and the laws only fit after the warm-up and the first tenth of the steps anyway."""
    last = max(steps)
    lrs, losses = np.full(last, np.nan), np.full(last, np.nan)
    for step, (lr, loss) in steps.items():
        if step >= 1:
            lrs[step - 1] = _number(lr)
            losses[step - 1] = _number(loss)
    if np.isfinite(lrs).any():
        filled = np.where(np.isfinite(lrs), np.arange(last), 0)
        first = int(np.argmax(np.isfinite(lrs)))
        lrs = lrs[np.maximum.accumulate(filled)]  # carried forward
        lrs[:first] = lrs[first]  # and back, before the first step logged
    else:
        lrs = np.array([])
    return RunCurve(name, lrs, losses if lrs.size else np.array([]))


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def planned(specs: Sequence[str], steps: int, lr: float, batches: int | None = None) -> list[RunCurve]:
    """Each spec's LR over `steps` training steps (batches), planned by the schedule layer
    (torch). A per-batch spec (`@batch`) steps every step; a per-epoch one once every
    `batches` steps (`--batches-per-epoch`), which must then be given: stepping it every
    batch would forecast a schedule `batches` times faster than the one it trains."""
    from lrtui.modes.config import build_experiment
    from lrtui.schedule.plan import plan, step_lrs
    from lrtui.schedule.registry import uses_metric
    from lrtui.spec.settings import Settings, parse_scheduler_flag

    per = batches or 1
    settings = Settings(runs=[parse_scheduler_flag(s) for s in specs], epochs=-(-steps // per), batches=per,
                        lr=lr, device="cpu")  # fmt: skip
    exp = build_experiment(settings)
    out = []
    for text, run in zip(specs, exp.runs, strict=True):
        if uses_metric(run.scheduler):
            raise SpecError(f"-s {text}: follows the loss, so it has no planned LR to forecast from")
        if run.interval != "batch" and batches is None:
            raise SpecError(f"-s {text}: steps once an epoch; say how many batches an epoch has with "
                            f"--batches-per-epoch B (or write it per batch: {text}@batch)")  # fmt: skip
        made = plan(run, exp, max_steps=exp.total_batches)  # `steps` ≤ MAX_STEPS, checked by the command
        if made is None:  # not expected: it follows no loss and is as long as it was asked
            raise SpecError(f"-s {text}: could not be planned over {steps:,} steps")
        lrs = np.asarray(step_lrs(made, run, exp))[:steps]
        out.append(RunCurve(text, lrs, np.full(steps, np.nan)))
    return out


def rows(result: Forecast, fitted: Sequence[RunCurve], others: Sequence[RunCurve]) -> list[Row]:
    """A row per run fitted and per run or schedule predicted."""
    best = result.best
    out = []
    for run, was_fitted in [(r, True) for r in fitted] + [(r, False) for r in others]:
        steps = run.lrs.size
        seen = run.seen
        observed = final_mean(run.losses, seen) if seen else None
        if best is None or run.lrs.size == 0 or steps - warmup_end(run.lrs) < 2:
            out.append(Row(run.name, was_fitted, steps, observed, None, np.full(steps, np.nan), run.lrs))
            continue
        predicted = best.fitted.curve(run.lrs)
        # a run's final is over the steps it was trained (with the difficulty of the batches
        # it shared with the fitted runs, as its observed final has); a schedule's over its plan
        final = best.fitted.final(run.lrs, seen or steps, run.losses if seen else None)
        band = result.band(run.lrs, seen or steps, run.losses if seen else None, unseen=not was_fitted)
        out.append(Row(run.name, was_fitted, seen or steps, observed, final, predicted, run.lrs, band))
    return out


def split(curves: Sequence[RunCurve], names: Sequence[str]) -> tuple[list[RunCurve], list[RunCurve]]:
    """(runs to fit, runs to predict): the runs named, or every run when none is."""
    if not names:
        return list(curves), []
    known = {c.name for c in curves}
    if len(set(names)) < len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise SpecError(f"--fit {twice}: named twice")
    missing = [n for n in names if n not in known]
    if missing:
        raise SpecError(f"--fit {missing[0]}: no such run here (runs: {', '.join(sorted(known))})")
    return [c for c in curves if c.name in names], [c for c in curves if c.name not in names]


def run(request: Request) -> tuple[Forecast, list[Row], list[RunCurve]]:
    """Read, fit, predict: the forecast, its rows, and the runs it was fitted on."""
    curves = read_curves(request.path, request.options)
    if not curves:
        raise SpecError(
            f"{request.path}: no run that logs an LR and a loss here (lrtui forecast reads a "
            "folder of runs, or one run's log)"
        )
    to_fit, others = split(curves, request.fit)
    result = forecast(to_fit)
    if result.best is None:
        raise SpecError(f"no run here can be fitted: {result.why_not}")
    if request.specs:
        peak = request.lr or max(float(np.nanmax(c.lrs)) for c in to_fit if c.lrs.size)
        steps = request.steps or max(c.seen for c in to_fit)
        batches = request.batches_per_epoch
        if batches is None and len(found := recorded_batches(request.path, request.options)) == 1:
            batches = found.pop()  # every run recorded the same: the default
        others = others + planned(request.specs, steps, peak, batches)
    skipped = {name for name, _ in result.skipped}
    fitted = [c for c in to_fit if c.name not in skipped]
    return result, rows(result, fitted, others), fitted
