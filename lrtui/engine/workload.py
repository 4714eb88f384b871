"""What a training task provides to the engine: the `Workload` protocol.

A workload builds the model, hands over each epoch's batches, computes the loss of a batch,
and optionally evaluates a model or computes every run's loss at once from stacked weights.
The trainer never looks further into a task than this, so the built-in tasks and a user's own
model and data go through the same engines, the same fairness rules and the same events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lrtui.engine.seeding import seeded_batches

Batch = tuple[Tensor, ...]  # (inputs, targets), as a DataLoader yields them


@runtime_checkable
class Workload(Protocol):
    """A training task. Every run of a comparison trains on the same workload."""

    name: str
    batched: bool  # whether `batched_loss` gives every run's loss at once

    def model(self) -> nn.Module:
        """A fresh model. Called once per comparison (under the comparison's seed); every run
        starts from a copy of its weights."""
        ...

    def batches(self, epoch: int) -> Sequence[Batch]:
        """The batches of 0-based `epoch`, in order. Produced once per epoch and fed to every
        run, so all runs see the same batches in the same order (a task's own are drawn on a
        random stream of (seed, epoch): `SeededWorkload`)."""
        ...

    def loss(self, model: nn.Module, batch: Batch) -> Tensor:
        """The scalar loss of one batch under `model`."""
        ...

    def evaluate(self, model: nn.Module) -> float | None:
        """A validation loss at the end of an epoch, or None where the task has none."""
        ...

    def batched_loss(self, params: dict[str, Tensor], batch: Batch) -> Tensor | None:
        """Every run's loss at once, shape [runs], from weights stacked along a leading run axis
        and a batch whose tensors are stacked the same way; None where the task has no batched
        form: then `batched` is False and the engine trains the runs one after another)."""
        ...


# Builds the workload on the device it trains on; called on the thread (or in the process)
# that trains, so a task's tensors are made where they are used.
WorkloadFactory = Callable[[torch.device], Workload]


def default_loss(model: nn.Module, batch: Batch) -> Tensor:
    """Cross-entropy for integer targets, mean squared error for floating ones."""
    x, y = batch[0], batch[1]
    out = model(x)
    if y.dtype.is_floating_point:
        return F.mse_loss(out, y)
    return F.cross_entropy(out, y)


def initial_module(workload: Workload, seed: int) -> nn.Module:
    """The model every run starts from, built under `seed` without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return workload.model()


def has_batched_loss(workload: Workload) -> bool:
    """Whether the workload can train every run in one batched pass."""
    return bool(getattr(workload, "batched", False))


class SeededWorkload:
    """A workload whose epochs are drawn on a torch random stream of (seed, epoch)
    (`engine.seeding`): the same batch order on every rerun and every torchrun rank, each of
    several seeds its own, and the same one for every schedule trained under a seed.
    Everything else is the workload's."""

    def __init__(self, workload: Workload, seed: int, fresh: bool = True) -> None:
        self._workload = workload
        self._seed = seed
        self._fresh = fresh
        self.name = workload.name
        self.batched = has_batched_loss(workload)
        self.light = bool(getattr(workload, "light", False))

    def model(self) -> nn.Module:
        """Built anew under the seed where `fresh` (a prepared task keeps one model, the
        comparison's own start: not each seed's)."""
        if not self._fresh:
            return self._workload.model()
        return getattr(self._workload, "fresh_model", self._workload.model)()

    def batches(self, epoch: int) -> Sequence[Batch]:
        return seeded_batches(self._workload.batches, self._seed, epoch)  # type: ignore[return-value]

    def loss(self, model: nn.Module, batch: Batch) -> Tensor:
        return self._workload.loss(model, batch)

    def evaluate(self, model: nn.Module) -> float | None:
        return self._workload.evaluate(model)

    def batched_loss(self, params: dict[str, Tensor], batch: Batch) -> Tensor | None:
        return self._workload.batched_loss(params, batch)


def by_seed(
    workload: Workload, seeds: list[int], first_seed: int, rebuild: Callable[[int], Workload] | None
) -> dict[int, Workload]:
    """The workload of each seed offset the runs train under. `rebuild` makes a built-in
    task's data from another seed (its batches are made from it, in no random order); a
    task's own data is drawn in each seed's order instead, even with one seed, so that reruns
    and ranks agree (with one seed, the prepared model is kept)."""
    if rebuild is not None:
        return {k: workload if k == 0 else rebuild(k) for k in seeds}
    if seeds == [0]:
        return {0: SeededWorkload(workload, first_seed, fresh=False)}
    return {k: SeededWorkload(workload, first_seed + k) for k in seeds}
