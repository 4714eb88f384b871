"""The models a comparison trains, each with an optional batched forward.

A batched forward takes every run's parameters stacked along a leading run axis and computes
all runs in one call; that is what lets N schedulers train together at nearly the cost of one.
Models without one are trained run by run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

IN_FEATURES = 10
CLASSES = 2

BatchedForward = Callable[[dict[str, Tensor], Tensor], Tensor]


@dataclass(frozen=True)
class ModelKind:
    name: str
    description: str
    build: Callable[[], nn.Module]
    batched: BatchedForward | None  # params [runs, ...], x [runs, batch, in] -> [runs, batch, out]


def _linear_batched(p: dict[str, Tensor], x: Tensor) -> Tensor:
    return torch.baddbmm(p["bias"].unsqueeze(1), x, p["weight"].transpose(1, 2))


def _mlp_batched(p: dict[str, Tensor], x: Tensor) -> Tensor:
    h = torch.relu(torch.baddbmm(p["0.bias"].unsqueeze(1), x, p["0.weight"].transpose(1, 2)))
    return torch.baddbmm(p["2.bias"].unsqueeze(1), h, p["2.weight"].transpose(1, 2))


MODELS: dict[str, ModelKind] = {
    "linear": ModelKind(
        "linear",
        "Linear(10, 2), the tutorial's model",
        lambda: nn.Linear(IN_FEATURES, CLASSES),
        _linear_batched,
    ),
    "mlp": ModelKind(
        "mlp",
        "Linear(10, 64) -> ReLU -> Linear(64, 2)",
        lambda: nn.Sequential(nn.Linear(IN_FEATURES, 64), nn.ReLU(), nn.Linear(64, CLASSES)),
        _mlp_batched,
    ),
}


def initial_state(kind: ModelKind, seed: int) -> dict[str, Tensor]:
    """The weights every run of a comparison starts from, without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = kind.build()
    return {name: p.detach().clone() for name, p in module.named_parameters()}
