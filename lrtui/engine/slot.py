"""One run as the trainer keeps it, and the optimizers that step runs together, one per kind.

Runs may each have their own optimizer (`AdamW | CosineAnnealingLR`, `SGD | OneCycleLR`): runs
of one optimizer class share one step (`StepGroups`), the rest step alone."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from lrtui.schedule.build import Watched, describe_error
from lrtui.schedule.optimizers import kind_of
from lrtui.schedule.regimes import Mark
from lrtui.spec.events import PlateauCounters, RunStatus
from lrtui.spec.experiment import RunSpec
from lrtui.spec.numbers import usable_lr


@dataclass
class RunSlot:
    """The trainer's mutable bookkeeping for one run: where it stands, its optimizer and schedule."""

    index: int
    spec: RunSpec
    gen: int = 0
    status: RunStatus = RunStatus.PENDING
    paused: bool = False
    step: int = 0
    epoch: int = 0  # 0-based epoch in progress
    batch: int = 0  # 0-based batch within the epoch
    started: float = 0.0
    optimizer: torch.optim.Optimizer | None = None
    watched: Watched | None = None  # its schedule, stepped through `Watched.step`
    marks: int = 0
    counters: PlateauCounters | None = None  # the newest, sent at the next flush if it changed
    counters_sent: PlateauCounters | None = None
    counters_step: int = 0

    @property
    def active(self) -> bool:
        return self.status is RunStatus.RUNNING and not self.paused

    def drop_grads(self) -> None:
        assert self.optimizer is not None
        for group in self.optimizer.param_groups:
            for p in group["params"]:
                p.grad = None

    @property
    def has_modes(self) -> bool:
        return self.optimizer is not None and kind_of(self.optimizer).has_modes

    def to_final_weights(self) -> None:
        """A run that ended holds the weights it is judged by: an optimizer with modes goes to
        eval mode (schedule-free: the averaged weights, as its package asks for a checkpoint)."""
        if self.optimizer is not None:
            kind_of(self.optimizer).to_eval(self.optimizer)

    @contextmanager
    def evaluating(self) -> Iterator[None]:
        """The run's optimizer in its eval mode while the task evaluates, back in train mode
        after: an optimizer with modes (schedule-free) holds other weights for evaluation than
        for its steps. Nothing happens for torch's own, which have no modes."""
        optimizer = self.optimizer
        assert optimizer is not None
        kind = kind_of(optimizer)
        kind.to_eval(optimizer)
        try:
            yield
        finally:
            kind.to_train(optimizer)

    def step_alone(self) -> tuple[float, ...] | None:
        """Step the run's own optimizer; the LRs it applied where it scales the groups' LR
        itself (schedule-free's warm-up), None where the groups' LRs are the applied ones."""
        assert self.optimizer is not None
        self.optimizer.step()
        kind = kind_of(self.optimizer)
        return kind.applied_lrs(self.optimizer) if kind.applied_key else None

    def step_scheduler(self, loss: Callable[[], float]) -> list[Mark]:
        """Step the schedule (with the loss where it follows it); the regime changes it made."""
        assert self.watched is not None
        marks = self.watched.step(loss)
        self.counters, self.counters_step = self.watched.counters(), self.step
        return marks


def shared_optimizer(runs: list[RunSlot]) -> torch.optim.Optimizer | None:
    """One optimizer stepping every run's param group in a single call.

    Each run keeps its own real optimizer, which its scheduler drives; the shared one holds
    the very same group dicts (so every LR the schedulers set is the one used) and keeps
    per-parameter state, which is per run since no two runs share a parameter. A call
    per run would cost torch's fixed per-step overhead once per run. An optimizer with
    train/eval modes steps run by run, so that evaluating one run switches its state alone.
    """
    handles = [r.optimizer for r in runs]
    if any(h is None for h in handles):
        return None
    first = handles[0]
    if kind_of(first).has_modes:  # each run's train/eval switch must reach its own state
        return None
    # only the options its constructor takes: AdamW's defaults hold decoupled_weight_decay,
    # which AdamW() refuses (every group carries its own options anyway)
    takes = inspect.signature(type(first).__init__).parameters
    options = {k: v for k, v in first.defaults.items() if k in takes}
    try:
        return type(first)([g for h in handles for g in h.param_groups], **options)  # type: ignore[union-attr]
    except Exception:  # an optimizer that cannot be built this way steps run by run
        return None


