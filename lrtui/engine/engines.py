"""How one training step of several runs is computed: all runs at once, or one by one.

Both engines give each run its own `nn.Parameter`s, which the run's own torch optimizer owns;
they differ only in how the forward and backward pass that fills those parameters' `.grad`
is done. Neither reads a value back from the device. The stacked engine also offers one
optimizer step for all its runs (`fused_optimizer`, see `fused`) and, on CUDA, its pass
replayed as CUDA graphs (`capture`, see `capture`).

The stacked engine needs every run's loss from stacked weights: the workload's own batched
form where it has one (the built-in tasks), else one derived from its model and loss with
`torch.func.vmap` over `functional_call`. Models that keep state between steps outside their
parameters (BatchNorm's running statistics) cannot be stacked that way and train one run
after another; `plan_engine` says which, and why, before any training.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor, nn

from lrtui.engine.capture import CAPTURE_DEVICES, CapturedLoss, reduce_overhead
from lrtui.engine.fused import FUSED_DEVICES, fuse
from lrtui.engine.workload import Batch, Workload, has_batched_loss

BatchedLoss = Callable[[dict[str, Tensor], Batch], Tensor]


class Engine(Protocol):
    def params(self, run: int) -> list[nn.Parameter]: ...

    def reset(self, run: int) -> None: ...

    def forward_backward(self, runs: Sequence[int], batches: Sequence[Batch]) -> Tensor:
        """Set `.grad` of the given runs' parameters; return their losses, detached, shape [n].
        `batches` holds one batch shared by every run, or one per run."""
        ...

    def module(self, run: int) -> nn.Module:
        """A module holding run `run`'s current weights, for the task's `evaluate`."""
        ...

    def fused_optimizer(self, runs: Sequence[int], optimizers: Sequence[torch.optim.Optimizer]):
        """One step for these runs' stacked weights (`fused.FusedStep`), or None."""
        ...

    @property
    def capture_note(self) -> str | None:
        """Why the pass is not replayed as CUDA graphs where that was asked for, else None."""
        ...


@dataclass(frozen=True)
class EnginePlan:
    stacked: bool
    why: str  # for the status bar: how the runs train, and why so


def vmap_obstacle(module: nn.Module) -> str | None:
    """Why a model's copies cannot be trained in one vmapped pass, or None if they can."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
            return "BatchNorm keeps running statistics"
    return None


def plan_engine(workload: Workload, init: nn.Module, choice: str) -> EnginePlan:
    """`choice` is auto, stacked or sequential; auto stacks whenever the workload allows."""
    if choice == "sequential":
        return EnginePlan(False, "one after another (--engine sequential)")
    if has_batched_loss(workload):
        return EnginePlan(True, "all runs in one batched pass")
    obstacle = vmap_obstacle(init)
    if obstacle is None:
        return EnginePlan(True, "all runs in one vmapped pass")
    if choice == "stacked":
        raise ValueError(
            f"--engine stacked: {workload.name} cannot be stacked ({obstacle}); use auto or sequential"
        )
    return EnginePlan(False, f"one after another: {obstacle}")


def autocast(device: torch.device, amp: bool):
    """bf16 autocast on CUDA when asked for; nothing otherwise."""
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def stack_batches(batches: Sequence[Batch], n: int) -> Batch:
    """One batch per tensor with a leading run axis: a shared batch expanded (no copy), or
    each run's own batch stacked."""
    if len(batches) == 1:
        return tuple(t.expand(n, *t.shape) for t in batches[0])
    return tuple(torch.stack(list(ts)) for ts in zip(*batches, strict=True))


class _Functional:
    """A model whose weights are given per call: `loss(model, batch)` calls it like the module."""

    def __init__(self, module: nn.Module, params: dict[str, Tensor], buffers: dict[str, Tensor]) -> None:
        self._module, self._weights = module, (params, buffers)

    def __call__(self, *args, **kwargs):
        return torch.func.functional_call(self._module, self._weights, args, kwargs)

    def __getattr__(self, name: str):
        return getattr(self._module, name)


