"""The Trainer: trains every run of an experiment together, in a thread of its own.

It owns all torch state. The outside world talks to it through thread-safe commands (pause,
resume, restart, stop) and hears from it through batches of events handed to a sink, at most
every `flush_interval` seconds, so the consumer is never flooded with one call per step.
Losses stay on the device until a flush reads them all at once.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from lrtui.data import make_dataset
from lrtui.engines import Engine, make_engine
from lrtui.events import (
    EpochEvent,
    Event,
    MarkEvent,
    PlanEvent,
    PlateauCounters,
    PlateauEvent,
    RunStatus,
    StatusEvent,
    StepBlock,
)
from lrtui.models import MODELS, initial_state
from lrtui.optimizers import build_optimizer
from lrtui.regimes import RegimeWatch, watch_for
from lrtui.schedulers import Built, Plan, build_scheduler, plan, uses_metric
from lrtui.spec import ExperimentSpec, RunSpec

Sink = Callable[[list[Event]], None]
FLOAT32_MAX = 3.4028234663852886e38
MAX_MARKS = 500  # per run and restart: a StepLR(step_size=1) per batch would mark every step


def cpu_threads(current: int, cores: int) -> int:
    """Intra-op threads for training on CPU: one core is left to the thread that shows the
    events (the app's UI, the headless table). lrtui's batched steps are small, so an extra
    torch thread gains little, while one spinning on the UI's core slows both."""
    return max(1, min(current, cores - 1))


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@dataclass
class _Run:
    """The trainer's private, mutable bookkeeping for one run."""

    index: int
    spec: RunSpec
    metric: bool
    gen: int = 0
    status: RunStatus = RunStatus.PENDING
    paused: bool = False
    step: int = 0
    epoch: int = 0  # 0-based epoch in progress
    batch: int = 0  # 0-based batch within the epoch
    started: float = 0.0
    optimizer: torch.optim.Optimizer | None = None
    scheduler: object = None
    watch: RegimeWatch | None = None
    marks: int = 0
    counters: PlateauCounters | None = None  # the newest, sent at the next flush if it changed
    counters_sent: PlateauCounters | None = None
    counters_step: int = 0

    @property
    def active(self) -> bool:
        return self.status is RunStatus.RUNNING and not self.paused


@dataclass(slots=True)
class _Pending:
    """A step or epoch whose loss is still on the device."""

    run: _Run
    gen: int
    step: int
    epoch: int
    lrs: tuple[float, ...]
    time: float
    loss_at: int  # index into the concatenated pending losses
    end_of_epoch: bool = False
    epoch_lrs: tuple[float, ...] = ()


@dataclass(slots=True)
class _Block:
    """A StepBlock being gathered."""

    first_step: int
    epochs: list[int] = field(default_factory=list)
    lrs: list[tuple[float, ...]] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def add(self, epoch: int, lrs: tuple[float, ...], loss: float, time: float) -> None:
        self.epochs.append(epoch)
        self.lrs.append(lrs)
        self.losses.append(loss)
        self.times.append(time)

    def event(self, run: int, gen: int) -> StepBlock:
        return StepBlock(
            run,
            gen,
            self.first_step,
            tuple(self.epochs),
            tuple(self.lrs),
            tuple(self.losses),
            tuple(self.times),
        )


@dataclass
class _Outbox:
    items: list[_Pending | Event] = field(default_factory=list)
    losses: list[Tensor] = field(default_factory=list)
    loss_count: int = 0


class Trainer:
    """Trains `exp.runs` side by side. Call `run()` in a worker thread; control it from any."""

    def __init__(
        self,
        exp: ExperimentSpec,
        sink: Sink,
        *,
        plans: bool = False,
        linger: bool = False,
        flush_interval: float = 0.05,
        start_paused: bool = False,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.exp = exp
        self._sink = sink
        self._plans = plans
        self._linger = linger
        self._flush_interval = flush_interval
        self._clock = clock
        self._commands: queue.SimpleQueue[tuple[str, int | None]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._runs = [
            _Run(i, spec, uses_metric(spec.scheduler), paused=start_paused) for i, spec in enumerate(exp.runs)
        ]
        self._out = _Outbox()
        self._shared: torch.optim.Optimizer | None = None
        self._plan_cache: dict[int, Plan | None] = {}
        self.device = resolve_device(exp.device)

    # ---- control, from any thread -------------------------------------------------------
    def pause(self, run: int | None = None) -> None:
        self._commands.put(("pause", run))

    def resume(self, run: int | None = None) -> None:
        self._commands.put(("resume", run))

    def toggle_pause(self, run: int | None = None) -> None:
        self._commands.put(("toggle", run))

    def restart(self, run: int | None = None) -> None:
        self._commands.put(("restart", run))

    def stop(self) -> None:
        self._stop.set()
        self._commands.put(("stop", None))

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    # ---- the loop, in the worker thread ---------------------------------------------------
    def run(self) -> None:
        exp = self.exp
        if self.device.type == "cpu":
            torch.set_num_threads(cpu_threads(torch.get_num_threads(), os.cpu_count() or 1))
        x, y = make_dataset(exp.task, exp.batches, exp.batch_size, exp.seed)
        self._x, self._y = x.to(self.device), y.to(self.device)
        kind = MODELS[exp.model]
        self._engine: Engine = make_engine(
            kind, initial_state(kind, exp.seed), len(self._runs), self.device, exp.engine
        )
        for r in self._runs:
            self._start(r)
        self._shared = self._shared_optimizer()
        self._flush()
        last_flush = self._clock()
        with warnings.catch_warnings():
            # torch's notes on the order of optimizer and scheduler steps (the shared optimizer
            # steps for every run); no other warning is silenced, CUDA sync reports included
            warnings.filterwarnings(
                "ignore", message=r".*(lr_scheduler|optimizer\.step)", category=UserWarning
            )
            while not self._stop.is_set():
                if self._apply_commands(block=False):
                    last_flush = self._clock()
                active = [r for r in self._runs if r.active]
                if not active:
                    self._flush()
                    if not self._linger and all(r.status.finished for r in self._runs):
                        break
                    self._apply_commands(block=True)
                    last_flush = self._clock()
                    continue
                self._train_step(active)
                now = self._clock()
                if now - last_flush >= self._flush_interval:
                    self._flush()
                    last_flush = now
        for r in self._runs:
            if not r.status.finished:
                self._emit(StatusEvent(r.index, r.gen, RunStatus.STOPPED, "stopped", r.step))
                r.status = RunStatus.STOPPED
        self._flush()

    def _shared_optimizer(self) -> torch.optim.Optimizer | None:
        """One optimizer stepping every run's param group in a single call.

        Each run keeps its own real optimizer, which its scheduler drives; the shared one holds
        the very same group dicts (so every LR the schedulers set is the one used) and keeps
        per-parameter state, which is per run since no two runs share a parameter. A call
        per run would cost torch's fixed per-step overhead once per run.
        """
        handles = [r.optimizer for r in self._runs]
        if any(h is None for h in handles):
            return None
        first = handles[0]
        try:
            return type(first)([h.param_groups[0] for h in handles], **first.defaults)
        except Exception:  # an optimizer that cannot be built this way steps run by run
            return None

    def _start(self, r: _Run) -> None:
        """(Re)build run `r` from the shared initial weights with a fresh optimizer and scheduler."""
        r.step = r.epoch = r.batch = 0
        r.started = self._clock()
        self._engine.reset(r.index)
        try:
            r.optimizer = build_optimizer(self.exp.optimizer, self._engine.params(r.index), self.exp.lr)
            if self._shared is not None:  # a restart: the fresh group and state replace the old
                self._shared.param_groups[r.index] = r.optimizer.param_groups[0]
                for p in r.optimizer.param_groups[0]["params"]:
                    self._shared.state.pop(p, None)
            nodes: list[Built] = []
            r.scheduler = build_scheduler(r.spec.scheduler, r.optimizer, nodes)
            r.watch = watch_for(nodes)
            r.marks = 0
            r.counters = r.counters_sent = None
        except Exception as exc:  # a run that cannot start fails alone
            self._fail(r, f"cannot build {r.spec.scheduler.name}: {_one_line(exc)}")
            return
        r.status = RunStatus.RUNNING
        self._emit(StatusEvent(r.index, r.gen, RunStatus.PAUSED if r.paused else RunStatus.RUNNING, step=0))
        if self._plans:
            if r.index not in self._plan_cache:  # a plan depends on the spec alone: a restart reuses it
                self._plan_cache[r.index] = plan(r.spec, self.exp)
            planned = self._plan_cache[r.index]
            if planned is not None:
                per = 1 if r.spec.interval == "batch" else self.exp.batches
                marks = tuple((k * per, kind, label) for k, kind, label in planned.marks)
                self._emit(PlanEvent(r.index, r.gen, planned.lrs, r.spec.interval, self.exp.batches, marks))

    def _fail(self, r: _Run, message: str, status: RunStatus = RunStatus.ERROR) -> None:
        r.status = status
        self._emit(StatusEvent(r.index, r.gen, status, message, r.step))

    def _train_step(self, active: list[_Run]) -> None:
        exp = self.exp
        positions = [r.batch for r in active]
        if all(p == positions[0] for p in positions):
            xs, ys = [self._x[positions[0]]], [self._y[positions[0]]]
        else:
            xs, ys = [self._x[p] for p in positions], [self._y[p] for p in positions]
        try:
            losses = self._engine.forward_backward([r.index for r in active], xs, ys)
        except Exception as exc:
            for r in active:
                self._fail(r, f"training step failed: {_one_line(exc)}")
            return
        base = self._out.loss_count
        self._out.losses.append(losses)
        self._out.loss_count += len(active)
        now = self._clock()
        used = [tuple(float(g["lr"]) for g in r.optimizer.param_groups) for r in active]  # type: ignore[union-attr]
        stepped = self._optimizer_step(active, used)
        for j, r in enumerate(active):
            opt = r.optimizer
            assert opt is not None
            lrs = used[j]
            try:
                if not stepped[j]:
                    continue
                if self._shared is None:
                    opt.step()
                r.step += 1
                r.batch += 1
                end_of_epoch = r.batch == exp.batches
                if r.spec.interval == "batch":
                    self._step_scheduler(r, losses, j)
                pending = _Pending(r, r.gen, r.step, r.epoch + 1, lrs, now - r.started, base + j)
                if end_of_epoch:
                    if r.spec.interval == "epoch":
                        self._step_scheduler(r, losses, j)
                    pending.end_of_epoch = True
                    pending.epoch_lrs = tuple(float(g["lr"]) for g in opt.param_groups)
                    r.epoch += 1
                    r.batch = 0
                self._out.items.append(pending)
                if end_of_epoch and r.epoch == exp.epochs:
                    r.status = RunStatus.DONE
                    self._emit(StatusEvent(r.index, r.gen, RunStatus.DONE, "", r.step))
            except Exception as exc:
                self._fail(r, f"{r.spec.scheduler.name} failed at step {r.step}: {_one_line(exc)}")

    def _optimizer_step(self, active: list[_Run], lrs: list[tuple[float, ...]]) -> list[bool]:
        """Step every active run's parameters in one call; which runs took the step."""
        ok = [True] * len(active)
        if self._shared is None:
            return ok
        for j, r in enumerate(active):
            bad = next((lr for lr in lrs[j] if not (math.isfinite(lr) and abs(lr) < FLOAT32_MAX)), None)
            if bad is not None:  # would fail inside the shared step, for every run: fail it alone
                ok[j] = False
                _drop_grads(r)  # so the shared step leaves this run's parameters alone
                self._fail(r, f"{r.spec.scheduler.name} set a learning rate torch cannot use: {bad}")
        try:
            self._shared.step()
        except Exception as exc:
            for j, r in enumerate(active):
                if ok[j]:
                    ok[j] = False
                    self._fail(r, f"optimizer step failed: {_one_line(exc)}")
        for r in active:  # paused runs must never see these gradients again
            _drop_grads(r)
        return ok

    def _step_scheduler(self, r: _Run, losses: Tensor, j: int) -> None:
        watch = r.watch
        group = r.optimizer.param_groups[0]  # type: ignore[union-attr]
        if watch is not None:
            watch.before(float(group["lr"]))
        if r.metric:
            r.scheduler.step(float(losses[j]))  # the schedule needs the value: one read per step
        else:
            r.scheduler.step()
        if watch is None:
            return
        for mark in watch.after(float(group["lr"])):
            if r.marks < MAX_MARKS:
                r.marks += 1
                self._emit(MarkEvent(r.index, r.gen, r.step, mark.kind, mark.label))
        r.counters, r.counters_step = watch.counters(), r.step

    def _emit(self, event: Event) -> None:
        self._out.items.append(event)

    def _flush(self) -> None:
        """Read all pending losses in one transfer, turn records into events, hand them over."""
        out = self._out
        if not out.items:
            return
        values: list[float] = torch.cat(out.losses).tolist() if out.losses else []
        events: list[Event] = []
        dead: set[tuple[int, int]] = set()
        blocks: dict[tuple[int, int], _Block] = {}  # steps gathered per run until its next other event

        def close(key: tuple[int, int]) -> None:
            block = blocks.pop(key, None)
            if block is not None:
                events.append(block.event(*key))

        for item in out.items:
            if not isinstance(item, _Pending):
                key = (item.run, item.gen)
                close(key)
                if key not in dead:
                    events.append(item)
                continue
            r = item.run
            key = (r.index, item.gen)
            if key in dead:
                continue
            loss = values[item.loss_at]
            if not math.isfinite(loss):
                close(key)
                dead.add(key)
                if item.gen == r.gen:
                    r.status = RunStatus.DIVERGED
                message = f"loss became {loss} at step {item.step} (epoch {item.epoch})"
                events.append(StatusEvent(r.index, item.gen, RunStatus.DIVERGED, message, item.step))
                continue
            block = blocks.get(key)
            if block is None:
                block = blocks[key] = _Block(item.step)
            block.add(item.epoch, item.lrs, loss, item.time)
            if item.end_of_epoch:
                close(key)
                events.append(EpochEvent(r.index, item.gen, item.epoch, item.step, item.epoch_lrs, loss))
        for key in list(blocks):
            close(key)
        for r in self._runs:  # counters change every step; only the newest matters
            c = r.counters
            if c is not None and c != r.counters_sent and (r.index, r.gen) not in dead:
                r.counters_sent = c
                events.append(PlateauEvent(r.index, r.gen, r.counters_step, c))
        self._out = _Outbox()
        if events:
            self._sink(events)

    def _apply_commands(self, block: bool) -> bool:
        """Apply queued commands; with `block`, wait for the first one. True if any applied."""
        applied = False
        while True:
            try:
                verb, target = self._commands.get(block=block and not applied, timeout=0.5)
            except queue.Empty:
                return applied
            if not applied:
                self._flush()  # the consumer sees every step taken before the command
            applied = True
            if verb == "stop":
                return True
            runs = self._runs if target is None else [r for r in self._runs if r.index == target]
            if verb == "toggle":
                running = [r for r in runs if not r.status.finished and not r.paused]
                verb = "pause" if running else "resume"
            for r in runs:
                if verb == "restart":
                    r.gen += 1
                    r.paused = False
                    self._start(r)
                elif r.status.finished:
                    continue
                elif verb == "pause" and not r.paused:
                    r.paused = True
                    self._emit(StatusEvent(r.index, r.gen, RunStatus.PAUSED, "", r.step))
                elif verb == "resume" and r.paused:
                    r.paused = False
                    self._emit(StatusEvent(r.index, r.gen, RunStatus.RUNNING, "", r.step))
            self._flush()


def _drop_grads(r: _Run) -> None:
    assert r.optimizer is not None
    for p in r.optimizer.param_groups[0]["params"]:
        p.grad = None


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
