"""What the UI knows about each run, folded from events; the widgets only read it.

State is updated on the UI thread from batches of events and marks what changed, so the
display can redraw at its own bounded rate. Memory stays bounded whatever a run's length.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from operator import itemgetter

from lrtui.spec.commands import Verb, toggle_verb
from lrtui.spec.events import (
    MAX_MARKS,
    CorruptLines,
    EpochEvent,
    EvalEvent,
    Event,
    Fatal,
    MarkEvent,
    Notice,
    PlanEvent,
    PlateauEvent,
    RunAdded,
    RunInfo,
    RunStatus,
    ScalarBlock,
    StatusEvent,
    StepBlock,
    StepEvent,
    SystemFigures,
)
from lrtui.spec.numbers import all_finite, is_finite
from lrtui.state.runlike import RunLike
from lrtui.state.runview import RunView, StepHistory
from lrtui.state.series import BucketSeries

MAX_EPOCH_MARKS = 2000
MAX_SCALAR_TAGS = 64  # other scalars kept per run


def _extend_finite(series: BucketSeries, first: int, values: Sequence[float]) -> Sequence[float]:
    """Add values for steps first, first + 1, ..., leaving out NaN and infinities (a chart has
    no place for them); return the values kept. The common case, all finite, costs one pass."""
    if all_finite(values):
        series.extend(first, values)
        return values
    finite = [v for v in values if is_finite(v)]
    for i, v in enumerate(values):
        if is_finite(v):
            series.append(first + i, v)
    return finite


class ExperimentState:
    """All runs, plus totals for the status bar."""

    def __init__(self, infos: Iterable[RunInfo], clock: Callable[[], float]) -> None:
        self.runs = [RunView(info) for info in infos]
        self._clock = clock
        self.started = clock()
        self.total_steps = 0
        self._rate_window: deque[tuple[float, int]] = deque(maxlen=64)
        self.corrupt_lines = 0
        self.notice = ""  # the source's own trouble, for the status bar
        self.fatal = ""  # why the source could not go on at all (`Fatal`)
        self.machines: dict[str, SystemFigures] = {}
        self._finished_at: float | None = None
        self._progress_at = self.started  # the last step or change of state heard of
        # `groups.views`: the views and the runs behind each, built once per set of runs
        self.view_cache: tuple[int, list[RunLike], list[list[int]]] = (-1, [], [])
        self._keep_steps = False

    def keep_steps(self) -> None:
        """Keep every step's LR and loss in each run's `history` from now on, for a caller that
        wants the whole curves back (`lrtui.compare`); the app's own views stay bounded."""
        self._keep_steps = True
        for run in self.runs:
            if run.history is None:
                run.history = StepHistory()

    def apply(self, events: Iterable[Event]) -> None:
        steps_before, moved = self.total_steps, False
        for ev in events:
            if isinstance(ev, RunAdded):
                self._add(ev)
                continue
            if isinstance(ev, Fatal):
                self.fatal = self.notice = ev.message
                continue
            if isinstance(ev, Notice):
                self.notice = ev.message
                continue
            if isinstance(ev, SystemFigures):
                self.machines[ev.host] = ev  # the newest figures of each machine
                continue
            if ev.run >= len(self.runs):
                continue
            run = self.runs[ev.run]
            if ev.gen < run.gen:
                continue  # from before a restart
            if ev.gen > run.gen:
                run.reset(ev.gen)
            _FOLDS[type(ev)](self, run, ev)
            run.version += 1
            moved = moved or isinstance(ev, StatusEvent)
        now = self._clock()
        if moved or self.total_steps != steps_before:  # a step (in any form) or a change of state
            self._progress_at = now
        self._rate_window.append((now, self.total_steps))
        finished = self.ended()
        if finished and self._finished_at is None:
            self._finished_at = now
        elif not finished:
            self._finished_at = None  # restarted

    def _add(self, ev: RunAdded) -> None:
        while len(self.runs) <= ev.run:
            self.runs.append(RunView(RunInfo(f"run {len(self.runs) + 1}")))
            if self._keep_steps:
                self.runs[-1].history = StepHistory()
        info = ev.info
        taken = {r.info.label for i, r in enumerate(self.runs) if i != ev.run}
        if info.label in taken:  # two files that call their run the same: tell them apart
            n = 2
            while f"{info.label} #{n}" in taken:
                n += 1
            info = replace(info, label=f"{info.label} #{n}")
        self.runs[ev.run].info = info
        self.runs[ev.run].version += 1

    def add_steps(self, run: RunView, ev: StepBlock) -> None:
        """Steps, column-wise, so the UI's cost does not grow with training speed.

        Steps already seen (a re-read file) are skipped: a run's history only grows.
        """
        if ev.at is not None:
            self._add_sparse(run, ev)
            return
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
        run.group_lrs = tuple(ev.lrs[-1]) if len(ev.lrs[-1]) > 1 else ()  # a task's own groups
        finite = _extend_finite(run.loss_series, first, losses)
        if finite:
            run.best_loss = min(run.best_loss, min(finite))
        _extend_finite(run.lr_series, first, lrs)
        _extend_finite(run.time_series, first, ev.times[skip:])
        if run.history is not None:
            run.history.extend(lrs, losses)
        self.total_steps += len(losses)
        if run.status is RunStatus.PENDING:
            run.status = RunStatus.RUNNING

    def _add_sparse(self, run: RunView, ev: StepBlock) -> None:
        """Steps logged every so often (TensorBoard): each kept where it is newer than the last."""
        added = 0
        for step, epoch, lrs, loss, t in zip(
            ev.at or (), ev.epochs, ev.lrs, ev.losses, ev.times, strict=True
        ):
            if step <= run.step and (step or len(run.loss_series)):  # a first step 0 is kept
                continue
            lr = lrs[0] if lrs else math.nan
            run.step, run.epoch, run.lr, run.loss = step, epoch, lr, loss
            for series, value in ((run.loss_series, loss), (run.lr_series, lr), (run.time_series, t)):
                if is_finite(value):
                    series.append(step, value)
            if is_finite(loss):
                run.best_loss = min(run.best_loss, loss)
            if run.history is not None:
                run.history.extend([lr], [loss])
            added += 1
        self.total_steps += added
        if added and run.status is RunStatus.PENDING:
            run.status = RunStatus.RUNNING

    def expect_toggle(self, run: int | None) -> None:
        """Show a pause or resume at once, before the source confirms it.

        The sources' own rule (`toggle_verb`); finished runs never change.
        """
        runs = self.runs if run is None else self.runs[run : run + 1]
        if toggle_verb(r.status is RunStatus.RUNNING for r in runs) is Verb.PAUSE:
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

    def stalled(self) -> float:
        """Seconds since the last step or change of state while a run should be training
        (0 when none is): a trainer stuck in the task's code shows as a growing figure."""
        if self.overall() not in ("running", "waiting"):
            return 0.0
        return self._clock() - self._progress_at

    def elapsed(self) -> float:
        """Wall time since the start, stopped when every run has finished."""
        end = self._finished_at if self._finished_at is not None else self._clock()
        return end - self.started

    def overall(self) -> str:
        """running, paused, finished, failed (every run failed or diverged) or waiting, judged
        from every run."""
        statuses = {r.status for r in self.runs}
        if statuses & {RunStatus.RUNNING}:
            return "running"
        if RunStatus.PAUSED in statuses:
            return "paused"
        if statuses and statuses <= {RunStatus.ERROR, RunStatus.DIVERGED}:
            return "failed"
        if statuses and all(s.finished for s in statuses):
            return "finished"
        return "waiting"

    def ended(self) -> bool:
        """Every run has ended (done, stopped, diverged or failed): nothing trains."""
        return self.overall() in ("finished", "failed")

    def history_bytes(self) -> int:
        return sum(r.lr_series.nbytes() + r.loss_series.nbytes() + r.time_series.nbytes() for r in self.runs)


