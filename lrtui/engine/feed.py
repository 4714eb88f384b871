"""Each epoch's batches, asked of the workload once and shared by every run.

Runs can be in different epochs (one paused, one restarted), so the feed keeps every epoch a
run still trains in, on the training device, and forgets the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lrtui.engine.workload import Batch, Workload


class EpochFeed:
    """Each epoch's batches, asked of the workload once and shared by every run."""

    def __init__(self, workload: Workload, device: torch.device) -> None:
        self._workload = workload
        self._device = device
        self._epochs: dict[int, Sequence[Batch]] = {}

    def batch(self, epoch: int, index: int) -> Batch:
        batches = self._epochs.get(epoch)
        if batches is None:
            batches = self._epochs[epoch] = [
                tuple(t.to(self._device) for t in b) for b in self._workload.batches(epoch)
            ]
        return batches[index]

    def keep_only(self, epochs: set[int]) -> None:
        """Forget the epochs no run still trains in."""
        for e in [e for e in self._epochs if e not in epochs]:
            del self._epochs[e]
