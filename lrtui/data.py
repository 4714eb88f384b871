"""Synthetic classification data, made from a seed so every run and every machine sees the same.

The `random` task is the tutorial's trainloader: for each batch `randn(batch_size, 10)` then
`randint(0, 2, (batch_size,))`, drawn in that order, so with the same seed the batches equal
the tutorial's after `torch.manual_seed(seed)`. Its labels are noise, so the loss hovers near
ln 2. The `teacher` task labels inputs with a fixed random linear rule, so the loss can fall
and schedules visibly differ.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lrtui.models import CLASSES, IN_FEATURES

TASKS = {
    "random": "random inputs with random 0/1 labels (the tutorial's data)",
    "teacher": "random inputs labelled by a fixed linear rule with 10% label noise (learnable)",
}


def make_dataset(task: str, batches: int, batch_size: int, seed: int) -> tuple[Tensor, Tensor]:
    """Inputs [batches, batch_size, 10] and labels [batches, batch_size], on the CPU."""
    gen = torch.Generator().manual_seed(seed)
    if task == "random":
        xs, ys = [], []
        for _ in range(batches):
            xs.append(torch.randn(batch_size, IN_FEATURES, generator=gen))
            ys.append(torch.randint(0, CLASSES, (batch_size,), generator=gen))
        return torch.stack(xs), torch.stack(ys)
    if task == "teacher":
        teacher = torch.randn(IN_FEATURES, generator=gen)
        x = torch.randn(batches, batch_size, IN_FEATURES, generator=gen)
        flip = torch.rand(batches, batch_size, generator=gen) < 0.1
        y = ((x @ teacher > 0) ^ flip).long()
        return x, y
    raise ValueError(f"unknown task {task!r}")