# ---- folding one event into a run: one function per event type ----------------------------
def _fold_steps(state: ExperimentState, run: RunView, ev: StepBlock) -> None:
    state.add_steps(run, ev)


def _fold_step(state: ExperimentState, run: RunView, ev: StepEvent) -> None:
    state.add_steps(run, StepBlock.of(ev))


def _fold_epoch(state: ExperimentState, run: RunView, ev: EpochEvent) -> None:
    run.epochs_done = ev.epoch
    if len(run.epoch_ends) < MAX_EPOCH_MARKS:
        run.epoch_ends.append(ev.step)


def _fold_status(state: ExperimentState, run: RunView, ev: StatusEvent) -> None:
    run.status = ev.status
    run.message = ev.message


def _fold_corrupt(state: ExperimentState, run: RunView, ev: CorruptLines) -> None:
    run.corrupt_lines += ev.count
    state.corrupt_lines += ev.count


def _fold_plan(state: ExperimentState, run: RunView, ev: PlanEvent) -> None:
    run.plan = ev.lrs
    run.plan_interval = ev.interval
    run.plan_batches = ev.batches
    run.planned_marks = ev.marks


def _fold_mark(state: ExperimentState, run: RunView, ev: MarkEvent) -> None:
    if len(run.marks) < MAX_MARKS:
        run.marks.append(ev)


def _fold_plateau(state: ExperimentState, run: RunView, ev: PlateauEvent) -> None:
    run.plateau = ev


def _fold_eval(state: ExperimentState, run: RunView, ev: EvalEvent) -> None:
    if len(run.val_losses) < MAX_EPOCH_MARKS:
        run.val_losses.append((ev.step, ev.loss))


def _fold_scalars(state: ExperimentState, run: RunView, ev: ScalarBlock) -> None:
    series = run.scalars.get(ev.tag)
    if series is None:
        if len(run.scalars) >= MAX_SCALAR_TAGS:
            return
        series = run.scalars[ev.tag] = BucketSeries()
    for step, value in zip(ev.steps, ev.values, strict=True):
        if (step > series.last_step or not len(series)) and is_finite(value):
            series.append(step, value)


_FOLDS: dict[type, Callable[[ExperimentState, RunView, object], None]] = {
    ScalarBlock: _fold_scalars,
    EvalEvent: _fold_eval,
    StepBlock: _fold_steps,
    StepEvent: _fold_step,
    EpochEvent: _fold_epoch,
    StatusEvent: _fold_status,
    CorruptLines: _fold_corrupt,
    PlanEvent: _fold_plan,
    MarkEvent: _fold_mark,
    PlateauEvent: _fold_plateau,
}
