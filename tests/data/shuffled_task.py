"""A task for the resume tests: a DataLoader that shuffles (from torch's default generator, so
lrtui's per-epoch stream decides its order), dropout (the model's own randomness), and a
validation loss. `Norm` adds BatchNorm, whose running statistics a checkpoint must keep."""

from __future__ import annotations

import time

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

_gen = torch.Generator().manual_seed(5)
_X = torch.randn(640, 8, generator=_gen)
_Y = (_X[:, :4].sum(1) > 0).long()
TRAIN = TensorDataset(_X[:512], _Y[:512])
VALID = (_X[512:], _Y[512:])


def model() -> nn.Module:
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 2))


def batches(epoch: int):
    return DataLoader(TRAIN, batch_size=32, shuffle=True)


def evaluate(model: nn.Module) -> float:
    model.eval()
    x, y = VALID
    return F.cross_entropy(model(x), y).item()


class Norm:
    """The same data through a model with BatchNorm (trained one run after another)."""

    def model(self) -> nn.Module:
        return nn.Sequential(
            nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 2)
        )

    def batches(self, epoch: int):
        return batches(epoch)

    def evaluate(self, model: nn.Module) -> float:
        return evaluate(model)


class Slow:
    """The MLP's task, each batch a few milliseconds late (as from a disk), so that a test can
    stop training at a step of its choosing while it runs."""

    def model(self) -> nn.Module:
        return model()

    def batches(self, epoch: int):
        for batch in batches(epoch):
            time.sleep(0.004)
            yield batch

    def evaluate(self, model: nn.Module) -> float:
        return evaluate(model)


class SlowNorm(Slow):
    """`Slow`, through the model with BatchNorm."""

    def model(self) -> nn.Module:
        return Norm().model()
