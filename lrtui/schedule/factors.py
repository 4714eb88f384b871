"""Named LR factors for LambdaLR and MultiplicativeLR.

Those schedulers take a Python callable, which a command line or a config file cannot carry
safely. Instead a spec names one of these small, parameterised factors, e.g.
`LambdaLR(lr_lambda=linear_warmup(steps=5))`. Each is a frozen dataclass, so it pickles
and compares like data.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, fields

from lrtui.spec.errors import SpecError
from lrtui.spec.experiment import Call


def _number(name: str, value: object, low: float | None = None, *, strict: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{name} must be a number, not {value!r}")
    if low is not None and (value <= low if strict else value < low):
        raise SpecError(f"{name} must be {'>' if strict else '>='} {low}, not {value!r}")


def _count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"{name} must be a whole number >= 1, not {value!r}")


@dataclass(frozen=True)
class constant:  # noqa: N801 - the spec name users type
    """Always the same factor: with MultiplicativeLR, `value` is the per-step decay."""

    value: float = 1.0

    def check(self) -> None:
        _number("constant: value", self.value, 0.0)

    def __call__(self, step: int) -> float:
        return float(self.value)


@dataclass(frozen=True)
class linear_warmup:  # noqa: N801
    """Ramp from 1/steps up to 1 over `steps` steps, then hold at 1."""

    steps: int = 5

    def check(self) -> None:
        _count("linear_warmup: steps", self.steps)

    def __call__(self, step: int) -> float:
        return min(1.0, (step + 1) / self.steps)


@dataclass(frozen=True)
class exponential:  # noqa: N801
    """gamma ** step."""

    gamma: float = 0.95

    def check(self) -> None:
        _number("exponential: gamma", self.gamma, 0.0, strict=True)

    def __call__(self, step: int) -> float:
        return float(self.gamma) ** step


@dataclass(frozen=True)
class step_decay:  # noqa: N801
    """gamma ** (step // step_size)."""

    step_size: int = 10
    gamma: float = 0.1

    def check(self) -> None:
        _count("step_decay: step_size", self.step_size)
        _number("step_decay: gamma", self.gamma, 0.0, strict=True)

    def __call__(self, step: int) -> float:
        return float(self.gamma) ** (step // self.step_size)


@dataclass(frozen=True)
class inverse_sqrt:  # noqa: N801
    """Linear warm-up for `warmup` steps, then decay as 1/sqrt(step) (the Transformer schedule)."""

    warmup: int = 10

    def check(self) -> None:
        _count("inverse_sqrt: warmup", self.warmup)

    def __call__(self, step: int) -> float:
        n = step + 1
        return n / self.warmup if n < self.warmup else math.sqrt(self.warmup / n)


@dataclass(frozen=True)
class cosine:  # noqa: N801
    """Half a cosine from 1 down to `min_factor` over `total` steps, then hold."""

    total: int = 100
    min_factor: float = 0.0

    def check(self) -> None:
        _count("cosine: total", self.total)
        _number("cosine: min_factor", self.min_factor, 0.0)

    def __call__(self, step: int) -> float:
        t = min(step, self.total) / self.total
        return self.min_factor + (1.0 - self.min_factor) * 0.5 * (1.0 + math.cos(math.pi * t))


FACTORS: dict[str, type] = {
    cls.__name__: cls for cls in (constant, linear_warmup, exponential, step_decay, inverse_sqrt, cosine)
}


def build_factor(call: object, where: str) -> object:
    """Make the callable that `call` names; `where` prefixes error messages."""
    if not isinstance(call, Call):
        raise SpecError(f"{where} must name a factor such as linear_warmup(steps=5), not {call!r}")
    cls = FACTORS.get(call.name)
    if cls is None:
        raise SpecError(f"{where}: unknown factor {call.name!r} (choose from {', '.join(FACTORS)})")
    known = {f.name for f in fields(cls)}
    for key, _ in call.kwargs:
        if key not in known:
            raise SpecError(
                f"{where}: {call.name} has no parameter {key!r} (it takes {', '.join(sorted(known))})"
            )
    factor = cls(**dict(call.kwargs))
    factor.check()
    return factor


def describe_factors() -> list[str]:
    """One line per factor for `--list-schedulers`."""
    lines = []
    for name, cls in FACTORS.items():
        params = ", ".join(f"{p.name}={p.default!r}" for p in inspect.signature(cls).parameters.values())
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        lines.append(f"{name}({params})  {doc}")
    return lines
