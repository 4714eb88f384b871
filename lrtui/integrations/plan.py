"""The LR curve a live scheduler will follow, read off a shadow copy of it.

The copy is the trainer's own scheduler object, deep-copied onto a throwaway optimizer of
one-element parameters (the model's weights are never copied), then stepped: every LR comes
from the scheduler's own code. It is stepped ahead as lrtui's own runs are planned
(`schedule.plan.ahead`), its regime marks read by the same watch.
"""

from __future__ import annotations

import copy
import math

import torch

from lrtui.schedule.build import Watched
from lrtui.schedule.plan import MAX_PLAN, ahead
from lrtui.schedule.regimes import Built, RegimeWatch
from lrtui.spec.experiment import Call


def _call_of(scheduler: object) -> Call:
    """The spec values the regime watch reads, from a torch scheduler's own attributes."""
    name = type(scheduler).__name__
    if name == "StepLR":
        return Call(name, (("step_size", scheduler.step_size),))  # type: ignore[attr-defined]
    if name == "MultiStepLR":
        return Call(name, (("milestones", tuple(sorted(scheduler.milestones))),))  # type: ignore[attr-defined]
    return Call(name)


def _shadow(scheduler: object) -> tuple[object, torch.optim.Optimizer]:
    real = scheduler.optimizer  # type: ignore[attr-defined]
    groups = [
        {**{k: v for k, v in g.items() if k != "params"}, "params": [torch.zeros(1)]}
        for g in real.param_groups
    ]
    dummy = torch.optim.SGD(groups, lr=groups[0].get("lr", 0.1))
    shadow = copy.deepcopy(scheduler, {id(real): dummy})
    return shadow, dummy


def planned(scheduler: object, steps: int) -> tuple[list[float], list[tuple[int, str, str]]]:
    """LRs of param group 0 for training steps 1..steps+1, and the marks on the way, for a
    scheduler stepped once per training step; ([], []) where it cannot be planned."""
    if steps > MAX_PLAN or not hasattr(scheduler, "optimizer"):
        return [], []
    try:
        shadow, dummy = _shadow(scheduler)
    except Exception:  # a scheduler that cannot be copied is simply not planned
        return [], []
    return ahead(Watched(shadow, RegimeWatch([Built(_call_of(shadow), shadow)]), False, dummy), steps)


def optimizer_steps(batches: int | None, accumulation: int) -> int | None:
    """Optimizer steps an epoch, as the trainers count them: ⌈batches / accumulation⌉ (None
    without an epoch's length: an iterable dataset, an endless loader)."""
    if not batches or batches <= 0:
        return None
    return max(1, math.ceil(batches / max(1, accumulation)))


def epochs_of(total: int, per_epoch: int | None, fallback: int | None) -> int | None:
    """The epochs `total` optimizer steps take; without an epoch's length, the trainer's own
    count where it is one (HF says `sys.maxsize` for an endless loader, Lightning -1)."""
    if per_epoch:
        return math.ceil(total / per_epoch)
    return fallback if fallback is not None and 0 < fallback < 2**31 else None
