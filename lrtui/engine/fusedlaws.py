"""The fused step's update formulas, one `Law` per optimizer family, over stacked tensors.

Each law is torch's single-tensor formula for its optimizer with every hyperparameter a column
of per-run coefficients (one row per run, broadcast along the run axis), so one set of kernels
updates every run; the formulas are in `fused`'s docstring and beside each law.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import Tensor

Row = tuple[float, ...]


@dataclass(frozen=True)
class Coefficients:
    """This step's per-run values: `col(j)` is column j as [n, 1, ...] for a parameter of
    `ndim` dimensions (run axis included); `host` the same rows as Python floats. A step whose
    rows are the last step's reuses the last one's (an LR that changes once an epoch sends
    nothing up in between)."""

    table: Tensor  # [n, C] on the parameters' device
    host: Sequence[Row]
    _views: dict[tuple[int, int], Tensor] = field(default_factory=dict, compare=False)
    _alls: dict[tuple[int, float], bool] = field(default_factory=dict, compare=False)
    _shared: dict[int, float | None] = field(default_factory=dict, compare=False)

    def col(self, j: int, ndim: int) -> Tensor:
        view = self._views.get((j, ndim))
        if view is None:
            view = self._views[j, ndim] = self.table[:, j].view(-1, *([1] * (ndim - 1)))
        return view

    def get(self, j: int, ndim: int) -> float | Tensor:
        """Column j as one number where every run has the same value (torch's own scalar op,
        no broadcast), else as the [n, 1, ...] column."""
        if j not in self._shared:
            first = self.host[0][j]
            self._shared[j] = first if all(row[j] == first for row in self.host) else None
        value = self._shared[j]
        return self.col(j, ndim) if value is None else float(value)

    def all(self, j: int, value: float) -> bool:
        """Whether every run's column j is `value` (a term that adds nothing is skipped)."""
        found = self._alls.get((j, value))
        if found is None:
            found = self._alls[j, value] = all(row[j] == value for row in self.host)
        return found


class Law(Protocol):
    """One optimizer family's update of stacked tensors [n, ...]."""

    counts_steps: bool  # its state holds a `step` count (Adam's bias correction, RMSprop's)

    def refuse(self, group: dict) -> str | None:
        """What about this group the fused step does not do, or None."""
        ...

    def structure(self, group: dict) -> tuple:
        """Options every fused run must share (they choose which formula applies)."""
        ...

    def states(self, groups: Sequence[dict]) -> tuple[str, ...]:
        """The state tensors (each the size of a parameter) the step needs now."""
        ...

    def row(self, group: dict, steps: int) -> Row:
        """The run's coefficients for its step number `steps + 1`."""
        ...

    def update(self, p: Tensor, g: Tensor, state: dict[str, Tensor], c: Coefficients) -> None: ...


def _refuse_common(group: dict) -> str | None:
    if group.get("maximize"):
        return "maximize"
    if isinstance(group.get("lr"), Tensor):
        return "a tensor learning rate"
    return None


def _add_(t: Tensor, x: Tensor, k: float | Tensor) -> Tensor:
    """t += k·x, k one number or a column."""
    return t.add_(x, alpha=k) if isinstance(k, float) else t.addcmul_(x, k)


def _add_square_(t: Tensor, x: Tensor, k: float | Tensor) -> Tensor:
    """t += k·x²."""
    return t.addcmul_(x, x, value=k) if isinstance(k, float) else t.addcmul_(x.mul(k), x)


def _decayed(p: Tensor, g: Tensor, c: Coefficients, j: int) -> Tensor:
    """g + wd·p (L2 weight decay), skipped where every run's wd is 0."""
    if c.all(j, 0.0):
        return g
    k = c.get(j, p.ndim)
    return g.add(p, alpha=k) if isinstance(k, float) else g.addcmul(p, k)