# the stacked engine's `fused_optimizer`: one step for these runs' optimizers, or None
FusedHook = Callable[[list[int], list[torch.optim.Optimizer]], "torch.optim.Optimizer | None"]


class StepGroups:
    """Every run's optimizer step, grouped by optimizer class: each class of torch's own steps
    all its runs in one call (`shared_optimizer`); an optimizer with modes steps alone (see
    `RunSlot.step_alone`). The groups are chosen once, from the runs' first optimizers; a
    restarted run's fresh group and state replace the old ones in its shared optimizer."""

    def __init__(self, runs: Sequence[RunSlot], fused: FusedHook | None = None) -> None:
        """`fused`: the engine's fused step for a class's runs where it has one (`fused`)."""
        by_class: dict[type, list[RunSlot]] = {}
        for r in runs:
            if r.optimizer is not None:
                by_class.setdefault(type(r.optimizer), []).append(r)
        self._shared: list[tuple[torch.optim.Optimizer, list[int]]] = []
        self._place: dict[int, tuple[torch.optim.Optimizer, int]] = {}
        for members in by_class.values():
            if members[0].has_modes:  # each run's train/eval switch must reach its own state
                continue
            handles = [r.optimizer for r in members]
            shared = fused([r.index for r in members], handles) if fused is not None else None  # type: ignore[arg-type]
            shared = shared or shared_optimizer(members)
            if shared is not None:
                self._shared.append((shared, [r.index for r in members]))
                self._place.update({r.index: (shared, k) for k, r in enumerate(members)})

    def steps(self, r: RunSlot) -> bool:
        """Whether run `r` is stepped by a shared optimizer (else it steps alone)."""
        return r.index in self._place

    def holder(self, r: RunSlot) -> torch.optim.Optimizer | None:
        """The shared optimizer holding run `r`'s per-parameter state (None: its own does)."""
        place = self._place.get(r.index)
        return None if place is None else place[0]

    def describe(self, runs: Sequence[RunSlot]) -> str:
        """The groups for people, by the runs' optimizer class (whichever optimizer steps a
        group): 'optimizer steps: AdamW x2 shared, AdamWScheduleFree alone'."""
        shared: dict[str, int] = {}
        alone: list[str] = []
        for r in runs:
            if r.optimizer is not None:
                name = type(r.optimizer).__name__
                if self.steps(r):
                    shared[name] = shared.get(name, 0) + 1
                else:
                    alone.append(name)
        parts = [f"{name} x{n} shared" for name, n in shared.items()] + [f"{name} alone" for name in alone]
        return "optimizer steps: " + ", ".join(parts)

    def restart(self, r: RunSlot) -> None:
        """A restarted run's fresh param groups and empty state, in place of its old ones (a
        run's groups sit side by side in its shared optimizer, k-th run's from k·G on)."""
        place = self._place.get(r.index)
        if place is None or r.optimizer is None:
            return
        shared, k = place
        fresh = r.optimizer.param_groups
        shared.param_groups[k * len(fresh) : (k + 1) * len(fresh)] = fresh
        for group in fresh:
            for p in group["params"]:
                shared.state.pop(p, None)

    def step(self, active: list[RunSlot], fail: Callable[[RunSlot, str], None]) -> list[bool]:
        """Step every shared group once; which active runs took the step (runs stepping alone
        count as taken: they step in `RunSlot.step_alone`). A run whose LR torch cannot use
        fails alone, before the shared step would fail for every run of its group."""
        ok = [True] * len(active)
        for j, r in enumerate(active):
            bad = next((g["lr"] for g in r.optimizer.param_groups if not usable_lr(float(g["lr"]))), None)  # type: ignore[union-attr]
            if self.steps(r) and bad is not None:
                ok[j] = False
                r.drop_grads()  # so the shared step leaves this run's parameters alone
                fail(r, f"{r.spec.scheduler.name} set a learning rate torch cannot use: {bad}")
        for shared, members in self._shared:
            try:
                shared.step()
            except Exception as exc:
                for j, r in enumerate(active):
                    if ok[j] and r.index in members:
                        ok[j] = False
                        fail(r, f"optimizer step failed: {describe_error(exc)}")
        for r in active:  # paused runs must never see these gradients again
            if self.steps(r):
                r.drop_grads()
        return ok
