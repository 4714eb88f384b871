"""From a checked spec to a comparison ready to train: the task loaded and tried, the engine
chosen, the memory counted, and where the live trainer runs decided. Everything that can fail
because of the task fails here, with one `lrtui: error:` line, before the UI takes the terminal.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field, replace
from itertools import islice

import torch
from torch import nn

from lrtui.engine.checkpoint import CheckpointPolicy
from lrtui.engine.child import trains_apart
from lrtui.engine.device import resolve_device
from lrtui.engine.engines import RunsFailedError, make_engine, plan_engine
from lrtui.engine.feed import as_batch
from lrtui.engine.kinds import task_kind
from lrtui.engine.paramgroups import task_layout
from lrtui.engine.seeding import seeded_batches
from lrtui.engine.tasks import TaskError, UserTask, user_error
from lrtui.engine.workload import Batch, Workload, WorkloadFactory, initial_module
from lrtui.schedule.optimizers import OPTIMIZER_KINDS
from lrtui.spec.experiment import ExperimentSpec
from lrtui.spec.settings import Settings

COUNTED_BATCHES = 100_000  # a generator's batches counted at most, without --batches


@dataclass(frozen=True)
class Ready:
    """A comparison ready to train. `apart`: the live app's trainer gets a spawned process of
    its own (`engine.child.trains_apart`), decided here once; the live mode reads it both to
    build the app's source and to leave torch's checks to that process."""

    exp: ExperimentSpec  # batches per epoch and engine settled
    workload: WorkloadFactory
    engine: str  # how the runs train, and why, for the status bar
    settings: Settings = field(default_factory=Settings)  # the user's, merged: log_dir, loss_threshold
    checked: bool = True  # torch's own checks of the runs done (`schedule.build.check_runs`)
    apart: bool = False
    checkpoints: CheckpointPolicy | None = None  # with --log-dir: when and where, and a resume's start


class _Prepared:
    """A loaded task whose first model is kept, so the comparison calls `model()` once."""

    def __init__(self, task: Workload, init: nn.Module) -> None:
        self._task, self._init = task, init
        self.name, self.batched = task.name, task.batched

    def model(self) -> nn.Module:
        return copy.deepcopy(self._init)

    def fresh_model(self) -> nn.Module:
        """A model built anew (under whatever seed is set): each of several seeds' own start."""
        return self._task.model()

    def __getattr__(self, name: str):
        return getattr(self._task, name)


def prepare(
    exp: ExperimentSpec, n_runs: int, batches_given: bool = True, task: UserTask | None = None
) -> Ready:
    """Load and try the task of `exp` (or `task`, a task object from Python) for `n_runs` runs.
    `batches_given`: whether `exp.batches` is the user's limit (else a user task trains on every
    batch its epoch has)."""
    device = resolve_device(exp.device)
    kind = task_kind(exp.task)
    if task is not None:
        ready = _ready(task, exp, n_runs, batches_given, device)
    elif not kind.tried:
        plan = (
            "all runs in one batched pass"
            if exp.engine != "sequential"
            else "one after another (--engine sequential)"
        )
        ready = Ready(exp, lambda d: kind.build(exp, d, 0), plan)
    else:
        ready = _ready(kind.build(exp, device, 0), exp, n_runs, batches_given, device)
    # a task given as objects (`task`) cannot be loaded again by name in another process
    return replace(ready, apart=task is None and trains_apart(device.type, kind.loadable))


def _ready(
    task: Workload, exp: ExperimentSpec, n_runs: int, batches_given: bool, device: torch.device
) -> Ready:
    init = initial_module(task, exp.seed)
    task_layout(task, init)  # the task's own param groups, checked before any training
    first, per_epoch = _first_batch(task, device, exp.seed, exp.batches if batches_given else None)
    if isinstance(task, UserTask):
        exp = replace(exp, batches=min(per_epoch, exp.batches) if batches_given else per_epoch)
    trial = _Trial(task, init, exp, device, first, n_runs)
    stacked, why = trial.choose()
    prepared = _Prepared(task, init)
    return Ready(replace(exp, engine="stacked" if stacked else "sequential"), lambda d: prepared, why)


def _first_batch(task: Workload, device: torch.device, seed: int, limit: int | None) -> tuple[Batch, int]:
    """Epoch 0's first batch, drawn on the epoch's own stream as training will draw it (so the
    trial leaves the caller's random state alone), and how many batches an epoch has: a
    generator is counted (none kept but the first), `limit` (--batches) deep at most, so one
    that never ends is read no further; without --batches, past `COUNTED_BATCHES` is an error."""
    try:
        source = seeded_batches(task.batches, seed, 0)
        if hasattr(source, "__len__"):
            length, first = len(source), next(iter(source), None)  # type: ignore[arg-type]
        else:
            first = next(source, None)
            length = (first is not None) + sum(1 for _ in islice(source, (limit or COUNTED_BATCHES + 1) - 1))
    except TaskError:
        raise
    except Exception as exc:
        raise user_error(exc, getattr(task, "_origin", None)) from None
    if first is None:
        raise TaskError(f"{_where(task, 'batches')}: batches(0) gave no batches")
    if limit is None and length > COUNTED_BATCHES:
        raise TaskError(
            f"{_where(task, 'batches')}: batches(0) gave over {COUNTED_BATCHES:,} batches and may never"
            " end: say how many an epoch has with --batches N"
        )
    try:
        return as_batch(first, device), length
    except TypeError as exc:
        raise TaskError(f"{_where(task, 'batches')}: {exc}") from None


