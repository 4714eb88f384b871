"""The built-in tasks as workloads: the tutorial's `Linear(10, 2)` or a small MLP, on random
or teacher-labelled data made from a seed, so every run and every machine sees the same.

The `random` task is the tutorial's trainloader: for each batch `randn(batch_size, 10)` then
`randint(0, 2, (batch_size,))`, drawn in that order, so with the same seed the batches equal
the tutorial's after `torch.manual_seed(seed)`. Its labels are noise, so the loss hovers near
ln 2. The `teacher` task labels inputs with a fixed random linear rule, so the loss can fall
and schedules visibly differ. Both reuse the same batches every epoch, as the tutorial does.

Each model has a batched forward: every run's parameters stacked along a leading run axis,
all runs computed in one call. That is what lets N schedules train together at nearly the
cost of one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lrtui.engine.workload import Batch, default_loss
from lrtui.spec.experiment import ExperimentSpec

IN_FEATURES = 10
CLASSES = 2

BatchedForward = Callable[[dict[str, Tensor], Tensor], Tensor]


@dataclass(frozen=True)
class ModelKind:
    name: str
    build: Callable[[], nn.Module]
    batched: BatchedForward  # params [runs, ...], x [runs, batch, in] -> [runs, batch, out]


def _linear_batched(p: dict[str, Tensor], x: Tensor) -> Tensor:
    return torch.baddbmm(p["bias"].unsqueeze(1), x, p["weight"].transpose(1, 2))


def _mlp_batched(p: dict[str, Tensor], x: Tensor) -> Tensor:
    h = torch.relu(torch.baddbmm(p["0.bias"].unsqueeze(1), x, p["0.weight"].transpose(1, 2)))
    return torch.baddbmm(p["2.bias"].unsqueeze(1), h, p["2.weight"].transpose(1, 2))


MODELS: dict[str, ModelKind] = {
    "linear": ModelKind("linear", lambda: nn.Linear(IN_FEATURES, CLASSES), _linear_batched),
    "mlp": ModelKind(
        "mlp",
        lambda: nn.Sequential(nn.Linear(IN_FEATURES, 64), nn.ReLU(), nn.Linear(64, CLASSES)),
        _mlp_batched,
    ),
}
MAX_SAMPLES = 20_000_000  # a built-in task's data is made up front: about 1 GB at most


def _random_data(batches: int, batch_size: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """The tutorial's trainloader: each batch's inputs then its labels, drawn in that order."""
    xs, ys = [], []
    for _ in range(batches):
        xs.append(torch.randn(batch_size, IN_FEATURES, generator=gen))
        ys.append(torch.randint(0, CLASSES, (batch_size,), generator=gen))
    return torch.stack(xs), torch.stack(ys)


def _teacher_data(batches: int, batch_size: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """Inputs labelled by a fixed random linear rule, a tenth of the labels flipped."""
    teacher = torch.randn(IN_FEATURES, generator=gen)
    x = torch.randn(batches, batch_size, IN_FEATURES, generator=gen)
    flip = torch.rand(batches, batch_size, generator=gen) < 0.1
    y = ((x @ teacher > 0) ^ flip).long()
    return x, y


MakeData = Callable[[int, int, torch.Generator], tuple[Tensor, Tensor]]
# the data tasks of this module, by name (charlm has its own); each is a task of its own in
# `engine.kinds.TASK_KINDS`, so a new one is a function here and its help line in spec.choices
DATASETS: dict[str, MakeData] = {"random": _random_data, "teacher": _teacher_data}


def make_dataset(task: str, batches: int, batch_size: int, seed: int) -> tuple[Tensor, Tensor]:
    """Inputs [batches, batch_size, 10] and labels [batches, batch_size], on the CPU."""
    if task not in DATASETS:
        raise ValueError(f"unknown task {task!r}")
    return DATASETS[task](batches, batch_size, torch.Generator().manual_seed(seed))


class BuiltinWorkload:
    """A built-in model on a built-in task; the data is made once, on `device`."""

    batched = True
    light = True  # tiny steps, thousands a second: the trainer leaves a core to the UI

    def __init__(
        self, model: str, task: str, batches: int, batch_size: int, seed: int, device: torch.device
    ) -> None:
        self.name = f"{model} · {task}"
        self._kind = MODELS[model]
        x, y = make_dataset(task, batches, batch_size, seed)
        x, y = x.to(device), y.to(device)
        self._batches: list[Batch] = list(zip(x.unbind(0), y.unbind(0), strict=True))

    def model(self) -> nn.Module:
        return self._kind.build()

    def batches(self, epoch: int) -> Sequence[Batch]:
        return self._batches  # the same batches every epoch, as the tutorial's trainloader

    def loss(self, model: nn.Module, batch: Batch) -> Tensor:
        return default_loss(model, batch)

    def evaluate(self, model: nn.Module) -> float | None:
        return None

    def batched_loss(self, params: dict[str, Tensor], batch: Batch) -> Tensor:
        x, y = batch
        out = self._kind.batched(params, x)
        losses = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1), reduction="none")
        return losses.view(out.shape[0], -1).mean(dim=1)


def builtin_workload(exp: ExperimentSpec, device: torch.device, seed: int = 0) -> BuiltinWorkload:
    """The experiment's built-in task, its data made from the experiment's seed plus `seed`."""
    return BuiltinWorkload(exp.model, exp.task, exp.batches, exp.batch_size, exp.seed + seed, device)
