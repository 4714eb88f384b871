"""A task file for `lrtui --task`: your model and your data, compared under several schedules.

    lrtui --task examples/my_task.py -s 'OneCycleLR(max_lr=0.05)' -s 'CosineAnnealingLR(T_max=8)' \
          --optimizer momentum --lr 0.05 --epochs 8
    lrtui --task examples/my_task.py:Shapes --optimizer adam --lr 0.003 --epochs 5   # the CNN

A task provides `model()` and `batches(epoch)`, and may provide `loss(model, batch)` and
`evaluate(model)`. At module level (the MLP below) or as a class named after the colon (the
CNN). This file makes its own data, so it runs anywhere; swap in your Dataset and DataLoader.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

# ---- an MLP on two interleaved spirals (module level: `--task examples/my_task.py`) -------------


def _spirals(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    t = torch.rand(n, generator=gen) * 3 * math.pi
    label = torch.randint(0, 2, (n,), generator=gen)
    r = t / (3 * math.pi)
    angle = t + label * math.pi
    x = torch.stack([r * torch.cos(angle), r * torch.sin(angle)], dim=1)
    return x + 0.03 * torch.randn(n, 2, generator=gen), label


TRAIN = TensorDataset(*_spirals(4096, seed=1))
VALID = _spirals(1024, seed=2)


def model() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 2))


def batches(epoch: int):
    # a seeded shuffle per epoch: lrtui asks once per epoch and feeds every run the same batches
    gen = torch.Generator().manual_seed(epoch)
    return DataLoader(TRAIN, batch_size=64, shuffle=True, generator=gen)


def evaluate(model: nn.Module) -> float:
    model.eval()
    x, y = VALID
    return F.cross_entropy(model(x), y).item()


# (no loss(): the default is cross-entropy for integer targets, mean squared error for floats)


# ---- a small CNN on synthetic shapes (`--task examples/my_task.py:Shapes`) ---------------------


class Shapes:
    """16x16 images of a horizontal bar, a vertical bar, a square or a cross, with noise."""

    def __init__(self) -> None:
        self.train = self._images(3072, seed=3)
        self.valid = self._images(512, seed=4)

    @staticmethod
    def _images(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        gen = torch.Generator().manual_seed(seed)
        labels = torch.randint(0, 4, (n,), generator=gen)
        images = 0.3 * torch.randn(n, 1, 16, 16, generator=gen)
        offsets = torch.randint(3, 11, (n, 2), generator=gen)
        for i, (label, (r, c)) in enumerate(zip(labels.tolist(), offsets.tolist(), strict=True)):
            if label in (0, 3):
                images[i, 0, r, c - 3 : c + 3] += 1.0
            if label in (1, 3):
                images[i, 0, r - 3 : r + 3, c] += 1.0
            if label == 2:
                images[i, 0, r - 2 : r + 2, c - 2 : c + 2] += 1.0
        return images, labels

    def model(self) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(32, 4),
        )

    def batches(self, epoch: int):
        order = torch.randperm(len(self.train[1]), generator=torch.Generator().manual_seed(epoch))
        x, y = self.train
        return [(x[idx], y[idx]) for idx in order.split(64)]

    def loss(self, model: nn.Module, batch) -> torch.Tensor:
        x, y = batch
        return F.cross_entropy(model(x), y, label_smoothing=0.05)

    def evaluate(self, model: nn.Module) -> float:
        model.eval()
        x, y = self.valid
        return F.cross_entropy(model(x), y).item()
