"""Each epoch's batches drawn from a torch random stream of their own, seeded by (seed, epoch).

A task's unseeded `DataLoader(shuffle=True)` takes its order from torch's default generator,
and not when `batches(epoch)` returns it: its sampler draws a seed on the first `next()` (with
`num_workers=0`) or when the iterator is made (with workers, whose own seeds follow from a base
seed drawn then). Left alone, that order depends on whatever drew random numbers before (the
model's dropout, the other runs a rank happens to hold, the trial step), so reruns differ and
two torchrun ranks train on different batches: no fair comparison. Here the call to
`batches(epoch)`, the making of its iterator and every `next()` run with torch's CPU generator
swapped for the epoch's own stream, and the caller's state put back after each. So the batch
order is a function of (seed, epoch) alone, the same on every rerun, rank and engine; and the
caller's stream advances as if no data had been drawn, so the model's own randomness (dropout)
is neither replayed in step with the data nor shifted by it. A loader given its own
`generator=` never reads the default generator, so it stays exactly as the user made it.

Only torch's CPU generator is swapped: DataLoader draws from it, while a CUDA generator would
need a device sync on every batch. Python's `random` and NumPy are not touched (a loader's
workers seed both from the base seed, so with workers they follow too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from types import TracebackType

import torch


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of `epoch`'s stream under the comparison's `seed` (the `--seeds` order too)."""
    return (seed * 1_000_003 + epoch) % 2**63


class _Stream:
    """A torch CPU generator state of its own, swapped in for the length of a `with`."""

    def __init__(self, seed: int) -> None:
        self._state = torch.Generator().manual_seed(seed).get_state()
        self._outer: torch.Tensor | None = None

    def __enter__(self) -> None:
        self._outer = torch.get_rng_state()
        torch.set_rng_state(self._state)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._state = torch.get_rng_state()
        if self._outer is not None:
            torch.set_rng_state(self._outer)
        self._outer = None


class SeededEpoch:
    """One epoch's batches, iterated once, every draw made on the epoch's stream. Lazy, like
    the source: a generator is drawn as far as it is read (the range test reads a few)."""

    def __init__(self, it: Iterator, stream: _Stream) -> None:
        self._it, self._stream = it, stream

    def __iter__(self) -> Iterator:
        return self

    def __next__(self) -> object:
        with self._stream:
            return next(self._it)


class SizedEpoch(SeededEpoch):
    """A seeded epoch whose source told its length (a DataLoader, a list)."""

    def __init__(self, it: Iterator, stream: _Stream, length: int) -> None:
        super().__init__(it, stream)
        self._length = length

    def __len__(self) -> int:
        return self._length


def seeded_batches(batches: Callable[[int], Iterable], seed: int, epoch: int) -> SeededEpoch:
    """`batches(epoch)` called, its iterator made and read on the stream of (seed, epoch):
    sized where the source is, so a feed that needs the length need not draw it whole."""
    stream = _Stream(epoch_seed(seed, epoch))
    with stream:
        source = batches(epoch)
        it = iter(source)
    if hasattr(source, "__len__"):
        return SizedEpoch(it, stream, len(source))  # type: ignore[arg-type]
    return SeededEpoch(it, stream)
