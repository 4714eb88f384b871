"""The optimizers a comparison can use, named like `--optimizer 'AdamW(weight_decay=0.01)'`."""

from __future__ import annotations

import inspect
from collections.abc import Iterable

import torch
from torch import nn

from lrtui.schedule import annotations
from lrtui.spec.choices import OPTIMIZER_ALIASES
from lrtui.spec.errors import SpecError
from lrtui.spec.experiment import Call
from lrtui.spec.parse import parse_call
from lrtui.spec.text import clean

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "SGD": torch.optim.SGD,
    "Adam": torch.optim.Adam,
    "AdamW": torch.optim.AdamW,
    "RMSprop": torch.optim.RMSprop,
    "Adagrad": torch.optim.Adagrad,
}

ALIASES = OPTIMIZER_ALIASES

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
    if call.name in OPTIMIZERS:
        return call
    alias = ALIASES.get(call.name.lower())
    if alias is not None and not call.kwargs:
        return alias
    named = next((n for n in OPTIMIZERS if n.lower() == call.name.lower()), None)
    if named is None and alias is not None:
        named = alias.name
        call = Call(named, (*alias.kwargs, *call.kwargs))
    return Call(named, call.kwargs) if named else None


def check_optimizer(call: Call) -> Call:
    found = _canonical(call)
    if found is None:
        choices = ", ".join([*OPTIMIZERS, *ALIASES])
        raise SpecError(f"unknown optimizer {clean(call.name, 60)!r} (choose from {choices})")
    call = found
    cls = OPTIMIZERS[call.name]
    params = inspect.signature(cls.__init__).parameters
    for key, value in call.kwargs:
        if key in _RESERVED:
            hint = " (use --lr)" if key == "lr" else ""
            raise SpecError(f"optimizer {call.name}: {key} is set by lrtui{hint}")
        param = params.get(key)
        if param is None or key == "self":
            known = ", ".join(p for p in params if p not in _RESERVED and p != "self")
            raise SpecError(f"optimizer {call.name} has no parameter {key!r} (it takes {known})")
        ann = annotations.annotation_text(param)
        if not annotations.accepts(ann, value):
            raise SpecError(f"optimizer {call.name}: {key}={value!r} is not {annotations.describe(ann)}")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise SpecError(f"optimizer {call.name}: {key} must not be negative, not {value!r}")
    _dry_build(call)
    return call


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
        raise SpecError(f"optimizer {call}: {type(exc).__name__}: {first}") from None


def build_optimizer(call: Call, params: Iterable[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    kwargs = {k: (list(v) if isinstance(v, tuple) else v) for k, v in call.kwargs}
    params = list(params)
    if params and params[0].device.type == "cpu":
        # the per-tensor loop torch picks on CPU anyway, without re-deciding it every step
        kwargs["foreach"] = False
    return OPTIMIZERS[call.name](params, lr=lr, **kwargs)
