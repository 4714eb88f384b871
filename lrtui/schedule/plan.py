"""The LR a schedule will follow, computed ahead by stepping the real scheduler without training.

Schedules that follow the loss (ReduceLROnPlateau, alone or composed) have no plan: their
curve depends on the training itself.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from lrtui.schedule.build import Watched, build_watched, probe_optimizer
from lrtui.schedule.optimizers import kind_of
from lrtui.schedule.registry import uses_metric
from lrtui.spec.events import MAX_MARKS
from lrtui.spec.experiment import ExperimentSpec, RunSpec

MAX_PLAN = 200_000  # steps: a longer run is not planned (a plan is made before training starts)


@dataclass(frozen=True)
class Plan:
    """The LR of param group 0 before the first scheduler step and after each one, and the
    regime changes on the way as (scheduler step, kind, label)."""

    lrs: tuple[float, ...]
    marks: tuple[tuple[int, str, str], ...] = ()
    # one LR per training step, marks by training step (an optimizer that scales its LR
    # itself, whatever the schedule's interval), rather than one per scheduler step
    per_batch: bool = False


def plan(run: RunSpec, exp: ExperimentSpec, max_steps: int = MAX_PLAN) -> Plan | None:
    """The schedule ahead, on a throwaway optimizer. None when the schedule follows the loss,
    or when the run is too long to plan quickly."""
    steps = exp.steps_of(run)
    if uses_metric(run.scheduler) or steps > max_steps:
        return None
    watched = build_watched(run.scheduler, probe_optimizer(exp, run))
    if kind_of(watched.optimizer).applied_key:  # it scales the LR inside, per optimizer step
        per = 1 if run.interval == "batch" else exp.batches
        return _applied_plan(watched, exp.total_batches, per) if exp.total_batches <= max_steps else None
    lrs, marks = ahead(watched, steps)
    return Plan(tuple(lrs), tuple(marks))


def _applied_plan(watched: Watched, steps: int, per: int) -> Plan:
    """For an optimizer that scales the LR itself (schedule-free's warm-up), the LR each of
    `steps` training steps applies: lr_k = schedule_k x the optimizer's own factor at step k,
    as it reports it after stepping (a throwaway parameter without a gradient: nothing else
    moves); the schedule steps every `per` training steps."""
    optimizer = watched.optimizer
    kind = kind_of(optimizer)
    lrs: list[float] = []
    marks: list[tuple[int, str, str]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(1, steps + 1):
            optimizer.step()
            lrs.append(kind.applied_lrs(optimizer)[0])
            if k % per:
                continue
            stepped = watched.step()
            if len(marks) < MAX_MARKS:
                marks.extend((k, m.kind, m.label) for m in stepped)
    return Plan(tuple(lrs), tuple(marks), per_batch=True)


def ahead(watched: Watched, steps: int) -> tuple[list[float], list[tuple[int, str, str]]]:
    """Step a schedule `steps` times on its own (throwaway) optimizer: param group 0's LR
    before the first step and after each, and the regime marks on the way as (step, kind,
    label). The optimizer steps first, as in training, so torch never warns of the order."""
    optimizer = watched.optimizer
    group = optimizer.param_groups[0]
    lrs = [float(group["lr"])]
    marks: list[tuple[int, str, str]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(1, steps + 1):
            optimizer.step()
            stepped = watched.step()
            lrs.append(float(group["lr"]))
            if len(marks) < MAX_MARKS:
                marks.extend((k, m.kind, m.label) for m in stepped)
    return lrs, marks


def step_lrs(planned: Plan, run: RunSpec, exp: ExperimentSpec) -> list[float]:
    """The LR each training step trains with: step 1 with the initial LR, then as the schedule
    steps (per batch, or per epoch: every batch of an epoch alike)."""
    total = exp.total_batches
    if run.interval == "batch" or planned.per_batch:
        return list(planned.lrs[:total])
    return [planned.lrs[min((s - 1) // exp.batches, len(planned.lrs) - 1)] for s in range(1, total + 1)]


def step_marks(planned: Plan, run: RunSpec, exp: ExperimentSpec) -> list[tuple[int, str, str]]:
    """The plan's regime marks by training step."""
    per = 1 if run.interval == "batch" or planned.per_batch else exp.batches
    return [(k * per, kind, label) for k, kind, label in planned.marks]


@dataclass(frozen=True)
class Summary:
    """The numbers of a planned curve people compare schedules by."""

    peak: float
    peak_step: int
    warmup_end: float | None  # the LR when the warm-up ends (None: no warm-up)
    final: float
    above_half: int  # steps spent above half the peak LR


def summarize(lrs: list[float], marks: list[tuple[int, str, str]]) -> Summary:
    peak = max(lrs)
    warm = next((step for step, kind, _ in marks if kind == "warmup"), None)
    return Summary(
        peak,
        lrs.index(peak) + 1,
        lrs[min(warm, len(lrs) - 1)] if warm is not None else None,
        lrs[-1],
        sum(1 for lr in lrs if lr > peak / 2),
    )
