"""What the UI knows about each run, folded from events; the widgets only read it.

State is updated on the UI thread from batches of events and marks what changed, so the
display can redraw at its own bounded rate. Memory stays bounded whatever a run's length.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

from lrtui.events import (
    CorruptLines,
    EpochEvent,
    Event,
    MarkEvent,
    PlanEvent,
    PlateauEvent,
    RunAdded,
    RunInfo,
    RunStatus,
    StatusEvent,
    StepBlock,
    StepEvent,
)
from lrtui.series import BucketSeries
from lrtui.spec import Call, ExperimentSpec, RunSpec, format_value

MAX_EPOCH_MARKS = 2000
MAX_MARKS = 500


def run_infos(exp: ExperimentSpec) -> list[RunInfo]:
    return [
        RunInfo(
            run.label,
            f"{short_params(run.scheduler)} · per {run.interval}",
            exp.total_batches,
            exp.epochs,
            exp.batches,
            str(run.scheduler),
            run_config(exp, run),
        )
        for run in exp.runs
    ]


def run_config(exp: ExperimentSpec, run: RunSpec) -> tuple[tuple[str, str], ...]:
    """Everything that decides a run's numbers, as text pairs a comparison can diff."""
    items = [("scheduler", run.scheduler.name)]
    items += [(f"scheduler.{k}", format_value(v)) for k, v in run.scheduler.kwargs]
    items += [
        ("per", run.interval),
        ("seed", str(exp.seed)),
        ("optimizer", str(exp.optimizer)),
        ("lr", f"{exp.lr:g}"),
        ("model", exp.model),
        ("task", exp.task),
        ("epochs", str(exp.epochs)),
        ("batches", str(exp.batches)),
        ("batch_size", str(exp.batch_size)),
    ]
    return tuple(items)


@dataclass(frozen=True)
class ConfigDiff:
    """What sets one run apart from the others, and what they all share."""

    differs: tuple[tuple[str, str], ...]
    shared: tuple[tuple[str, str], ...]

    def describe(self, pairs: tuple[tuple[str, str], ...]) -> str:
        return " ".join(v if k == "scheduler" else f"{k.removeprefix('scheduler.')}={v}" for k, v in pairs)


def config_diff(infos: Sequence[RunInfo], index: int) -> ConfigDiff:
    """Pairs of run `index` that not every run has, and pairs every run has."""
    configs = [set(i.config) for i in infos if i.config]
    mine = infos[index].config
    if not configs or not mine:
        return ConfigDiff(mine, ())
    common = set.intersection(*configs)
    return ConfigDiff(tuple(p for p in mine if p not in common), tuple(p for p in mine if p in common))


def short_params(call: Call) -> str:
    """Key parameters as `k=v`, nested schedules by name only, to fit a panel's line."""
    parts = []
    for key, value in call.kwargs:
        if isinstance(value, tuple) and value and all(isinstance(v, Call) for v in value):
            parts.append(f"{key}=[{', '.join(v.name for v in value)}]")
        elif isinstance(value, float):
            parts.append(f"{key}={value:g}")
        else:
            parts.append(f"{key}={format_value(value)}")
    return " ".join(parts) if parts else "defaults"


def _extend_finite(series: BucketSeries, first: int, values: Sequence[float]) -> Sequence[float]:
    """Add values for steps first, first + 1, ..., leaving out NaN and infinities (a chart has
    no place for them); return the values kept.

    A finite sum means every value is finite (a NaN or an infinity makes any sum non-finite),
    so the common case costs one pass in C instead of a test per step.
    """
    if math.isfinite(sum(values)):
        series.extend(first, values)
        return values
    finite = [v for v in values if math.isfinite(v)]
    for i, v in enumerate(values):
        if math.isfinite(v):
            series.append(first + i, v)
    return finite


@dataclass
class RunView:
    """One run as the UI sees it."""

    info: RunInfo
    gen: int = 0
    status: RunStatus = RunStatus.PENDING
    message: str = ""
    step: int = 0
    epoch: int = 0
    epochs_done: int = 0
    lr: float = math.nan
    loss: float = math.nan
    best_loss: float = math.inf
    lr_series: BucketSeries = field(default_factory=BucketSeries)
    loss_series: BucketSeries = field(default_factory=BucketSeries)
    time_series: BucketSeries = field(default_factory=BucketSeries)  # seconds since the run began
    marks: list[MarkEvent] = field(default_factory=list)
    plateau: PlateauEvent | None = None
    plan: tuple[float, ...] | None = None
    planned_marks: tuple[tuple[int, str, str], ...] = ()
    plan_interval: str = "epoch"
    plan_batches: int = 1
    epoch_ends: list[int] = field(default_factory=list)
    corrupt_lines: int = 0
    version: int = 0  # bumped on every change, so widgets redraw only what changed

    def reset(self, gen: int) -> None:
        self.gen = gen
        self.step = self.epoch = self.epochs_done = 0
        self.lr = self.loss = math.nan
        self.best_loss = math.inf
        self.lr_series = BucketSeries()
        self.loss_series = BucketSeries()
        self.time_series = BucketSeries()
        self.marks = []
        self.plateau = None
        self.plan = None
        self.planned_marks = ()
        self.epoch_ends = []
        self.message = ""

    @property
    def total_steps(self) -> int | None:
        return self.info.total_steps

    @property
    def progress(self) -> float | None:
        total = self.total_steps
        return min(1.0, self.step / total) if total else None

    def planned_lr_at(self, step: int) -> float | None:
        """The planned LR in effect during training step `step` (1-based)."""
        if self.plan is None:
            return None
        k = step - 1 if self.plan_interval == "batch" else (step - 1) // max(1, self.plan_batches)
        return self.plan[min(k, len(self.plan) - 1)]


