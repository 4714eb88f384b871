"""The optimizers a comparison can use, named like `--optimizer 'AdamW(weight_decay=0.01)'`.

Each family is one `OptimizerKind` in `OPTIMIZER_KINDS`: building it, its aliases, the memory
its state takes and its train/eval modes are read from there, so a new family is one entry
here and its aliases in `spec.choices` (kept in step by a test). The schedule-free family
(`lrtui[schedulefree]`, Defazio et al. 2024) is imported only when a run names it.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from lrtui.schedule import annotations
from lrtui.spec.errors import SpecError
from lrtui.spec.experiment import Call
from lrtui.spec.parse import parse_call
from lrtui.spec.text import clean

Kwargs = tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class OptimizerKind:
    """One optimizer family: how lrtui builds it, names it, and counts the memory it keeps."""

    name: str
    cls: type[torch.optim.Optimizer] | None  # None: imported from `module` when first used
    state: int  # tensors the size of a parameter it keeps per parameter, under its defaults
    more_state: tuple[tuple[str, int], ...] = ()  # options that keep more when set: (name, tensors)
    # train()/eval() switch the weights the model holds (schedule-free evaluates at an average
    # of its iterates): evaluation runs in eval mode, training in train mode
    has_modes: bool = False
    defaults: Kwargs = ()  # keyword arguments lrtui passes unless the user sets them
    aliases: tuple[tuple[str, Kwargs], ...] = ()  # short names besides its own lower-cased one
    module: str = ""  # where a lazily imported class lives (a package of an extra)
    extra: str = ""  # the `lrtui[extra]` that installs `module`
    # the param-group key where the optimizer leaves the LR it applied at its last step, when
    # it scales group["lr"] itself (schedule-free's warm-up): the LR that moved the weights
    applied_key: str = ""

    def optimizer_class(self) -> type[torch.optim.Optimizer]:
        """The class, imported on first use; a missing package is an error naming the extra."""
        if self.cls is not None:
            return self.cls
        try:
            return getattr(importlib.import_module(self.module), self.name)
        except ImportError:
            raise SpecError(
                f"optimizer {self.name} needs the {self.module} package: pip install 'lrtui[{self.extra}]'"
            ) from None

    def is_class_of(self, optimizer: torch.optim.Optimizer) -> bool:
        """Whether `optimizer` is of this kind (a lazy kind is never imported to tell)."""
        cls = type(optimizer)
        if self.cls is not None:
            return cls is self.cls
        return cls.__name__ == self.name and cls.__module__.split(".")[0] == self.module

    def state_per_param(self, call: Call) -> int:
        """Tensors of each parameter's size the optimizer `call` keeps, for the memory count."""
        options = dict(call.kwargs)
        return self.state + sum(n for key, n in self.more_state if options.get(key))

    def build(
        self, call: Call, params: list[nn.Parameter], lr: float, **extra: object
    ) -> torch.optim.Optimizer:
        """The optimizer `call` over `params`, in train mode; `extra`: what lrtui sets itself.
        A run's own `lr=` in `call` wins over `lr` (--lr)."""
        given = {k: (list(v) if isinstance(v, tuple) else v) for k, v in call.kwargs}
        cls = self.optimizer_class()
        optimizer = cls(params, **{"lr": lr, **dict(self.defaults), **given, **extra})
        self.to_train(optimizer)  # an optimizer with modes steps only in train mode
        return optimizer

    def applied_lrs(self, optimizer: torch.optim.Optimizer) -> tuple[float, ...]:
        """Each param group's LR as its last step applied it: group["lr"] for torch's own (a
        scheduler sets it), the optimizer's own record where it scales that LR itself."""
        key = self.applied_key or "lr"
        return tuple(float(g[key]) for g in optimizer.param_groups)

    def to_eval(self, optimizer: torch.optim.Optimizer) -> None:
        if self.has_modes:
            optimizer.eval()  # type: ignore[attr-defined]

    def to_train(self, optimizer: torch.optim.Optimizer) -> None:
        if self.has_modes:
            optimizer.train()  # type: ignore[attr-defined]


_MOMENTUM: Kwargs = (("momentum", 0.9),)
# z and (Adam's) the second moment; warm-up (RAdam: its rectification) scales the LR inside
_SCHEDULE_FREE = {"module": "schedulefree", "extra": "schedulefree", "applied_key": "scheduled_lr"}
OPTIMIZER_KINDS: dict[str, OptimizerKind] = {
    kind.name: kind
    for kind in (
        OptimizerKind(
            "SGD",
            torch.optim.SGD,
            0,
            (("momentum", 1),),
            aliases=(("momentum", _MOMENTUM), ("nesterov", (*_MOMENTUM, ("nesterov", True)))),
        ),
        OptimizerKind("Adam", torch.optim.Adam, 2, (("amsgrad", 1),)),
        OptimizerKind("AdamW", torch.optim.AdamW, 2, (("amsgrad", 1),)),
        OptimizerKind("RMSprop", torch.optim.RMSprop, 1, (("momentum", 1), ("centered", 1))),
        OptimizerKind("Adagrad", torch.optim.Adagrad, 1),
        *(
            OptimizerKind(name, None, state, has_modes=True, **_SCHEDULE_FREE)  # type: ignore[arg-type]
            for name, state in (("AdamWScheduleFree", 2), ("SGDScheduleFree", 1), ("RAdamScheduleFree", 2))
        ),
    )
}
# read from the kinds; `spec.choices.OPTIMIZER_ALIASES` is the same, for `--help` without torch
ALIASES: dict[str, Call] = {
    alias: Call(kind.name, kwargs)
    for kind in OPTIMIZER_KINDS.values()
    for alias, kwargs in ((kind.name.lower(), ()), *kind.aliases)
}
_PLAIN = OptimizerKind("an optimizer lrtui did not build", torch.optim.Optimizer, 0)


