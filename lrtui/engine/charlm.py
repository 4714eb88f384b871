"""`--task charlm`: a small character-level transformer language model, on text that ships
with every Python installation (the standard library's own sources), so nothing is
downloaded and every machine trains on the same characters.

Schedules visibly matter here, as they do for real language models: warm-up then cosine,
constant and one-cycle give clearly different curves within a few hundred steps. The last
tenth of the text is held out; `evaluate` is the mean loss over fixed windows of it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lrtui.engine.workload import Batch

TEXT_BYTES = 1_000_000
CONTEXT = 32
DIM, LAYERS, HEADS = 128, 2, 4
EVAL_BATCHES = 4


def stdlib_text(limit: int = TEXT_BYTES) -> str:
    """Up to `limit` characters of the standard library's sources, in a fixed order."""
    root = Path(os.__file__).parent
    parts, size = [], 0
    for path in sorted(root.glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        parts.append(text)
        size += len(text)
        if size >= limit:
            break
    return "".join(parts)[:limit]


class Block(nn.Module):
    """Pre-norm causal self-attention and an MLP, in plain ops (so torch.func.vmap stacks it)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.reshape(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        attn = scores.masked_fill(mask, float("-inf")).softmax(dim=-1)
        x = x + self.proj((attn @ v).transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.ln2(x))


class CharLM(nn.Module):
    def __init__(self, vocab: int, dim: int = DIM, layers: int = LAYERS, heads: int = HEADS) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.position = nn.Parameter(torch.randn(CONTEXT, dim) * 0.02)
        self.blocks = nn.Sequential(*(Block(dim, heads) for _ in range(layers)))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)

    def forward(self, x: Tensor) -> Tensor:
        h = self.embed(x) + self.position[: x.shape[-1]]
        return self.head(self.norm(self.blocks(h)))


class CharLMWorkload:
    """Random windows of the training text each epoch (seeded by seed and epoch), next-character
    cross-entropy, and a validation loss on held-out text."""

    name = "charlm"
    batched = False  # stacked through torch.func.vmap

    def __init__(self, batches: int, batch_size: int, seed: int, device: torch.device) -> None:
        text = stdlib_text()
        chars = sorted(set(text))
        self.vocab = len(chars)
        lookup = {c: i for i, c in enumerate(chars)}
        data = torch.tensor([lookup[c] for c in text], dtype=torch.long)
        split = int(len(data) * 0.9)
        self._train, self._val = data[:split].to(device), data[split:].to(device)
        self._batches, self._batch_size, self._seed = batches, batch_size, seed
        self._eval = [
            self._window(self._val, torch.Generator().manual_seed(seed + 10**6 + i))
            for i in range(EVAL_BATCHES)
        ]

    def _window(self, data: Tensor, gen: torch.Generator) -> Batch:
        starts = torch.randint(0, len(data) - CONTEXT - 1, (self._batch_size,), generator=gen)
        index = starts.unsqueeze(1) + torch.arange(CONTEXT + 1)
        chunk = data[index.to(data.device)]
        return chunk[:, :-1], chunk[:, 1:]

    def model(self) -> nn.Module:
        return CharLM(self.vocab)

    def batches(self, epoch: int) -> list[Batch]:
        gen = torch.Generator().manual_seed(self._seed * 100_003 + epoch)
        return [self._window(self._train, gen) for _ in range(self._batches)]

    def loss(self, model: nn.Module, batch: Batch) -> Tensor:
        x, y = batch
        logits = model(x)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    def evaluate(self, model: nn.Module) -> float:
        model.eval()
        with torch.no_grad():
            return float(torch.stack([self.loss(model, b) for b in self._eval]).mean())

    def batched_loss(self, params: dict[str, Tensor], batch: Batch) -> Tensor | None:
        return None