def vmapped_loss(workload: Workload, init: nn.Module, device: torch.device) -> BatchedLoss:
    """Every run's loss at once from the workload's own loss, through torch.func.vmap."""
    base = copy.deepcopy(init).to(device)
    buffers = {k: v for k, v in base.named_buffers()}

    def one(params: dict[str, Tensor], batch: Batch) -> Tensor:
        return workload.loss(_Functional(base, params, buffers), batch)  # type: ignore[arg-type]

    return torch.func.vmap(one, in_dims=(0, 0), randomness="different")


Inits = nn.Module | Sequence[nn.Module]  # one start for every run, or each run's own (seeds)


def per_run(init: Inits, n_runs: int) -> tuple[list[nn.Module], list[int]]:
    """The distinct starting models, and which one each run starts from (runs of one seed
    share a start; it is stored once)."""
    runs = [init] * n_runs if isinstance(init, nn.Module) else list(init)
    distinct: dict[int, int] = {}
    order: list[nn.Module] = []
    for m in runs:
        if id(m) not in distinct:
            distinct[id(m)] = len(order)
            order.append(m)
    return order, [distinct[id(m)] for m in runs]


class StackedEngine:
    """Every run's weights live in one tensor per parameter, [runs, ...].

    Each run's parameters are views into that storage, so the optimizers update it in place
    and one batched forward/backward serves all runs. Runs never mix: row k of the batched
    computation reads and writes only run k's weights.
    """

    def __init__(self, loss: BatchedLoss, init: Inits, n_runs: int, device: torch.device, amp: bool = False):
        self._loss = loss
        self._device, self._amp = device, amp
        starts, self._start_of = per_run(init, n_runs)
        self._template = copy.deepcopy(starts[0]).to(device)
        self._inits = [{k: v.detach().to(device) for k, v in m.named_parameters()} for m in starts]
        self._storage = {
            k: torch.stack([self._inits[self._start_of[i]][k] for i in range(n_runs)]).contiguous()
            for k in self._inits[0]
        }
        self._params = [
            [nn.Parameter(self._storage[name][i]) for name in self._storage] for i in range(n_runs)
        ]
        self._n = n_runs
        self._grads: tuple[list[int], list[Tensor]] | None = None  # the last pass's, stacked

    def params(self, run: int) -> list[nn.Parameter]:
        return self._params[run]

    def weights(self) -> list[Tensor]:
        return list(self._storage.values())

    def last_grads(self) -> tuple[list[int], list[Tensor]] | None:
        return self._grads

    def fused_optimizer(self, runs: Sequence[int], optimizers: Sequence[torch.optim.Optimizer]):
        return fuse(self, runs, optimizers) if self._device.type in FUSED_DEVICES else None

    def capture(self, compile=reduce_overhead) -> str | None:
        """Replay the stacked pass as CUDA graphs where the task allows (`capture`); why not."""
        if not isinstance(self._loss, CapturedLoss):
            self._loss = CapturedLoss(self._loss, self._device, compile)
        return self._loss.why

    @property
    def capture_note(self) -> str | None:
        """How the stacked pass runs now, where it was asked to be captured: why it is not."""
        return self._loss.why if isinstance(self._loss, CapturedLoss) else None

    def reset(self, run: int) -> None:
        with torch.no_grad():
            for name, value in self._inits[self._start_of[run]].items():
                self._storage[name][run].copy_(value)
        for p in self._params[run]:
            p.grad = None

    def forward_backward(self, runs: Sequence[int], batches: Sequence[Batch]) -> Tensor:
        everyone = len(runs) == self._n and all(r == i for i, r in enumerate(runs))
        if everyone:
            leaves = {k: v.detach().requires_grad_() for k, v in self._storage.items()}
        else:
            leaves = {k: torch.stack([v[r] for r in runs]).requires_grad_() for k, v in self._storage.items()}
        self._grads = None  # the last pass's gradients are freed before this one's
        with autocast(self._device, self._amp):
            losses = self._loss(leaves, stack_batches(batches, len(runs)))
        losses.float().sum().backward()
        self._grads = (list(runs), [leaf.grad for leaf in leaves.values()])
        for k, leaf in enumerate(leaves.values()):
            for r, grad in zip(runs, leaf.grad.unbind(0), strict=True):
                self._params[r][k].grad = grad
        return losses.detach().float()

    def module(self, run: int) -> nn.Module:
        with torch.no_grad():
            for name, p in self._template.named_parameters():
                p.copy_(self._storage[name][run])
        return self._template