def _where(task: Workload, fn: str) -> str:
    return task.where(fn) if isinstance(task, UserTask) else task.name


class _Trial:
    """Tries the task's first step: plainly, then stacked if the model allows; counts memory."""

    def __init__(
        self, task: Workload, init: nn.Module, exp: ExperimentSpec, device, first: Batch, n: int
    ) -> None:
        self.task, self.init, self.exp, self.device, self.first, self.n = task, init, exp, device, first, n

    def step(self, choice: str, n: int):
        """`n` runs' first step with the chosen engine; a failure names the user's line."""
        engine = make_engine(self.task, self.init, n, self.device, choice, self.exp.amp)
        try:
            losses = engine.forward_backward(list(range(n)), [self.first])
        except TaskError:
            raise
        except Exception as exc:
            if isinstance(exc, RunsFailedError):  # some runs' first step went through: the first that did not
                exc = next(iter(exc.failures.values()))
            raise user_error(exc, getattr(self.task, "_origin", None), 1) from None
        if losses.shape != (n,):
            raise TaskError(
                f"{_where(self.task, 'loss')}: loss(model, batch) must return one number (a scalar tensor)"
            )
        return engine

    def timed(self, choice: str) -> float:
        engine = self.step(choice, self.n)  # the first call warms up
        start = time.perf_counter()
        for _ in range(2):
            engine.forward_backward(list(range(self.n)), [self.first])
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return (time.perf_counter() - start) / 2

    def choose(self) -> tuple[bool, str]:
        """Stacked when the model allows, the memory suffices and, under auto, a two-step
        trial finds it faster than one run after another."""
        need = self.memory()  # also the user's own code, plainly, once
        try:
            plan = plan_engine(self.task, self.init, self.exp.engine)
        except ValueError as exc:
            raise TaskError(str(exc)) from None
        if plan.stacked and need is not None and not need.fits(stacked=True):
            if self.exp.engine == "stacked" or not need.fits(stacked=False):
                raise TaskError(need.message(stacked=True))
            return (
                False,
                f"one after another: stacked would need {need.gib(True):.1f} GiB, {need.free_gib:.1f} free",
            )
        if need is not None and not need.fits(stacked=plan.stacked):
            raise TaskError(need.message(stacked=plan.stacked))
        if not plan.stacked:
            return False, plan.why
        return self._race(plan.why)

    def _race(self, why: str) -> tuple[bool, str]:
        try:
            stacked_s = self.timed("stacked")
        except TaskError as exc:
            if self.exp.engine == "stacked":
                raise
            return False, f"one after another: vmap cannot batch this model ({exc})"
        if self.exp.engine == "stacked":
            return True, why
        seq_s = self.timed("sequential")
        if stacked_s <= seq_s:
            return True, f"{why} ({stacked_s * 1000:.0f} vs {seq_s * 1000:.0f} ms a step one after another)"
        return (
            False,
            f"one after another: faster here ({seq_s * 1e3:.0f} vs {stacked_s * 1e3:.0f} ms a step stacked)",
        )

    def memory(self) -> _Need | None:
        """One run's first step, measured on CUDA (None elsewhere)."""
        if self.device.type != "cuda":
            self.step("sequential", 1)
            return None
        torch.cuda.synchronize(self.device)
        torch.cuda.empty_cache()
        free, _ = torch.cuda.mem_get_info(self.device)
        base = torch.cuda.memory_allocated(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        self.step("sequential", 1)
        peak = torch.cuda.max_memory_allocated(self.device) - base
        weights = sum(p.numel() * p.element_size() for p in self.init.parameters())
        state = weights * OPTIMIZER_KINDS[self.exp.optimizer.name].state_per_param(self.exp.optimizer)
        return _Need(
            self.n,
            weights,
            state,
            max(0, peak - 2 * weights),
            free,
            self.exp.optimizer.name,
            str(self.device),
        )


@dataclass(frozen=True)
class _Need:
    """What N runs hold on the device: weights, gradients, optimizer state, activations."""

    n: int
    weights: int
    state: int
    activations: int  # of one run's step
    free: int
    optimizer: str
    device: str

    def bytes(self, stacked: bool) -> int:
        return self.n * (2 * self.weights + self.state) + (self.n if stacked else 1) * self.activations

    def gib(self, stacked: bool) -> float:
        return self.bytes(stacked) / 2**30

    @property
    def free_gib(self) -> float:
        return self.free / 2**30

    def fits(self, stacked: bool) -> bool:
        return self.bytes(stacked) <= 0.95 * self.free

    def message(self, stacked: bool) -> str:
        g = 2**30
        return (
            f"{self.n} runs need about {self.gib(stacked):.1f} GiB on {self.device} "
            f"({self.weights / g:.2f} GiB of weights each, as much again for gradients, "
            f"{self.state / g:.2f} GiB of {self.optimizer} state, {self.activations / g:.2f} GiB of "
            f"activations a run), but {self.free_gib:.1f} GiB is free: compare fewer schedules, "
            "use --engine sequential, or a smaller --batch-size"
        )
