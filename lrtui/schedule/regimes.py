"""Where a schedule changes regime, read from torch's own scheduler objects as they step.

A `RegimeWatch` looks at a built schedule's tree before and after each scheduler step and
names what happened: a StepLR or MultiStepLR drop, a warm restart, the end of a warm-up, a
OneCycleLR or SequentialLR phase boundary, a ReduceLROnPlateau cut. It reads the schedulers'
own counters (`last_epoch`, `T_cur`, `num_bad_epochs`, ...) and the spec's parameters; it never
computes an LR. Schedules with nothing to mark get no watch, so they cost nothing.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

from lrtui.spec.events import PlateauCounters
from lrtui.spec.experiment import Call

WARMUPS = ("LinearLR", "ConstantLR", "PolynomialLR")
WATCHED = {
    "StepLR",
    "MultiStepLR",
    "CosineAnnealingWarmRestarts",
    "OneCycleLR",
    "SequentialLR",
    "ReduceLROnPlateau",
    *WARMUPS,
}
ONE_CYCLE_PHASES = {2: ("peak",), 3: ("peak", "end of anneal")}


@dataclass
class Built:
    """One scheduler object of a built schedule, with its spec and its place in the tree."""

    call: Call
    scheduler: object = None  # torch's scheduler (a plateau's real ReduceLROnPlateau)
    parent: Built | None = None
    index: int = 0  # its position among the parent's schedulers


@dataclass(frozen=True, slots=True)
class Mark:
    kind: str  # drop, restart, warmup, phase, cut
    label: str


def watch_for(nodes: list[Built]) -> RegimeWatch | None:
    watched = [n for n in nodes if n.call.name in WATCHED or n.call.name.startswith("hf.")]
    return RegimeWatch(watched) if watched else None


def _epoch(node: Built) -> int | None:
    e = getattr(node.scheduler, "last_epoch", None)
    return e if isinstance(e, int) else None


def _active(node: Built) -> bool:
    """Whether every SequentialLR above `node` has reached its phase."""
    while node.parent is not None:
        parent = node.parent
        if parent.call.name == "SequentialLR":
            milestones = list(parent.call.get("milestones") or ())
            e = _epoch(parent) or 0
            if bisect_right(milestones, e) != node.index:
                return False
        node = parent
    return True


def _ratio(before: float, after: float) -> str:
    if before > 0 and math.isfinite(before) and math.isfinite(after):
        return f"x{after / before:.3g}"
    return f"→ {after:.3g}"


class RegimeWatch:
    """Call `before(lr)` just before a scheduler step and `after(lr)` just after it."""

    def __init__(self, nodes: list[Built]) -> None:
        self._nodes = nodes
        self._plateau = next((n for n in nodes if n.call.name == "ReduceLROnPlateau"), None)
        self._epochs: list[int | None] = []
        self._t_cur: list[float | None] = []
        self._lr = math.nan
        self.cuts = 0

    def before(self, lr: float) -> None:
        self._lr = lr
        self._epochs = [_epoch(n) for n in self._nodes]
        self._t_cur = [getattr(n.scheduler, "T_cur", None) for n in self._nodes]

    def after(self, lr: float) -> list[Mark]:
        marks: list[Mark] = []
        for node, e0, t0 in zip(self._nodes, self._epochs, self._t_cur, strict=True):
            e = _epoch(node)
            if e is None or e == e0:
                continue  # this scheduler did not step (an inactive SequentialLR phase)
            mark = self._mark(node, e, t0, lr)
            if mark is not None:
                marks.append(mark)
        return marks

    def _mark(self, node: Built, e: int, t0: float | None, lr: float) -> Mark | None:
        call, name = node.call, node.call.name
        if name == "StepLR":
            size = call.get("step_size")
            if isinstance(size, int) and e > 0 and e % size == 0 and lr != self._lr:
                return Mark("drop", f"StepLR {_ratio(self._lr, lr)}")
        elif name == "MultiStepLR":
            if e in tuple(call.get("milestones") or ()) and lr != self._lr:
                return Mark("drop", f"MultiStepLR {_ratio(self._lr, lr)}")
        elif name == "CosineAnnealingWarmRestarts":
            t = getattr(node.scheduler, "T_cur", None)
            if isinstance(t, (int, float)) and isinstance(t0, (int, float)) and t < t0:
                return Mark("restart", "warm restart")
        elif name in WARMUPS:
            if e == getattr(node.scheduler, "total_iters", None):  # torch's own default when unset
                return Mark("warmup", f"{name} ends")
        elif name == "OneCycleLR":
            phases = getattr(node.scheduler, "_schedule_phases", None) or []
            names = ONE_CYCLE_PHASES.get(len(phases), ())
            for phase, label in zip(phases, names, strict=False):
                if e == math.floor(float(phase["end_step"])):
                    return Mark("phase", f"OneCycleLR {label}")
        elif name == "SequentialLR":
            milestones = tuple(call.get("milestones") or ())
            if e in milestones:
                k = milestones.index(e) + 1
                children = call.get("schedulers") or ()
                child = children[k].name if k < len(children) else "?"
                return Mark("phase", f"phase {k + 1}: {child}")
        elif name.startswith("hf."):
            return self._hf_mark(call, e, lr)
        elif name == "ReduceLROnPlateau" and lr < self._lr:
            self.cuts += 1
            return Mark("cut", f"plateau cut {_ratio(self._lr, lr)}")
        return None

    def _hf_mark(self, call: Call, e: int, lr: float) -> Mark | None:
        """A Hugging Face schedule's regimes, from its spec's own step counts: the end of
        warm-up, the start of WSD's decay, and each restart (the LR rising after warm-up)."""
        warm = call.get("num_warmup_steps") or 0
        if isinstance(warm, int) and warm > 0 and e == warm:
            return Mark("warmup", "warm-up ends")
        if call.name == "hf.warmup_stable_decay":
            stable, decay = call.get("num_stable_steps"), call.get("num_decay_steps")
            total = call.get("num_training_steps")
            start = (
                warm + stable
                if isinstance(stable, int)
                else (total - decay if isinstance(total, int) else None)
            )
            if e == start:
                return Mark("phase", "decay starts")
        if call.name == "hf.cosine_with_restarts" and e > warm and lr > self._lr:
            return Mark("restart", "restart")
        return None

    def counters(self) -> PlateauCounters | None:
        node = self._plateau
        if node is None:
            return None
        p = node.scheduler
        best = float(getattr(p, "best", math.nan))
        return PlateauCounters(
            int(getattr(p, "num_bad_epochs", 0)),
            int(getattr(p, "patience", 0)),
            int(getattr(p, "cooldown_counter", 0)),
            int(getattr(p, "cooldown", 0)),
            best if math.isfinite(best) else math.nan,
            self.cuts,
            _active(node),
        )