class RunsFailedError(Exception):
    """Some runs' passes raised and the others' went through (runs trained one after another):
    `losses` of the others, in order, and each failed run's exception by its place in `runs`."""

    def __init__(self, losses: Tensor, failures: dict[int, Exception]) -> None:
        super().__init__(f"{len(failures)} run(s) failed")
        self.losses, self.failures = losses, failures


def losses_of(
    engine: Engine, runs: Sequence[int], batches: Sequence[Batch]
) -> tuple[Tensor | None, dict[int, Exception]]:
    """The forward/backward pass of `runs`: the losses of the runs that went through, and the
    exception of each that raised, by its place in `runs`. Where runs train one after another
    a run's exception is its own; one batched pass (stacked) serves every run, so its
    exception is every run's."""
    try:
        return engine.forward_backward(runs, batches), {}
    except RunsFailedError as partial:
        return partial.losses, partial.failures
    except Exception as exc:
        return None, dict.fromkeys(range(len(runs)), exc)


class SequentialEngine:
    """One module per run, trained in turn: for models that cannot be stacked."""

    def __init__(self, workload: Workload, init: Inits, n_runs: int, device: torch.device, amp: bool = False):
        self._workload = workload
        self._device, self._amp = device, amp
        starts, self._start_of = per_run(init, n_runs)
        self._inits = [{k: v.detach().to(device).clone() for k, v in m.state_dict().items()} for m in starts]
        self._modules = [copy.deepcopy(starts[self._start_of[i]]).to(device) for i in range(n_runs)]

    def params(self, run: int) -> list[nn.Parameter]:
        return list(self._modules[run].parameters())

    def reset(self, run: int) -> None:
        module = self._modules[run]
        module.load_state_dict(self._inits[self._start_of[run]])
        for p in module.parameters():
            p.grad = None

    def forward_backward(self, runs: Sequence[int], batches: Sequence[Batch]) -> Tensor:
        """Each run's pass in turn; a run whose pass raises is left out (`RunsFailedError`), the
        others go on. Where every run's pass raised, the first run's exception is raised as it
        was (a task's error names the user's own line)."""
        losses, failures = [], {}
        for j, r in enumerate(runs):
            module = self._modules[r]
            for p in module.parameters():
                p.grad = None
            try:
                with autocast(self._device, self._amp):
                    loss = self._workload.loss(module, batches[0] if len(batches) == 1 else batches[j])
                loss.float().backward()
            except Exception as exc:
                failures[j] = exc
                continue
            losses.append(loss.detach().float())
        if len(failures) == len(runs):  # every run: the task's own error, its traceback whole
            raise failures[0]
        if failures:
            raise RunsFailedError(torch.stack(losses), failures)
        return torch.stack(losses)

    def module(self, run: int) -> nn.Module:
        return self._modules[run]

    def fused_optimizer(self, runs: Sequence[int], optimizers: Sequence[torch.optim.Optimizer]) -> None:
        return None  # separate modules: nothing stacked to step at once

    @property
    def capture_note(self) -> str | None:
        return None  # never asked to capture: nothing stacked to replay


def make_engine(
    workload: Workload, init: Inits, n_runs: int, device: torch.device, choice: str, amp: bool = False
) -> Engine:
    first = per_run(init, n_runs)[0][0]
    if not plan_engine(workload, first, choice).stacked:
        return SequentialEngine(workload, init, n_runs, device, amp)
    loss = workload.batched_loss if has_batched_loss(workload) else vmapped_loss(workload, first, device)
    engine = StackedEngine(loss, init, n_runs, device, amp)  # type: ignore[arg-type]
    if device.type in CAPTURE_DEVICES:
        engine.capture()
    return engine