class ExperimentState:
    """All runs, plus totals for the status bar."""

    def __init__(self, infos: Iterable[RunInfo], clock: Callable[[], float]) -> None:
        self.runs = [RunView(info) for info in infos]
        self._clock = clock
        self.started = clock()
        self.total_steps = 0
        self._rate_window: deque[tuple[float, int]] = deque(maxlen=64)
        self.corrupt_lines = 0
        self._finished_at: float | None = None

    def apply(self, events: Iterable[Event]) -> None:
        for ev in events:
            if isinstance(ev, RunAdded):
                self._add(ev)
                continue
            if ev.run >= len(self.runs):
                continue
            run = self.runs[ev.run]
            if ev.gen < run.gen:
                continue  # from before a restart
            if ev.gen > run.gen:
                run.reset(ev.gen)
            if isinstance(ev, StepBlock):
                self._block(run, ev)
            elif isinstance(ev, StepEvent):
                self._block(run, StepBlock.of(ev))
            elif isinstance(ev, EpochEvent):
                run.epochs_done = ev.epoch
                if len(run.epoch_ends) < MAX_EPOCH_MARKS:
                    run.epoch_ends.append(ev.step)
            elif isinstance(ev, StatusEvent):
                run.status = ev.status
                run.message = ev.message
            elif isinstance(ev, CorruptLines):
                run.corrupt_lines += ev.count
                self.corrupt_lines += ev.count
            elif isinstance(ev, PlanEvent):
                run.plan = ev.lrs
                run.plan_interval = ev.interval
                run.plan_batches = ev.batches
                run.planned_marks = ev.marks
            elif isinstance(ev, MarkEvent):
                if len(run.marks) < MAX_MARKS:
                    run.marks.append(ev)
            elif isinstance(ev, PlateauEvent):
                run.plateau = ev
            run.version += 1
        self._rate_window.append((self._clock(), self.total_steps))
        finished = self.overall() == "finished"
        if finished and self._finished_at is None:
            self._finished_at = self._clock()
        elif not finished:
            self._finished_at = None  # restarted

    def _add(self, ev: RunAdded) -> None:
        while len(self.runs) <= ev.run:
            self.runs.append(RunView(RunInfo(f"run {len(self.runs) + 1}")))
        self.runs[ev.run].info = ev.info
        self.runs[ev.run].version += 1

    def _block(self, run: RunView, ev: StepBlock) -> None:
        """Steps, column-wise, so the UI's cost does not grow with training speed.

        Steps already seen (a re-read file) are skipped: a run's history only grows.
        """
        skip = max(0, run.step - ev.first_step + 1)
        losses = ev.losses[skip:]
        if not losses:
            return
        first = ev.first_step + skip
        try:
            lrs = list(map(itemgetter(0), ev.lrs[skip:]))
        except IndexError:  # a step recorded without an LR
            lrs = [lr[0] if lr else math.nan for lr in ev.lrs[skip:]]
        run.step, run.epoch = first + len(losses) - 1, ev.epochs[-1]
        run.lr, run.loss = lrs[-1], losses[-1]
        finite = _extend_finite(run.loss_series, first, losses)
        if finite:
            run.best_loss = min(run.best_loss, min(finite))
        _extend_finite(run.lr_series, first, lrs)
        _extend_finite(run.time_series, first, ev.times[skip:])
        self.total_steps += len(losses)
        if run.status is RunStatus.PENDING:
            run.status = RunStatus.RUNNING

    def expect_toggle(self, run: int | None) -> None:
        """Show a pause or resume at once, before the source confirms it.

        Same rule as the sources: if any of the runs is running, the running ones pause;
        otherwise the paused ones resume. Finished runs never change.
        """
        runs = self.runs if run is None else self.runs[run : run + 1]
        if any(r.status is RunStatus.RUNNING for r in runs):
            before, after = RunStatus.RUNNING, RunStatus.PAUSED
        else:
            before, after = RunStatus.PAUSED, RunStatus.RUNNING
        for r in runs:
            if r.status is before:
                r.status = after
                r.version += 1

    # ---- for the status bar -------------------------------------------------------------
    def steps_per_second(self) -> float:
        """Run-steps per second over the last few seconds of updates."""
        now = self._clock()
        window = [(t, n) for t, n in self._rate_window if now - t <= 3.0]
        if len(window) < 2 or window[-1][0] <= window[0][0]:
            return 0.0
        (t0, n0), (t1, n1) = window[0], window[-1]
        return (n1 - n0) / (t1 - t0)

    def elapsed(self) -> float:
        """Wall time since the start, stopped when every run has finished."""
        end = self._finished_at if self._finished_at is not None else self._clock()
        return end - self.started

    def overall(self) -> str:
        """running, paused, finished or waiting, judged from every run."""
        statuses = {r.status for r in self.runs}
        if statuses & {RunStatus.RUNNING}:
            return "running"
        if RunStatus.PAUSED in statuses:
            return "paused"
        if statuses and all(s.finished for s in statuses):
            return "finished"
        return "waiting"

    def history_bytes(self) -> int:
        return sum(r.lr_series.nbytes() + r.loss_series.nbytes() + r.time_series.nbytes() for r in self.runs)
