"""Every scheduler in `torch.optim.lr_scheduler`, chosen by name and checked before training.

The registry is read from the installed torch, so a new torch scheduler appears without code
changes. Schedulers are always torch's own classes: lrtui never re-implements a schedule.
"""

from __future__ import annotations

import inspect
import math
import warnings
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn
from torch.optim import lr_scheduler

from lrtui import annotations, regimes
from lrtui.composite import MetricComposite, PlateauStage
from lrtui.errors import SpecError
from lrtui.factors import build_factor
from lrtui.optimizers import build_optimizer
from lrtui.spec import Call, ExperimentSpec, Interval, RunSpec

# Parameters lrtui fills in itself, or that cannot be written as literals.
_HIDDEN = {"self", "optimizer", "last_epoch", "verbose", "scale_fn"}
_BATCH_SCHEDULERS = {"CyclicLR", "OneCycleLR"}
_REQUIRED = inspect.Parameter.empty
MAX_PLANNED_MARKS = 200

# Values that no schedule can mean, checked by parameter name across schedulers. torch checks
# some of these itself, some not (a negative gamma makes StepLR flip the LR's sign).
_POSITIVE = {
    "gamma",
    "max_lr",
    "step_size",
    "T_max",
    "T_0",
    "step_size_up",
    "step_size_down",
    "total_steps",
    "epochs",
    "steps_per_epoch",
    "div_factor",
    "final_div_factor",
}
_NON_NEGATIVE = {
    "eta_min",
    "min_lr",
    "base_lr",
    "patience",
    "cooldown",
    "total_iters",
    "threshold",
    "eps",
    "power",
    "factor",
    "start_factor",
    "end_factor",
    "base_momentum",
    "max_momentum",
}


@dataclass(frozen=True)
class ParamInfo:
    name: str
    annotation: str | None
    default: object  # inspect.Parameter.empty when required

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def __str__(self) -> str:
        return f"{self.name}=<required>" if self.required else f"{self.name}={self.default!r}"


@dataclass(frozen=True)
class SchedulerInfo:
    name: str
    cls: type
    params: tuple[ParamInfo, ...]
    interval: Interval
    doc: str

    def param(self, name: str) -> ParamInfo | None:
        return next((p for p in self.params if p.name == name), None)


@lru_cache(maxsize=1)
def registry() -> dict[str, SchedulerInfo]:
    """Scheduler name -> info, for every public scheduler class of the installed torch."""
    found: dict[str, SchedulerInfo] = {}
    for name, cls in sorted(vars(lr_scheduler).items()):
        if name.startswith("_") or not inspect.isclass(cls) or cls is lr_scheduler.LRScheduler:
            continue
        if not (issubclass(cls, lr_scheduler.LRScheduler) or cls is lr_scheduler.ReduceLROnPlateau):
            continue
        params = tuple(
            ParamInfo(p.name, annotations.annotation_text(p), p.default)
            for p in inspect.signature(cls.__init__).parameters.values()
            if p.name not in _HIDDEN and p.kind is not p.VAR_KEYWORD
        )
        doc = (inspect.getdoc(cls) or "").strip().split("\n\n")[0].replace("\n", " ")
        interval: Interval = "batch" if name in _BATCH_SCHEDULERS else "epoch"
        found[name] = SchedulerInfo(name, cls, params, interval, doc)
    return found


def default_interval(call: Call) -> Interval:
    info = registry().get(call.name)
    return info.interval if info else "epoch"


def uses_metric(call: Call) -> bool:
    """Whether the schedule depends on the loss (so it cannot be planned ahead)."""
    if call.name == "ReduceLROnPlateau":
        return True
    return any(_nested_calls(call, uses_metric))


def _nested_calls(call: Call, pred) -> list[bool]:
    out = []
    for _, v in call.kwargs:
        items = v if isinstance(v, tuple) else (v,)
        out.extend(pred(item) for item in items if isinstance(item, Call) and item.name in registry())
    return out


