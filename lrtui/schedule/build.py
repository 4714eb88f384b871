"""Checked specs into torch's own scheduler objects, each with the watch that reads its regimes.

`build_watched` is the one way a schedule is built, for training and for the planned curve
alike, so both see the same tree and the same regime marks. `resolve_run` checks a run against
its experiment before any training: it fills in what lrtui derives (OneCycleLR's length) and
builds the schedule once on a throwaway optimizer so that torch's own checks run up front.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.optim import lr_scheduler

from lrtui.schedule import annotations
from lrtui.schedule.composite import MetricComposite, PlateauStage
from lrtui.schedule.factors import build_factor
from lrtui.schedule.hf import build_hf, derive_hf, is_hf
from lrtui.schedule.optimizers import build_optimizer, check_optimizer
from lrtui.schedule.regimes import Built, Mark, RegimeWatch, watch_for
from lrtui.schedule.registry import check_call, registry, uses_metric
from lrtui.spec.errors import SpecError
from lrtui.spec.events import PlateauCounters
from lrtui.spec.experiment import Call, ExperimentSpec, RunSpec


@dataclass
class Watched:
    """A built schedule: the object to step, the optimizer it drives, and the watch over its
    tree (None when the schedule has no regime changes to mark).

    `step` is the one way any schedule is stepped: by the trainer, by a plan stepping ahead
    without training, and by the plan of a user's own scheduler (`integrations.plan`), so all
    of them see the same marks.
    """

    scheduler: object
    watch: RegimeWatch | None
    metric: bool  # stepped with the loss (ReduceLROnPlateau, alone or composed)
    optimizer: torch.optim.Optimizer
    nodes: list[Built] = field(default_factory=list)  # every scheduler of the tree (checkpoints)

    def step(self, loss: Callable[[], float] | None = None) -> list[Mark]:
        """Step the schedule once, with `loss()` where it follows the loss (read only then: on
        a device, reading a loss waits for it); the regime changes the step made, read off
        param group 0's LR just before and just after it."""
        group = self.optimizer.param_groups[0]
        if self.watch is not None:
            self.watch.before(float(group["lr"]))
        if self.metric:
            if loss is None:
                raise ValueError("a schedule that follows the loss is stepped with it")
            self.scheduler.step(loss())  # type: ignore[attr-defined]
        else:
            self.scheduler.step()  # type: ignore[attr-defined]
        return [] if self.watch is None else self.watch.after(float(group["lr"]))

    def counters(self) -> PlateauCounters | None:
        """ReduceLROnPlateau's own counters, where the schedule holds one."""
        return None if self.watch is None else self.watch.counters()


def build_watched(call: Call, optimizer: torch.optim.Optimizer) -> Watched:
    """Construct torch's scheduler for a checked `call` on `optimizer`, and its regime watch.

    A composed schedule holding ReduceLROnPlateau comes back as a `MetricComposite`, stepped
    with the loss like ReduceLROnPlateau itself.
    """
    nodes: list[Built] = []
    scheduler = _build(call, optimizer, nodes, None, 0)
    return Watched(scheduler, watch_for(nodes), uses_metric(call), optimizer, nodes)


def _build(
    call: Call, optimizer: torch.optim.Optimizer, nodes: list[Built], parent: Built | None, index: int
):
    """One node of the tree (outermost first into `nodes`), its children built first."""
    node = Built(call, parent=parent, index=index)
    nodes.append(node)
    if is_hf(call.name):
        node.scheduler = build_hf(call, optimizer)
        return node.scheduler
    info = registry()[call.name]
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
            kwargs[key] = _children(value, optimizer, nodes, node, stages)  # type: ignore[arg-type]
        else:
            kwargs[key] = list(value) if isinstance(value, tuple) else value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. the deprecation notes for epoch arguments
        node.scheduler = info.cls(optimizer=optimizer, **kwargs)
    return MetricComposite(node.scheduler, stages) if stages else node.scheduler


def _children(
    calls: tuple[Call, ...],
    optimizer: torch.optim.Optimizer,
    nodes: list[Built],
    node: Built,
    stages: list[PlateauStage],
) -> list[object]:
    """A composer's children; plateau children become stages fed with the loss from the top."""
    children = []
    for i, call in enumerate(calls):
        child = _build(call, optimizer, nodes, node, i)
        if isinstance(child, lr_scheduler.ReduceLROnPlateau):
            child = PlateauStage(child)
            stages.append(child)
        elif isinstance(child, MetricComposite):  # fed from the top, with ours
            stages.extend(child.stages)
            child = child.inner
        children.append(child)
    return children


def probe_optimizer(exp: ExperimentSpec, run: RunSpec | None = None) -> torch.optim.Optimizer:
    """A throwaway optimizer of the run's kind (the experiment's, without a run), for dry
    runs and planned curves."""
    call, lr = (exp.optimizer, exp.lr) if run is None else (exp.optimizer_of(run), exp.lr_of(run))
    return build_optimizer(call, [nn.Parameter(torch.zeros(1))], lr)


def resolve_run(run: RunSpec, exp: ExperimentSpec, dry_run: bool = True) -> RunSpec:
    """Check a run against the experiment and fill in what lrtui derives from the run length;
    with `dry_run`, also build it once so torch's own checks run (see `check_runs`)."""
    check_call(run.scheduler, run.label)
    own = None if run.optimizer is None else _own_optimizer(run)
    call = _derive(run.scheduler, exp.steps_of(run))
    _check_one_cycle(call, exp, run, run.label)
    resolved = RunSpec(call, run.interval, run.label, optimizer=own)
    if dry_run:
        check_run(resolved, exp)
    return resolved


def _own_optimizer(run: RunSpec) -> Call:
    """A run's own optimizer, checked as --optimizer is (its lr= allowed), named in errors."""
    assert run.optimizer is not None
    try:
        return check_optimizer(run.optimizer, own_lr=True)
    except SpecError as exc:  # named once where the run's label is the optimizer's name
        said = str(exc)
        raise SpecError(said if said.startswith(f"{run.label}:") else f"{run.label}: {said}") from None


def check_run(run: RunSpec, exp: ExperimentSpec) -> None:
    """Build the run's scheduler once on a throwaway optimizer: torch's own checks, as a
    SpecError naming the run. (torch's first optimizer imports torch._dynamo, about 1.5 s,
    which is why the live app lets its trainer's process do this after the first screen.)"""
    try:
        _dry_run(run, exp)
    except SpecError:
        raise
    except Exception as exc:  # torch's own checks: its message is the best explanation
        name = run.scheduler.name
        prefix = run.label if run.label == name else f"{run.label}: {name}"
        raise SpecError(f"{prefix}: {one_line(exc)}") from None


def check_runs(exp: ExperimentSpec) -> None:
    for run in exp.runs:
        check_run(run, exp)


def _derive(call: Call, steps: int) -> Call:
    """OneCycleLR without a length gets the run's length, and so does a Hugging Face schedule's
    `num_training_steps`, here and inside composed schedules."""
    if is_hf(call.name):
        return derive_hf(call, steps)
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


def _dry_run(run: RunSpec, exp: ExperimentSpec) -> None:
    """Build the scheduler once on a throwaway optimizer so torch's own checks run now."""
    optimizer = probe_optimizer(exp, run)
    built = build_watched(run.scheduler, optimizer)
    optimizer.step()
    built.step(lambda: 1.0)


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message, for a one-line error."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def describe_error(exc: BaseException) -> str:
    """An exception in one line: its type and its message's first line."""
    return f"{type(exc).__name__}: {one_line(exc)}" if str(exc).strip() else type(exc).__name__
