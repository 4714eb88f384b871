"""The smallest model and data the Hugging Face `Trainer` takes, for tests whose files the real
`Trainer` writes (its state, its TensorBoard events, lrtui's callback's logs)."""

from __future__ import annotations

import torch
from torch import nn


class Regressor(nn.Module):
    """A linear regression that returns its own loss, as the `Trainer` wants of a model."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def forward(self, x, labels=None):
        out = self.linear(x).squeeze(-1)
        return {"loss": nn.functional.mse_loss(out, labels), "logits": out}


def regression_rows(n: int, seed: int) -> list[dict[str, torch.Tensor]]:
    """`n` rows of 4 features and their sum, drawn from `seed`."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=gen)
    y = x.sum(dim=1)
    return [{"x": x[i], "labels": y[i]} for i in range(n)]
