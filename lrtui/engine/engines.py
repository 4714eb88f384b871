"""How one training step of several runs is computed: all runs at once, or one by one.

Both engines give each run its own `nn.Parameter`s, which the run's own torch optimizer owns;
they differ only in how the forward and backward pass that fills those parameters' `.grad`
is done. Neither reads a value back from the device.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Protocol

import torch
from torch import Tensor, nn

from lrtui.engine.workload import Batch, Workload, has_batched_loss


class Engine(Protocol):
    def params(self, run: int) -> list[nn.Parameter]: ...

    def reset(self, run: int) -> None: ...

    def forward_backward(self, runs: Sequence[int], batches: Sequence[Batch]) -> Tensor:
        """Set `.grad` of the given runs' parameters; return their losses, detached, shape [n].
        `batches` holds one batch shared by every run, or one per run."""
        ...


def stack_batches(batches: Sequence[Batch], n: int) -> Batch:
    """One batch per tensor with a leading run axis: a shared batch expanded (no copy), or
    each run's own batch stacked."""
    if len(batches) == 1:
        return tuple(t.expand(n, *t.shape) for t in batches[0])
    return tuple(torch.stack(list(ts)) for ts in zip(*batches, strict=True))


class StackedEngine:
    """Every run's weights live in one tensor per parameter, [runs, ...].

    Each run's parameters are views into that storage, so the optimizers update it in place
    and one batched forward/backward serves all runs. Runs never mix: row k of the batched
    computation reads and writes only run k's weights.
    """

    def __init__(self, workload: Workload, init: nn.Module, n_runs: int, device: torch.device):
        self._workload = workload
        self._init = {k: v.detach().to(device) for k, v in init.named_parameters()}
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

    def forward_backward(self, runs: Sequence[int], batches: Sequence[Batch]) -> Tensor:
        everyone = len(runs) == self._n and all(r == i for i, r in enumerate(runs))
        if everyone:
            leaves = {k: v.detach().requires_grad_() for k, v in self._storage.items()}
        else:
            leaves = {k: torch.stack([v[r] for r in runs]).requires_grad_() for k, v in self._storage.items()}
        losses = self._workload.batched_loss(leaves, stack_batches(batches, len(runs)))
        losses.sum().backward()
        for k, leaf in enumerate(leaves.values()):
            for r, grad in zip(runs, leaf.grad.unbind(0), strict=True):
                self._params[r][k].grad = grad
        return losses.detach()


class SequentialEngine:
    """One module per run, trained in turn: for models without a batched form."""

    def __init__(self, workload: Workload, init: nn.Module, n_runs: int, device: torch.device):
        self._workload = workload
        self._init = {k: v.detach().to(device).clone() for k, v in init.state_dict().items()}
        self._modules = [copy.deepcopy(init).to(device) for _ in range(n_runs)]

    def params(self, run: int) -> list[nn.Parameter]:
        return list(self._modules[run].parameters())

    def reset(self, run: int) -> None:
        module = self._modules[run]
        module.load_state_dict(self._init)
        for p in module.parameters():
            p.grad = None

    def forward_backward(self, runs: Sequence[int], batches: Sequence[Batch]) -> Tensor:
        losses = []
        for j, r in enumerate(runs):
            module = self._modules[r]
            for p in module.parameters():
                p.grad = None
            loss = self._workload.loss(module, batches[0] if len(batches) == 1 else batches[j])
            loss.backward()
            losses.append(loss.detach())
        return torch.stack(losses)


def make_engine(
    workload: Workload, init: nn.Module, n_runs: int, device: torch.device, choice: str
) -> Engine:
    """`choice` is auto, stacked or sequential; auto stacks whenever the workload allows."""
    batched = has_batched_loss(workload)
    if choice == "sequential" or (choice == "auto" and not batched):
        return SequentialEngine(workload, init, n_runs, device)
    if not batched:
        raise ValueError(f"{workload.name} has no batched form; use --engine sequential")
    return StackedEngine(workload, init, n_runs, device)