class SGDLaw:
    """Columns: -lr, wd, μ this step, 1-τ this step, Nesterov's μ, Nesterov's 1."""

    counts_steps = False

    def refuse(self, group: dict) -> str | None:
        return _refuse_common(group)

    def structure(self, group: dict) -> tuple:
        return ()

    def states(self, groups: Sequence[dict]) -> tuple[str, ...]:
        return ("momentum_buffer",) if any(g["momentum"] != 0 for g in groups) else ()

    def row(self, group: dict, steps: int) -> Row:
        mu = float(group["momentum"])
        fresh = steps == 0 or mu == 0  # the buffer is the gradient itself
        nesterov = bool(group["nesterov"]) and mu != 0
        keep, take = (0.0, 1.0) if fresh else (mu, 1.0 - group["dampening"])
        return (-group["lr"], group["weight_decay"], keep, take, mu if nesterov else 1.0, float(nesterov))

    def update(self, p: Tensor, g: Tensor, state: dict[str, Tensor], c: Coefficients) -> None:
        g = _decayed(p, g, c, 1)
        d, b = p.ndim, state.get("momentum_buffer")
        if b is not None:
            _add_(b.mul_(c.get(2, d)), g, c.get(3, d))
            g = b if c.all(5, 0.0) else _add_(b.mul(c.get(4, d)), g, c.get(5, d))
        _add_(p, g, c.get(0, d))


class AdamLaw:
    """Columns: -η/(1-β1^t), wd (L2), 1-η·wd (decoupled), 1-β1, β2, 1-β2, √(1-β2^t), ε."""

    counts_steps = True

    def refuse(self, group: dict) -> str | None:
        if group.get("amsgrad"):
            return "amsgrad"
        if any(isinstance(group[k], Tensor) for k in ("betas", "weight_decay")) or any(
            isinstance(b, Tensor) for b in group["betas"]
        ):
            return "tensor betas or weight decay"
        return _refuse_common(group)

    def structure(self, group: dict) -> tuple:
        return ()

    def states(self, groups: Sequence[dict]) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq")

    def row(self, group: dict, steps: int) -> Row:
        t, lr, wd = steps + 1, group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        decoupled = bool(group.get("decoupled_weight_decay"))
        l2, shrink = (0.0, 1.0 - lr * wd) if decoupled else (wd, 1.0)
        correction1, correction2 = 1 - beta1**t, 1 - beta2**t
        return (
            -lr / correction1,
            l2,
            shrink,
            1 - beta1,
            beta2,
            1 - beta2,
            math.sqrt(correction2),
            group["eps"],
        )

    def update(self, p: Tensor, g: Tensor, state: dict[str, Tensor], c: Coefficients) -> None:
        d = p.ndim
        if not c.all(2, 1.0):
            p.mul_(c.get(2, d))
        g = _decayed(p, g, c, 1)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(g, c.get(3, d))
        _add_square_(v.mul_(c.get(4, d)), g, c.get(5, d))
        denom = v.sqrt().div_(c.get(6, d)).add_(c.get(7, d))
        step = c.get(0, d)  # p += step · m / denom
        if isinstance(step, float):
            p.addcdiv_(m, denom, value=step)
        else:
            p.addcdiv_(m, denom.div_(step))


class RMSpropLaw:
    """Columns: -lr, wd, alpha, 1-alpha, ε, μ."""

    counts_steps = True

    def refuse(self, group: dict) -> str | None:
        return _refuse_common(group)

    def structure(self, group: dict) -> tuple:
        return (bool(group["centered"]),)

    def states(self, groups: Sequence[dict]) -> tuple[str, ...]:
        names = ("square_avg", "grad_avg") if groups[0]["centered"] else ("square_avg",)
        return (*names, "momentum_buffer") if any(g["momentum"] > 0 for g in groups) else names

    def row(self, group: dict, steps: int) -> Row:
        alpha = group["alpha"]
        return (-group["lr"], group["weight_decay"], alpha, 1 - alpha, group["eps"], float(group["momentum"]))

    def update(self, p: Tensor, g: Tensor, state: dict[str, Tensor], c: Coefficients) -> None:
        d = p.ndim
        g = _decayed(p, g, c, 1)
        v = state["square_avg"]
        _add_square_(v.mul_(c.get(2, d)), g, c.get(3, d))
        a = state.get("grad_avg")
        if a is not None:
            a.lerp_(g, c.get(3, d))
            avg = v.addcmul(a, a, value=-1).sqrt_().add_(c.get(4, d))
        else:
            avg = v.sqrt().add_(c.get(4, d))
        b = state.get("momentum_buffer")
        if b is not None:
            g = b.mul_(c.get(5, d)).addcdiv_(g, avg)
        else:
            g = g.div(avg)
        _add_(p, g, c.get(0, d))


LAWS: dict[type[torch.optim.Optimizer], Law] = {
    torch.optim.SGD: SGDLaw(),
    torch.optim.Adam: AdamLaw(),
    torch.optim.AdamW: AdamLaw(),
    torch.optim.RMSprop: RMSpropLaw(),
}
