"""Static-shape steps captured once: the stacked forward/backward replayed as a CUDA graph.

Small models on a GPU spend their step launching kernels, the same ones every step. Where
every batch has the same shapes, the stacked engine's batched loss can be compiled with
`torch.compile(mode="reduce-overhead")`, which records the forward and backward kernels as
CUDA graphs and replays each with one launch. What prevents it keeps the eager pass and says
why (`CapturedLoss.why`, for the status bar):

- the CPU, or any device but CUDA (CUDA graphs are CUDA's);
- batches whose shapes change from step to step (a last short batch, text of varying length):
  each new shape would record a new graph;
- a failure of the compiler or the capture (an operation it cannot record): the step that
  failed is computed eagerly, and so is every step after it.

A replayed graph writes its outputs into the same memory each time, so the losses are copied
out (the trainer keeps a step's losses on the device until the next hand-over). The run axis
may change length (a paused run leaves the stacked pass): that is a shape the compiler records
once more, not a reason to stop.

Off until measured: `CAPTURE_DEVICES` is where it is on by default, and it stays empty until a
GPU's figures (`scripts/gpu_check.sh`, `python -m lrtui.bench --own --device cuda`) show it
faster; the bench measures it side by side either way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

CAPTURE_DEVICES: frozenset[str] = frozenset()  # on by default nowhere yet: no GPU measured it

BatchedLoss = Callable[[dict[str, Tensor], tuple[Tensor, ...]], Tensor]


def reduce_overhead(loss: BatchedLoss) -> BatchedLoss:
    """torch's compiler in its CUDA-graph mode, shapes taken as static."""
    return torch.compile(loss, mode="reduce-overhead", dynamic=False)


def why_not_captured(device: torch.device) -> str | None:
    """Why steps on `device` cannot be captured at all, or None."""
    if device.type != "cuda":
        return f"not captured: CUDA graphs need a CUDA device, not {device.type}"
    return None


def _shapes(batch: tuple[Tensor, ...]) -> tuple[tuple[int, ...], ...]:
    """A batch's shapes without the run axis (its length may change: a paused run)."""
    return tuple(tuple(t.shape[1:]) for t in batch if isinstance(t, Tensor))


class CapturedLoss:
    """The batched loss, compiled for replay while the task's shapes stay put; eager after the
    first reason not to be, with that reason in `why`."""

    def __init__(
        self,
        loss: BatchedLoss,
        device: torch.device,
        compile: Callable[[BatchedLoss], BatchedLoss] = reduce_overhead,
    ) -> None:
        self._eager = loss
        self.why = why_not_captured(device)
        self._compiled = None if self.why else compile(loss)
        self._first: tuple[tuple[int, ...], ...] | None = None

    @property
    def captured(self) -> bool:
        return self._compiled is not None

    def _stop(self, why: str) -> None:
        self._compiled, self.why = None, f"not captured: {why}"

    def __call__(self, params: dict[str, Tensor], batch: tuple[Tensor, ...]) -> Tensor:
        if self._compiled is None:
            return self._eager(params, batch)
        shapes = _shapes(batch)
        if self._first is None:
            self._first = shapes
        elif shapes != self._first:
            self._stop(f"the task's batch shapes change ({self._first} then {shapes})")
            return self._eager(params, batch)
        try:
            return self._compiled(params, batch).clone()  # the graph's output memory is reused
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0][:120]
            self._stop(f"the capture failed ({type(exc).__name__}: {first})")
            return self._eager(params, batch)