def check_call(call: Call, where: str) -> None:
    """Names, types and nonsense values of one scheduler spec (and the specs nested in it)."""
    info = registry().get(call.name)
    if info is None:
        close = [n for n in registry() if n.lower() == call.name.lower()]
        hint = f" (did you mean {close[0]}?)" if close else " (see lrtui --list-schedulers)"
        raise SpecError(f"{where}: unknown scheduler {call.name!r}{hint}")
    for key, value in call.kwargs:
        param = info.param(key)
        if param is None:
            takes = ", ".join(p.name for p in info.params)
            raise SpecError(f"{where}: {call.name} has no parameter {key!r} (it takes {takes})")
        if annotations.wants_callable(param.annotation):
            items = value if isinstance(value, tuple) else (value,)
            for item in items:
                build_factor(item, f"{where}: {call.name} {key}")
            continue
        if annotations.wants_scheduler(param.annotation):
            if not isinstance(value, tuple) or not value:
                raise SpecError(f"{where}: {call.name} {key} must be a list of scheduler specs")
            for item in value:
                if not isinstance(item, Call):
                    raise SpecError(f"{where}: {call.name} {key} must hold scheduler specs, not {item!r}")
                check_call(item, f"{where}: {call.name}")
            continue
        if isinstance(value, Call):
            raise SpecError(f"{where}: {call.name} {key} must be a literal, not {value}")
        if not annotations.accepts(param.annotation, value):
            raise SpecError(
                f"{where}: {call.name} {key}={value!r} is not {annotations.describe(param.annotation)}"
            )
        _check_range(call.name, key, value, where)
    for param in info.params:
        if param.required and not call.has(param.name):
            raise SpecError(f"{where}: {call.name} needs {param.name}=...")
    if call.name == "MultiStepLR":
        milestones = call.get("milestones")
        if isinstance(milestones, tuple) and list(milestones) != sorted(set(milestones)):
            raise SpecError(f"{where}: MultiStepLR milestones must increase, not {list(milestones)}")


def _check_range(name: str, key: str, value: object, where: str) -> None:
    numbers = value if isinstance(value, tuple) else (value,)
    for v in numbers:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if not math.isfinite(v):
            raise SpecError(f"{where}: {name} {key} must be finite, not {v!r}")
        if key in _POSITIVE and v <= 0:
            raise SpecError(f"{where}: {name} {key} must be > 0, not {v!r}")
        if key in _NON_NEGATIVE and v < 0:
            raise SpecError(f"{where}: {name} {key} must be >= 0, not {v!r}")
        if key == "milestones" and v < 0:
            raise SpecError(f"{where}: {name} milestones must be >= 0, not {v!r}")


def resolve_run(run: RunSpec, exp: ExperimentSpec) -> RunSpec:
    """Check a run against the experiment and fill in what lrtui derives from the run length."""
    where = run.label
    check_call(run.scheduler, where)
    call = _derive(run.scheduler, exp.steps_of(run))
    _check_one_cycle(call, exp, run, where)
    resolved = RunSpec(call, run.interval, run.label)
    try:
        _dry_run(resolved, exp)
    except SpecError:
        raise
    except Exception as exc:  # torch's own checks: its message is the best explanation
        prefix = where if where == call.name else f"{where}: {call.name}"
        raise SpecError(f"{prefix}: {_one_line(exc)}") from None
    return resolved


def _derive(call: Call, steps: int) -> Call:
    """OneCycleLR without a length gets the run's length, here and inside composed schedules."""
    if call.name == "OneCycleLR" and not any(
        call.has(k) for k in ("total_steps", "epochs", "steps_per_epoch")
    ):
        call = call.with_kwarg("total_steps", steps)
    kwargs = []
    for key, value in call.kwargs:
        if isinstance(value, tuple) and any(isinstance(v, Call) for v in value):
            value = tuple(
                _derive(v, steps) if isinstance(v, Call) and v.name in registry() else v for v in value
            )
        kwargs.append((key, value))
    return Call(call.name, tuple(kwargs))


def _check_one_cycle(call: Call, exp: ExperimentSpec, run: RunSpec, where: str) -> None:
    if call.name != "OneCycleLR":
        return
    total = call.get("total_steps")
    if total is None:
        total = (call.get("epochs") or 0) * (call.get("steps_per_epoch") or 0)
    needed = exp.steps_of(run)
    if isinstance(total, int) and total < needed:
        per = (
            f"{exp.epochs} epochs x {exp.batches} batches"
            if run.interval == "batch"
            else f"{exp.epochs} epochs"
        )
        raise SpecError(
            f"{where}: OneCycleLR total_steps={total} is smaller than the {needed} steps "
            f"this run takes ({per}, stepped per {run.interval})"
        )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@dataclass
