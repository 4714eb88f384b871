"""Every scheduler in `torch.optim.lr_scheduler`, by name, and the checks a spec passes.

The registry is read from the installed torch, so a new torch scheduler appears without code
changes. Schedulers are always torch's own classes: lrtui never re-implements a schedule.
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass
from functools import lru_cache

from torch.optim import lr_scheduler

from lrtui.schedule import annotations
from lrtui.schedule.factors import build_factor
from lrtui.schedule.hf import check_hf, hf_did_you_mean, is_hf
from lrtui.schedule.ranges import check_range
from lrtui.spec.choices import OPTIMIZER_NAMES
from lrtui.spec.errors import SpecError
from lrtui.spec.experiment import Call, Interval
from lrtui.spec.text import clean

# Parameters lrtui fills in itself, or that cannot be written as literals.
_HIDDEN = {"self", "optimizer", "last_epoch", "verbose", "scale_fn"}
_BATCH_SCHEDULERS = {"CyclicLR", "OneCycleLR"}
_REQUIRED = inspect.Parameter.empty


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


def did_you_mean(name: str) -> str:
    """A hint naming the closest schedulers to a name that is not one."""
    names = list(registry())
    by_case = [n for n in names if n.lower() == name.lower()]
    close = by_case or difflib.get_close_matches(name, names, n=2, cutoff=0.6)
    if not close:  # a prefix, such as CosineAnnealing
        close = [n for n in names if n.lower().startswith(name.lower()[:8])][:3] if len(name) >= 4 else []
    if close:
        return f" (did you mean {' or '.join(close)}?)"
    optimizers = difflib.get_close_matches(name, OPTIMIZER_NAMES, n=2, cutoff=0.7)
    if optimizers:  # a bare optimizer misspelled reads as a scheduler's name
        return f" (did you mean the optimizer {' or '.join(optimizers)}?)"
    # a name lrtui knows neither way (`Lion`): both lists, the optimizers' short enough to show
    known = ", ".join(OPTIMIZER_NAMES)
    return (
        hf_did_you_mean(name)
        or f", nor an optimizer lrtui knows ({known}; schedulers: lrtui --list-schedulers)"
    )


def default_interval(call: Call) -> Interval:
    if is_hf(call.name):
        return "batch"  # as the HF Trainer steps them
    info = registry().get(call.name)
    return info.interval if info else "epoch"


def is_schedule(name: str) -> bool:
    """A torch scheduler's or a Hugging Face schedule's name (not a factor's)."""
    return name in registry() or is_hf(name)


def uses_metric(call: Call) -> bool:
    """Whether the schedule depends on the loss (so it cannot be planned ahead)."""
    if call.name == "ReduceLROnPlateau":
        return True
    return any(_nested_calls(call, uses_metric))


def _nested_calls(call: Call, pred) -> list[bool]:
    out = []
    for _, v in call.kwargs:
        items = v if isinstance(v, tuple) else (v,)
        out.extend(pred(item) for item in items if isinstance(item, Call) and is_schedule(item.name))
    return out


def check_call(call: Call, where: str) -> None:
    """Names, types and nonsense values of one scheduler spec (and the specs nested in it)."""
    if is_hf(call.name):
        check_hf(call, where)
        return
    info = registry().get(call.name)
    if info is None:
        raise SpecError(f"{where}: unknown scheduler {clean(call.name, 60)!r}{did_you_mean(call.name)}")
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
        check_range(call.name, key, value, where)
    for param in info.params:
        if param.required and not call.has(param.name):
            raise SpecError(f"{where}: {call.name} needs {param.name}=...")
    if call.name == "MultiStepLR":
        milestones = call.get("milestones")
        if isinstance(milestones, tuple) and list(milestones) != sorted(set(milestones)):
            raise SpecError(f"{where}: MultiStepLR milestones must increase, not {list(milestones)}")


def describe_schedulers() -> list[str]:
    """The `--list-schedulers` listing: each scheduler, its parameters and default stepping."""
    lines = []
    for info in registry().values():
        params = ", ".join(str(p) for p in info.params)
        lines.append(f"{info.name}({params})")
        lines.append(f"    steps per {info.interval} by default. {info.doc}")
    return lines
