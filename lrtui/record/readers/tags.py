"""Which TensorBoard scalar is the learning rate, the loss, the epoch: found by the names the
trainers people use write, or by the user's own glob patterns (`--lr-tag`, `--loss-tag`).

HF Trainer writes `train/learning_rate`, `train/loss`, `train/epoch`; Lightning's
LearningRateMonitor `lr-<Optimizer>` (and `lr-<Optimizer>/pg<N>` per param group), a module's
`self.log("train_loss")` `train_loss` (or `train_loss_step`), and `epoch`; plain loops `lr`,
`learning_rate`, `loss`. Every other scalar is kept too, for the charts.

The two epoch tags count differently: HF's `train/epoch` is the share of epochs completed
after the step (0.33, 0.67, 1.0), Lightning's `epoch` its 0-based `current_epoch` (`logged_epoch`).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from lrtui.spec.text import clean

LR_PATTERNS = ("train/learning_rate", "lr-*", "learning_rate", "lr", "train/lr", "*/learning_rate", "*/lr")
LOSS_PATTERNS = (
    "train/loss",
    "train_loss",
    "train_loss_step",
    "loss",
    "train/loss_step",
    "*/train_loss",
    "*/loss",
)
EPOCH_PATTERNS = ("train/epoch", "epoch")
PROGRESS_EPOCH_TAGS = ("train/epoch",)  # epochs completed so far, fractional (HF)
MAX_EPOCH = 2**31  # a logged epoch past this is a broken value, not an epoch
SEEN_KEPT = 1000  # tag names a run keeps for messages: a file of endless names costs no more
NAMED = 5  # tags named in a message, the rest counted


def logged_epoch(value: float, progress: bool, default: int = 1) -> int:
    """The 1-based epoch a step is part of, from the epoch its trainer logged with it.

    Epochs completed (`progress`, HF: 0.33, 0.67, 1.0 — the step that logs 1.0 is epoch 1's
    last): ⌈value⌉. A 0-based epoch index (Lightning's `current_epoch`: 0, 1, ...): ⌊value⌋ + 1.
    The two agree on every fraction and differ at whole numbers; at least 1 either way.
    `default` for a value that is no epoch (NaN, ±Inf, past `MAX_EPOCH`): a reader passes the
    epoch it had, so one bad value costs that value only.
    """
    if not math.isfinite(value) or abs(value) > MAX_EPOCH:
        return default
    if progress:
        return max(1, math.ceil(value - 1e-9))
    return max(1, math.floor(value + 1e-9) + 1)


def _group(tag: str) -> int:
    """Param group of an LR tag: `lr-Adam` is 0, `lr-Adam/pg2` is 2."""
    found = re.search(r"/pg(\d+)$", tag)
    return int(found.group(1)) if found else 0


def _first(tags: Iterable[str], patterns: Sequence[str]) -> list[str]:
    """The tags matching the first pattern that matches any."""
    tags = sorted(tags)
    for pattern in patterns:
        hits = [t for t in tags if fnmatchcase(t, pattern)]
        if hits:
            return hits
    return []


@dataclass
class TagMap:
    """The tags chosen for a run; chosen once they appear, then kept (a run's meaning of "loss"
    never changes under the viewer)."""

    lr_patterns: Sequence[str] = LR_PATTERNS
    loss_patterns: Sequence[str] = LOSS_PATTERNS
    lr: list[str] = field(default_factory=list)  # one per param group, in group order
    loss: str | None = None
    epoch: str | None = None
    seen: set[str] = field(default_factory=set)  # the names logged (the first `SEEN_KEPT`), for messages

    def update(self, tags: Iterable[str]) -> None:
        tags = set(tags)
        if len(self.seen) < SEEN_KEPT:
            self.seen.update(itertools.islice(tags - self.seen, SEEN_KEPT - len(self.seen)))
        if not self.lr:
            hits = _first(tags, self.lr_patterns)
            base = next(iter(sorted(h.split("/pg")[0] for h in hits)), "")
            self.lr = sorted((h for h in hits if h == base or h.startswith(base + "/pg")), key=_group)
        if self.loss is None:
            self.loss = next(iter(_first(tags, self.loss_patterns)), None)
        if self.epoch is None:
            self.epoch = next(iter(_first(tags, EPOCH_PATTERNS)), None)

    @property
    def epoch_progress(self) -> bool:
        """Whether the epoch tag counts epochs completed (HF) rather than the epoch's index."""
        return self.epoch in PROGRESS_EPOCH_TAGS

    def others(self, tags: Iterable[str]) -> list[str]:
        mine = {*self.lr, self.loss, self.epoch}
        return sorted(t for t in tags if t not in mine)

    def describe(self) -> str:
        """The tags chosen, for the run's panel: cleaned, since a tag is any text a file holds
        (an escape in one would reach the terminal: its title, its clipboard)."""
        lr = ", ".join(clean(t, 80) for t in self.lr) if self.lr else "none yet"
        return f"lr {lr} · loss {clean(self.loss, 80) if self.loss else 'none yet'}"


def not_logged(asked: Iterable[tuple[str, str]], logged: Iterable[str], shown: int = NAMED) -> str:
    """ "no run logs --tag acc; the runs log loss, lr, val/acc": the tags asked for (each its
    option and the tag) that no run logs, and a few that they do, cleaned (a tag is any text a
    file holds)."""
    names = sorted(logged)
    missing = ", ".join(f"{flag} {clean(tag, 80)}" for flag, tag in asked)
    few = ", ".join(clean(t, 80) for t in names[:shown])
    more = f" and {len(names) - shown:,} more" if len(names) > shown else ""
    return f"no run logs {missing}; " + (
        f"the runs log {few}{more}" if names else "the runs log no named scalars"
    )


def tag_map(lr_tag: str | None, loss_tag: str | None) -> TagMap:
    """The default patterns, or the user's glob in their place."""
    return TagMap(
        lr_patterns=(lr_tag,) if lr_tag else LR_PATTERNS,
        loss_patterns=(loss_tag,) if loss_tag else LOSS_PATTERNS,
    )