class Built:
    """One scheduler object of a built schedule, with its spec and its place in the tree."""

    call: Call
    scheduler: object = None  # torch's scheduler (a plateau's real ReduceLROnPlateau)
    parent: Built | None = None
    index: int = 0  # its position among the parent's schedulers


def build_scheduler(
    call: Call,
    optimizer: torch.optim.Optimizer,
    nodes: list[Built] | None = None,
    parent: Built | None = None,
    index: int = 0,
):
    """Construct torch's scheduler for a checked `call` on `optimizer`.

    `nodes`, when given, receives every scheduler of the tree (outermost first), for
    `regimes.RegimeWatch`. A composed schedule holding ReduceLROnPlateau comes back as a
    `MetricComposite`, stepped with the loss like ReduceLROnPlateau itself.
    """
    info = registry()[call.name]
    node = Built(call, parent=parent, index=index)
    if nodes is not None:
        nodes.append(node)
    kwargs: dict[str, object] = {}
    stages: list[PlateauStage] = []
    for key, value in call.kwargs:
        param = info.param(key)
        ann = param.annotation if param else None
        if annotations.wants_callable(ann):
            kwargs[key] = (
                [build_factor(v, key) for v in value]
                if isinstance(value, tuple)
                else build_factor(value, key)
            )
        elif annotations.wants_scheduler(ann):
            children = []
            for i, v in enumerate(value):  # type: ignore[union-attr]
                child = build_scheduler(v, optimizer, nodes, node, i)
                if isinstance(child, lr_scheduler.ReduceLROnPlateau):
                    child = PlateauStage(child)
                    stages.append(child)
                elif isinstance(child, MetricComposite):  # fed from the top, with ours
                    stages.extend(child.stages)
                    child = child.inner
                children.append(child)
            kwargs[key] = children
        else:
            kwargs[key] = list(value) if isinstance(value, tuple) else value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. the deprecation notes for epoch arguments
        node.scheduler = info.cls(optimizer=optimizer, **kwargs)
    return MetricComposite(node.scheduler, stages) if stages else node.scheduler


def _probe_optimizer(exp: ExperimentSpec) -> torch.optim.Optimizer:
    return build_optimizer(exp.optimizer, [nn.Parameter(torch.zeros(1))], exp.lr)


def _dry_run(run: RunSpec, exp: ExperimentSpec) -> None:
    """Build the scheduler once on a throwaway optimizer so torch's own checks run now."""
    optimizer = _probe_optimizer(exp)
    scheduler = build_scheduler(run.scheduler, optimizer)
    optimizer.step()
    if uses_metric(run.scheduler):
        scheduler.step(1.0)
    else:
        scheduler.step()


@dataclass(frozen=True)
class Plan:
    """The LR of param group 0 before the first scheduler step and after each one, and the
    regime changes on the way as (scheduler step, kind, label)."""

    lrs: tuple[float, ...]
    marks: tuple[tuple[int, str, str], ...] = ()


def plan(run: RunSpec, exp: ExperimentSpec, max_steps: int = 200_000) -> Plan | None:
    """The schedule ahead, computed by stepping the real scheduler on a throwaway optimizer,
    without training. None when the schedule follows the loss, or when the run is too long to
    plan quickly."""
    steps = exp.steps_of(run)
    if uses_metric(run.scheduler) or steps > max_steps:
        return None
    optimizer = _probe_optimizer(exp)
    nodes: list[Built] = []
    scheduler = build_scheduler(run.scheduler, optimizer, nodes)
    watch = regimes.watch_for(nodes)
    group = optimizer.param_groups[0]
    lrs = [float(group["lr"])]
    marks: list[tuple[int, str, str]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(1, steps + 1):
            optimizer.step()
            if watch is not None:
                watch.before(lrs[-1])
            scheduler.step()
            lrs.append(float(group["lr"]))
            if watch is not None and len(marks) < MAX_PLANNED_MARKS:
                marks.extend((k, m.kind, m.label) for m in watch.after(lrs[-1]))
    return Plan(tuple(lrs), tuple(marks))


def describe_schedulers() -> list[str]:
    """The `--list-schedulers` listing: each scheduler, its parameters and default stepping."""
    lines = []
    for info in registry().values():
        params = ", ".join(str(p) for p in info.params)
        lines.append(f"{info.name}({params})")
        lines.append(f"    steps per {info.interval} by default. {info.doc}")
    return lines
