"""Each epoch's batches, asked of the workload once and shared by every run.

Runs can be in different epochs (one paused, one restarted), so the feed keeps every epoch a
run still trains in, and forgets the rest. Within an epoch, batches are drawn from the task
as the first run reaches them and dropped once every run has passed them, so a DataLoader's
epoch never has to fit on the device at once (a paused run holds its place, and what follows
it, until it resumes).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

import torch

from lrtui.engine.workload import Batch, Workload


class ShortEpochError(RuntimeError):
    """The task's batches ran out before the number its length promised."""


def as_batch(item: object, device: torch.device) -> Batch:
    """A batch as a tuple of tensors on `device` (a DataLoader yields lists)."""
    items = item if isinstance(item, (tuple, list)) else (item,)
    if not items or not all(isinstance(t, torch.Tensor) for t in items):
        kinds = ", ".join(type(t).__name__ for t in items)
        raise TypeError(f"a batch must be a tensor or a tuple of tensors, not ({kinds})")
    return tuple(t.to(device, non_blocking=True) for t in items)


class _Epoch:
    def __init__(self, source: Iterable, limit: int | None, device: torch.device) -> None:
        self._device = device
        if not hasattr(source, "__len__"):
            # a generator: its length is only known once it has run, and one that never ends
            # is read `limit` (--batches) deep
            source = list(islice(source, limit) if limit else source)
        length = len(source)  # type: ignore[arg-type]
        self.length = min(length, limit) if limit else length
        self._it: Iterator = iter(source)
        self._kept: dict[int, Batch] = {}
        self._drawn = 0

    def get(self, index: int) -> Batch:
        while self._drawn <= index:
            try:
                item = next(self._it)
            except StopIteration:
                raise ShortEpochError(
                    f"the epoch gave {self._drawn} batches, fewer than the {self.length} expected"
                ) from None
            self._kept[self._drawn] = as_batch(item, self._device)
            self._drawn += 1
        return self._kept[index]

    def holds(self, index: int) -> bool:
        """Whether batch `index` can still be read: drawn and kept, or not drawn yet."""
        return index >= self._drawn or index in self._kept

    def drop_before(self, index: int) -> None:
        for i in [i for i in self._kept if i < index]:
            del self._kept[i]


class EpochFeed:
    """Batches by (epoch, index), each drawn from the workload once."""

    def __init__(self, workload: Workload, device: torch.device, limit: int | None = None) -> None:
        self._workload = workload
        self._device = device
        self._limit = limit
        self._epochs: dict[int, _Epoch] = {}

    def _epoch(self, epoch: int) -> _Epoch:
        found = self._epochs.get(epoch)
        if found is None:
            found = self._epochs[epoch] = _Epoch(self._workload.batches(epoch), self._limit, self._device)
        return found

    def batch(self, epoch: int, index: int) -> Batch:
        """Batch `index` of `epoch`. One dropped already (every run had passed it, then a run
        went back: restarted, or added mid-comparison) is drawn again with its whole epoch,
        which the task gives anew, the same batches (`seeding`); the runs further on in that
        epoch read the new draw, equal to the old."""
        found = self._epochs.get(epoch)
        if found is not None and not found.holds(index):
            del self._epochs[epoch]
        return self._epoch(epoch).get(index)

    def has(self, epoch: int) -> bool:
        """Whether the task was already asked for this epoch's batches."""
        return epoch in self._epochs

    def length(self, epoch: int) -> int:
        return self._epoch(epoch).length

    def keep(self, positions: list[tuple[int, int]]) -> None:
        """Forget what no run needs: epochs no run is in (asked of the task again when a run
        gets there: the same batches, `seeding`), and batches every run there has passed,
        unless a run in an earlier epoch (one restarted or paused) will read this one from its
        first batch."""
        for e in [e for e in self._epochs if all(pe != e for pe, _ in positions)]:
            del self._epochs[e]
        for e, epoch in self._epochs.items():
            behind = any(pe < e for pe, _ in positions)
            epoch.drop_before(0 if behind else min(i for pe, i in positions if pe == e))


def tidy(feeds: dict[int, EpochFeed], going: list[tuple[int, int, int]]) -> None:
    """Each seed's feed keeps what its unfinished runs still need; `going`: their (seed, epoch,
    batch)."""
    for seed, feed in feeds.items():
        feed.keep([(epoch, batch) for s, epoch, batch in going if s == seed])
