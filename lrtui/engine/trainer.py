"""The Trainer: trains every run of an experiment together, in a thread of its own.

It owns all torch state. The outside world steers it with commands (`send`, thread-safe;
what each does: `steering`) and hears from it through batches of events handed to a sink, at
most every `flush_interval` seconds, so the consumer is never flooded with one call per step.
Losses stay on the device until a flush reads them all at once (`outbox`).
"""

from __future__ import annotations

import os
import queue
import threading
import time
import warnings
from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor

from lrtui.engine.averaged import evaluate_run
from lrtui.engine.device import cpu_threads, resolve_device
from lrtui.engine.engines import Engine, losses_of, make_engine
from lrtui.engine.feed import EpochFeed, tidy
from lrtui.engine.kinds import load_workload, task_kind
from lrtui.engine.outbox import Outbox, PendingStep
from lrtui.engine.paramgroups import task_layout, with_groups
from lrtui.engine.slot import RunSlot, StepGroups
from lrtui.engine.steering import Steering
from lrtui.engine.workload import Batch, WorkloadFactory, by_seed, initial_module
from lrtui.schedule.build import build_watched, describe_error
from lrtui.schedule.optimizers import build_optimizer
from lrtui.schedule.plan import Plan, plan, step_marks
from lrtui.spec.commands import Command
from lrtui.spec.events import (
    MAX_MARKS,
    EvalEvent,
    Event,
    MarkEvent,
    Notice,
    PlanEvent,
    PlateauEvent,
    RunStatus,
    Sink,
    StatusEvent,
)
from lrtui.spec.experiment import ExperimentSpec
from lrtui.spec.text import clean

FEED_TIDY_STEPS = 32  # batches every run has passed are dropped this often
MESSAGE_LIMIT = 500  # characters of a run's final message (a task's error text, cleaned)


