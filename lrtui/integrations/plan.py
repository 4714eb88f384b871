"""The LR curve a live scheduler will follow, read off a shadow copy of it.

The copy is the trainer's own scheduler object, deep-copied onto a throwaway optimizer of
one-element parameters (the model's weights are never copied), then stepped: every LR comes
from the scheduler's own code. Regime marks are read from the copy as it steps, by the same
watch lrtui uses for its own runs.
"""

from __future__ import annotations

import copy
import warnings

import torch

from lrtui.schedule.regimes import Built, RegimeWatch
from lrtui.spec.events import MAX_MARKS
from lrtui.spec.experiment import Call

MAX_PLAN = 200_000  # steps: longer runs are not planned (as lrtui's own)


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
    group = dummy.param_groups[0]
    watch = RegimeWatch([Built(_call_of(shadow), shadow)])
    lrs, marks = [float(group["lr"])], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(1, steps + 1):
            dummy.step()
            watch.before(lrs[-1])
            shadow.step()  # type: ignore[attr-defined]
            lrs.append(float(group["lr"]))
            if len(marks) < MAX_MARKS:
                marks += [(k, m.kind, m.label) for m in watch.after(lrs[-1])]
    return lrs, marks