def kind_of(optimizer: torch.optim.Optimizer) -> OptimizerKind:
    """The kind an optimizer was built from (one lrtui did not build has no modes)."""
    return next((k for k in OPTIMIZER_KINDS.values() if k.is_class_of(optimizer)), _PLAIN)


# Set by lrtui itself: the learning rate comes from --lr, and these would change the numerics
# or the device handling behind the user's back.
_RESERVED = {"params", "lr", "differentiable", "fused", "foreach", "capturable"}


def parse_optimizer(text: str) -> Call:
    """Read `--optimizer`: an alias such as `momentum`, or a call such as `SGD(momentum=0.9)`."""
    alias = ALIASES.get(text.strip().lower())
    if alias is not None and "(" not in text:
        return alias
    call = parse_call(text, "optimizer")
    return check_optimizer(call)


def _canonical(call: Call) -> Call | None:
    """The call with the optimizer's own name, whatever its case (`adam(eps=1)` is Adam)."""
    if call.name in OPTIMIZER_KINDS:
        return call
    alias = ALIASES.get(call.name.lower())
    if alias is not None and not call.kwargs:
        return alias
    named = next((n for n in OPTIMIZER_KINDS if n.lower() == call.name.lower()), None)
    if named is None and alias is not None:
        named = alias.name
        call = Call(named, (*alias.kwargs, *call.kwargs))
    return Call(named, call.kwargs) if named else None


def check_optimizer(call: Call, own_lr: bool = False) -> Call:
    """A checked optimizer call, by its canonical name; `own_lr`: a run's own optimizer may
    set its lr= (the run's base LR, over --lr)."""
    found = _canonical(call)
    if found is None:
        raise SpecError(f"unknown optimizer {clean(call.name, 60)!r}{_did_you_mean(call.name)}")
    call = found
    cls = OPTIMIZER_KINDS[call.name].optimizer_class()
    params = inspect.signature(cls.__init__).parameters
    for key, value in call.kwargs:
        if key == "lr" and own_lr:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise SpecError(f"optimizer {call.name}: lr must be a positive number, not {value!r}")
            continue
        if key in _RESERVED:
            hint = " (use --lr)" if key == "lr" else ""
            raise SpecError(f"optimizer {call.name}: {key} is set by lrtui{hint}")
        param = params.get(key)
        if param is None or key == "self":
            known = [p for p in params if p not in _RESERVED and p != "self"]
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise SpecError(
                f"optimizer {call.name} has no parameter {key!r} ({hint}it takes {', '.join(known)})"
            )
        ann = annotations.annotation_text(param)
        if not annotations.accepts(ann, value):
            raise SpecError(f"optimizer {call.name}: {key}={value!r} is not {annotations.describe(ann)}")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise SpecError(f"optimizer {call.name}: {key} must not be negative, not {value!r}")
    _dry_build(call)
    return call


def _did_you_mean(name: str) -> str:
    names = [*OPTIMIZER_KINDS, *ALIASES]
    close = difflib.get_close_matches(name, names, n=2, cutoff=0.6)
    close = close or difflib.get_close_matches(name.lower(), [n.lower() for n in names], n=2, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return f" ({hint}choose from {', '.join(OPTIMIZER_KINDS)})"  # each once: the aliases are short names


def _dry_build(call: Call) -> None:
    """Build the optimizer once on a throwaway parameter and step it, so torch's own checks
    (betas of two numbers, ...) fail here, named as the optimizer's."""
    param = nn.Parameter(torch.zeros(1))
    try:
        optimizer = build_optimizer(call, [param], 0.1)
        param.grad = torch.zeros(1)
        optimizer.step()
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        key = _refused_parameter(call)
        where = f"{call.name}: {key}={call.get(key)!r}" if key else f"optimizer {call}"
        raise SpecError(f"{where}: {type(exc).__name__}: {first}") from None


def _refused_parameter(call: Call) -> str | None:
    """The parameter torch refused, found by building with each one alone (None if no single
    one fails by itself): an error such as `IndexError` names no parameter of its own."""
    for key, value in call.kwargs:
        try:
            optimizer = build_optimizer(Call(call.name, ((key, value),)), [nn.Parameter(torch.zeros(1))], 0.1)
            optimizer.param_groups[0]["params"][0].grad = torch.zeros(1)
            optimizer.step()
        except Exception:
            return key
    return None


def build_optimizer(
    call: Call, params: Iterable[nn.Parameter] | Iterable[dict], lr: float
) -> torch.optim.Optimizer:
    """The optimizer `call` over `params`: parameters, or torch's param groups (a task's own)."""
    params = list(params)
    tensors = [p for g in params for p in g["params"]] if params and isinstance(params[0], dict) else params
    first = tensors[0] if tensors else None
    # the per-tensor loop torch picks on CPU anyway, without re-deciding it every step
    extra = {"foreach": False} if first is not None and first.device.type == "cpu" else {}
    return OPTIMIZER_KINDS[call.name].build(call, params, lr, **extra)