class Trainer(Steering):
    """Trains `exp.runs` side by side. Call `run()` in a worker thread; steer it from any."""

    def __init__(
        self,
        exp: ExperimentSpec,
        sink: Sink,
        *,
        workload: WorkloadFactory | None = None,
        plans: bool = False,
        linger: bool = False,
        flush_interval: float = 0.05,
        start_paused: bool = False,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.exp = exp
        self._sink = sink
        self._make_workload = workload or (lambda device: load_workload(exp, device))
        self._plans = plans
        self._linger = linger
        self._flush_interval = flush_interval
        self._clock = clock
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._runs = [RunSlot(i, spec, paused=start_paused) for i, spec in enumerate(exp.runs)]
        self._out = Outbox()
        self._steps: StepGroups | None = None  # optimizer steps, grouped by optimizer kind
        self._plan_cache: dict[int, Plan | None] = {}
        self.device = resolve_device(exp.device)
        self.train_seconds = 0.0  # from the start of the loop to its end, for benchmarks
        self.done = threading.Event()  # set when `run` has handed over its last events
        self._steps_taken = 0
        self._note: str | None = None  # the capture note last told (`capture.CapturedLoss.why`)

    # ---- control, from any thread -------------------------------------------------------
    def run(self) -> None:
        try:
            self._run()
        except (SystemExit, KeyboardInterrupt) as exc:  # raised by the task's own code, in this thread
            self._abandon(f"the task raised {describe_error(exc)}")
        except Exception as exc:  # training itself broke: the runs say so, then it goes up as it was
            if self._steps is not None:
                self._abandon(f"training failed: {describe_error(exc)}")
            raise
        finally:
            self.done.set()

    def _abandon(self, message: str) -> None:
        """Training ended by an exception no run's step caught (the task's `sys.exit`, a bug):
        every step trained so far is handed over, and every unfinished run ends failed, so the
        logs and the apps end with a final status and the command exits non-zero."""
        for r in self._runs:
            if not r.status.finished:
                self._fail(r, message)
        self._flush()

    def _run(self) -> None:
        self._setup()
        start = self._clock()
        with warnings.catch_warnings():
            # torch's notes on the order of optimizer and scheduler steps (the shared optimizer
            # steps for every run); no other warning is silenced, CUDA sync reports included
            warnings.filterwarnings(
                "ignore", message=r".*(lr_scheduler|optimizer\.step)", category=UserWarning
            )
            self._loop()
        self.train_seconds = self._clock() - start
        for r in self._runs:
            if not r.status.finished:
                self._end(r, RunStatus.STOPPED, "stopped")
        self._flush()

    def _setup(self) -> None:
        workload = self._make_workload(self.device)
        if self.device.type == "cpu":
            light = bool(getattr(workload, "light", False))
            torch.set_num_threads(cpu_threads(torch.get_num_threads(), os.cpu_count() or 1, light))
        exp = self.exp
        kind = task_kind(exp.task)  # where its data is made from the seed, each seed gets its own
        rebuild = (lambda k: kind.build(exp, self.device, k)) if kind.seeded_data else None
        self._workloads = by_seed(workload, sorted({r.spec.seed for r in self._runs}), exp.seed, rebuild)
        self._feeds = {k: EpochFeed(w, self.device, exp.batches) for k, w in self._workloads.items()}
        self._starts = {k: initial_module(w, exp.seed + k) for k, w in self._workloads.items()}
        inits = [self._starts[r.spec.seed] for r in self._runs]
        self._layout = task_layout(workload, inits[0])  # the task's own param groups, if any
        self._engine: Engine = make_engine(workload, inits, len(self._runs), self.device, exp.engine, exp.amp)
        for r in self._runs:
            self._start(r)
        self._steps = StepGroups(self._runs, self._engine.fused_optimizer)
        self._flush()

    def _loop(self) -> None:
        last_flush = self._clock()
        while not self._stop.is_set():
            if self._apply_commands(block=False):
                last_flush = self._clock()
            active = [r for r in self._runs if r.active]
            if not active:
                self._flush()
                if not self._linger and all(r.status.finished for r in self._runs):
                    return
                self._apply_commands(block=True)
                last_flush = self._clock()
                continue
            self._train_step(active)
            now = self._clock()
            if now - last_flush >= self._flush_interval:
                self._flush()
                last_flush = now

    def _start(self, r: RunSlot) -> None:
        """(Re)build run `r` from the shared initial weights with a fresh optimizer and scheduler."""
        r.step = r.epoch = r.batch = 0
        r.started = self._clock()
        self._engine.reset(r.index)
        try:
            own = self.exp.optimizer_of(r.spec)  # the run's own optimizer, or --optimizer
            groups = with_groups(self._layout, self._engine.params(r.index))
            r.optimizer = build_optimizer(own, groups, self.exp.lr_of(r.spec))
            if self._steps is not None:  # a restart: the fresh group and state replace the old
                self._steps.restart(r)
            r.watched = build_watched(r.spec.scheduler, r.optimizer)
            r.marks = 0
            r.counters = r.counters_sent = None
        except Exception as exc:  # a run that cannot start fails alone
            self._fail(r, f"cannot build {r.spec.scheduler.name}: {describe_error(exc)}")
            return
        r.status = RunStatus.RUNNING
        self._emit(StatusEvent(r.index, r.gen, RunStatus.PAUSED if r.paused else RunStatus.RUNNING, step=0))
        if self._plans:
            self._emit_plan(r)

    def _emit_plan(self, r: RunSlot) -> None:
        if r.index not in self._plan_cache:  # a plan depends on the spec alone: a restart reuses it
            self._plan_cache[r.index] = plan(r.spec, self.exp)
        planned = self._plan_cache[r.index]
        if planned is not None:
            marks = tuple(step_marks(planned, r.spec, self.exp))
            interval = "batch" if planned.per_batch else r.spec.interval  # an LR per step where so planned
            self._emit(PlanEvent(r.index, r.gen, planned.lrs, interval, self.exp.batches, marks))

    def _fail(self, r: RunSlot, message: str) -> None:
        self._end(r, RunStatus.ERROR, message)

    def _end(self, r: RunSlot, status: RunStatus, message: str = "") -> None:
        """Run `r` ends: its newest plateau counters first, then its final status, so a run's
        log (and `watch`) ends with how it ended."""
        r.status = status
        r.to_final_weights()
        if r.counters is not None and r.counters != r.counters_sent:
            r.counters_sent = r.counters
            self._emit(PlateauEvent(r.index, r.gen, r.counters_step, r.counters))
        # a task's own error text is shown, never obeyed: no escape of it steers a terminal
        self._emit(StatusEvent(r.index, r.gen, status, clean(message, MESSAGE_LIMIT), r.step))

    def _batches(self, active: list[RunSlot]) -> list[Batch]:
        """The batch each active run trains on next: one, when they are all at the same one.
        Before the task is asked for a new epoch, what was trained is handed over: a task that
        hangs there leaves every step before it on the screen and in the logs."""
        if any(r.batch == 0 and not self._feeds[r.spec.seed].has(r.epoch) for r in active):
            self._flush()
        batches = [self._feeds[r.spec.seed].batch(r.epoch, r.batch) for r in active]
        return batches[:1] if all(b is batches[0] for b in batches) else batches

    def _train_step(self, active: list[RunSlot]) -> None:
        losses, failures = losses_of(self._engine, [r.index for r in active], self._batches(active))
        for j, exc in failures.items():
            self._fail(active[j], f"training step failed: {describe_error(exc)}")
        active = [r for j, r in enumerate(active) if j not in failures]
        if losses is None or not active:
            return
        base = self._out.add_losses(losses)
        now = self._clock()
        used = [tuple(float(g["lr"]) for g in r.optimizer.param_groups) for r in active]  # type: ignore[union-attr]
        stepped = self._optimizer_step(active, used)
        for j, r in enumerate(active):
            if stepped[j]:
                try:
                    self._after_step(
                        r,
                        losses,
                        j,
                        PendingStep(
                            r.index, r.gen, r.step + 1, r.epoch + 1, used[j], now - r.started, base + j
                        ),
                    )
                except Exception as exc:
                    self._fail(r, f"{r.spec.scheduler.name} failed at step {r.step}: {describe_error(exc)}")
        self._steps_taken += 1
        if self._steps_taken % FEED_TIDY_STEPS == 0 or any(r.batch == 0 for r in active):
            tidy(self._feeds, [(r.spec.seed, r.epoch, r.batch) for r in self._runs if not r.status.finished])

    def _after_step(self, r: RunSlot, losses: Tensor, j: int, pending: PendingStep) -> None:
        """Count the step, step the scheduler where it steps, evaluate at an epoch's end, and
        queue the step's record."""
        applied = None  # what an optimizer that scales its LR itself applied (schedule-free)
        if self._steps is None or not self._steps.steps(r):
            applied = r.step_alone()
            pending.lrs = applied or pending.lrs
        r.step += 1
        r.batch += 1
        if r.spec.interval == "batch":
            self._step_scheduler(r, lambda: float(losses[j]))
        end_of_epoch = r.batch == self._feeds[r.spec.seed].length(r.epoch)
        val = None
        if end_of_epoch:
            module = partial(self._engine.module, r.index)  # read only in eval mode
            val = evaluate_run(r, module, self._workloads[r.spec.seed], self.device)
            if r.spec.interval == "epoch":  # a plateau follows the validation loss where there is one
                self._step_scheduler(r, (lambda: val) if val is not None else (lambda: float(losses[j])))
            # schedule-free keeps only its base LR in the groups: say the LR its last step applied
            pending.epoch_lrs = applied or tuple(float(g["lr"]) for g in r.optimizer.param_groups)  # type: ignore[union-attr]
            r.epoch += 1
            r.batch = 0
        self._out.add(pending)
        if val is not None:
            self._emit(EvalEvent(r.index, r.gen, r.epoch, r.step, val))
        if end_of_epoch and r.epoch == self.exp.epochs:
            self._end(r, RunStatus.DONE)

    def _optimizer_step(self, active: list[RunSlot], lrs: list[tuple[float, ...]]) -> list[bool]:
        """Step every active run's parameters, one call per optimizer kind; which runs took it."""
        return self._steps.step(active, self._fail) if self._steps else [True] * len(active)

    def _step_scheduler(self, r: RunSlot, loss: Callable[[], float]) -> None:
        for mark in r.step_scheduler(loss):  # the loss is read only if the schedule follows it
            if r.marks < MAX_MARKS:
                r.marks += 1
                self._emit(MarkEvent(r.index, r.gen, r.step, mark.kind, mark.label))

    def _emit(self, event: Event) -> None:
        self._out.add(event)

    def _flush(self) -> None:
        """Hand every pending step and event over as events, in one batch; with them, why the
        stacked pass is not captured as CUDA graphs where that was asked for (status bar)."""
        note = self._engine.capture_note if hasattr(self, "_engine") else None
        if note and note != self._note:
            self._note = note
            self._out.add(Notice(f"stacked pass {note}"))
        if not self._out:
            return
        flushed = self._out.flush()
        events = flushed.events
        for r in self._runs:
            if (r.index, r.gen) in flushed.diverged:
                r.status = RunStatus.DIVERGED
            c = r.counters  # counters change every step; only the newest matters
            if c is not None and c != r.counters_sent and (r.index, r.gen) not in flushed.diverged:
                r.counters_sent = c
                events.append(PlateauEvent(r.index, r.gen, r.counters_step, c))
        if events:
            self._sink(events)
