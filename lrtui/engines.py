"""How one training step of several runs is computed: all runs at once, or one by one.

Both engines give each run its own `nn.Parameter`s, which the run's own torch optimizer owns;
they differ only in how the forward and backward pass that fills those parameters' `.grad`
is done. Neither reads a value back from the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lrtui.models import ModelKind


class Engine(Protocol):
    def params(self, run: int) -> list[nn.Parameter]: ...

    def reset(self, run: int) -> None: ...

    def forward_backward(self, runs: Sequence[int], x: Sequence[Tensor], y: Sequence[Tensor]) -> Tensor:
        """Set `.grad` of the given runs' parameters; return their losses, detached, shape [n]."""
        ...


class StackedEngine:
    """Every run's weights live in one tensor per parameter, [runs, ...].

    Each run's parameters are views into that storage, so the optimizers update it in place
    and one batched forward/backward serves all runs. Runs never mix: row k of the batched
    computation reads and writes only run k's weights.
    """

    def __init__(self, kind: ModelKind, init: dict[str, Tensor], n_runs: int, device: torch.device):
        assert kind.batched is not None
        self._forward = kind.batched
        self._init = {k: v.to(device) for k, v in init.items()}
        self._storage = {
            k: v.unsqueeze(0).repeat(n_runs, *([1] * v.dim())).contiguous() for k, v in self._init.items()
        }
        self._params = [
            [nn.Parameter(self._storage[name][i]) for name in self._storage] for i in range(n_runs)
        ]
        self._n = n_runs

    def params(self, run: int) -> list[nn.Parameter]:
        return self._params[run]

    def reset(self, run: int) -> None:
        with torch.no_grad():
            for name, value in self._init.items():
                self._storage[name][run].copy_(value)
        for p in self._params[run]:
            p.grad = None

    def forward_backward(self, runs: Sequence[int], x: Sequence[Tensor], y: Sequence[Tensor]) -> Tensor:
        everyone = len(runs) == self._n and all(r == i for i, r in enumerate(runs))
        if everyone:
            leaves = {k: v.detach().requires_grad_() for k, v in self._storage.items()}
        else:
            leaves = {k: torch.stack([v[r] for r in runs]).requires_grad_() for k, v in self._storage.items()}
        n = len(runs)
        xb = x[0].expand(n, *x[0].shape) if len(x) == 1 else torch.stack(list(x))
        yb = y[0].expand(n, *y[0].shape) if len(y) == 1 else torch.stack(list(y))
        out = self._forward(leaves, xb)
        losses = F.cross_entropy(out.reshape(-1, out.shape[-1]), yb.reshape(-1), reduction="none")
        losses = losses.view(n, -1).mean(dim=1)
        losses.sum().backward()
        for k, leaf in enumerate(leaves.values()):
            for r, grad in zip(runs, leaf.grad.unbind(0), strict=True):
                self._params[r][k].grad = grad
        return losses.detach()


class SequentialEngine:
    """One module per run, trained in turn: the fallback for models without a batched forward."""

    def __init__(self, kind: ModelKind, init: dict[str, Tensor], n_runs: int, device: torch.device):
        self._init = {k: v.to(device) for k, v in init.items()}
        self._modules = []
        for _ in range(n_runs):
            module = kind.build().to(device)
            module.load_state_dict(self._init, strict=False)
            self._modules.append(module)

    def params(self, run: int) -> list[nn.Parameter]:
        return list(self._modules[run].parameters())

    def reset(self, run: int) -> None:
        with torch.no_grad():
            for name, p in self._modules[run].named_parameters():
                p.copy_(self._init[name])
                p.grad = None

    def forward_backward(self, runs: Sequence[int], x: Sequence[Tensor], y: Sequence[Tensor]) -> Tensor:
        losses = []
        for j, r in enumerate(runs):
            module = self._modules[r]
            for p in module.parameters():
                p.grad = None
            xj, yj = (x[0], y[0]) if len(x) == 1 else (x[j], y[j])
            loss = F.cross_entropy(module(xj), yj)
            loss.backward()
            losses.append(loss.detach())
        return torch.stack(losses)


def make_engine(
    kind: ModelKind, init: dict[str, Tensor], n_runs: int, device: torch.device, choice: str
) -> Engine:
    """`choice` is auto, stacked or sequential; auto stacks whenever the model allows."""
    if choice == "sequential" or (choice == "auto" and kind.batched is None):
        return SequentialEngine(kind, init, n_runs, device)
    if kind.batched is None:
        raise ValueError(f"model {kind.name} has no batched forward; use --engine sequential")
    return StackedEngine(kind, init, n_runs, device)
