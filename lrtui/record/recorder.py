"""Record a training run as an lrtui events file, from lrtui itself or from your own loop.

    from lrtui import RunRecorder

    with RunRecorder("runs", name="resnet-onecycle") as rec:
        for step, (x, y) in enumerate(loader, 1):
            ...
            rec.log(step, epoch=epoch, lr=scheduler.get_last_lr(), loss=loss)

`log` is cheap enough for every step: it keeps tensors as they are (no `.item()`, so no CUDA
sync per call) and resolves the pending ones together, in one transfer, when it writes a batch
of lines. Under torchrun only rank 0 records unless `all_ranks=True`, which gives each rank a
file of its own. `lrtui watch DIR` shows the files live.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lrtui.record.format import encode
from lrtui.record.writer import EventFileWriter, new_file
from lrtui.spec.events import RunInfo, RunStatus, StatusEvent, StepEvent


def _rank() -> int:
    for var in ("RANK", "LOCAL_RANK", "SLURM_PROCID"):
        value = os.environ.get(var)
        if value is not None and value.strip().isdigit():
            return int(value)
    return 0


def _as_lrs(lr: Any) -> Any:
    if lr is None:
        return ()
    if isinstance(lr, (list, tuple)):
        return tuple(lr)
    return (lr,)


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "detach") and hasattr(value, "device")


class RunRecorder:
    """Records one run of your own training loop to `log_dir/<name>.jsonl`."""

    def __init__(
        self,
        log_dir: str | os.PathLike[str],
        name: str = "run",
        *,
        spec: str = "",
        detail: str = "",
        total_steps: int | None = None,
        epochs: int | None = None,
        batches: int | None = None,
        config: Mapping[str, object] | None = None,
        all_ranks: bool = False,
        flush_steps: int = 200,
        flush_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rank = _rank()
        self.enabled = all_ranks or self.rank == 0
        self._clock = clock
        self._started = clock()
        self._pending: list[tuple[int, int, tuple[Any, ...], Any, float]] = []
        self._flush_steps = flush_steps
        self._flush_seconds = flush_seconds
        self._last_flush = self._started
        self._last_step = 0
        self.path: Path | None = None
        self._writer: EventFileWriter | None = None
        if self.enabled:
            suffix = f".rank{self.rank}" if all_ranks else ""
            label = f"{name} [rank {self.rank}]" if all_ranks else name
            pairs = tuple((str(k), str(v)) for k, v in (config or {}).items())
            info = RunInfo(label, detail or spec, total_steps, epochs, batches, spec, pairs)
            self.path = new_file(Path(log_dir), name, suffix)
            self._writer = EventFileWriter(
                self.path, info, flush_lines=10**9, rank=self.rank, started=time.time()
            )

    def log(self, step: int | None = None, *, epoch: int = 0, lr: Any = None, loss: Any = None) -> None:
        """Record one training step. `lr` and `loss` may be floats, lists or tensors."""
        if not self.enabled:
            return
        step = self._last_step + 1 if step is None else int(step)
        self._last_step = step
        if _is_tensor(loss):
            loss = loss.detach()
        lrs = tuple(v.detach() if _is_tensor(v) else v for v in _as_lrs(lr))
        self._pending.append((step, int(epoch), lrs, loss, self._clock() - self._started))
        if len(self._pending) >= self._flush_steps or self._clock() - self._last_flush >= self._flush_seconds:
            self.flush()

    def log_step(self, step: int | None, optimizer: Any, loss: Any, epoch: int = 0) -> None:
        """`log` with every param group's LR read from the optimizer."""
        self.log(step, epoch=epoch, lr=[g["lr"] for g in optimizer.param_groups], loss=loss)

    def finish(self, status: str = "done", message: str = "") -> None:
        """Mark the run finished (done, diverged, error or stopped) and close the file."""
        if self._writer is not None:
            self.flush()
            line = encode(StatusEvent(0, 0, RunStatus(status), message, self._last_step))
            assert line is not None
            self._writer.add(line)
        self.close()

    def flush(self) -> None:
        """Resolve pending tensors (one transfer for all of them) and write their lines."""
        if self._writer is None:
            return
        pending, self._pending = self._pending, []
        values = _resolve([v for _, _, lrs, loss, _ in pending for v in (*lrs, loss)])
        it = iter(values)
        for step, epoch, lrs, _, elapsed in pending:
            resolved = tuple(next(it) for _ in lrs)
            loss = next(it)
            line = encode(StepEvent(0, 0, step, epoch, resolved, loss, elapsed))
            assert line is not None
            self._writer.add(line)
        self._writer.flush()
        self._last_flush = self._clock()

    def close(self) -> None:
        if self._writer is not None:
            self.flush()
            self._writer.close()
            self._writer = None

    def __enter__(self) -> RunRecorder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and self._writer is not None:
            self.finish("error", f"{exc_type.__name__}: {exc}".splitlines()[0])
        else:
            self.close()


def _resolve(values: list[Any]) -> list[float]:
    """Floats for a mix of numbers, None and tensors, reading all tensors in one go per device."""
    out: list[float] = [math.nan] * len(values)
    tensors: dict[Any, list[int]] = {}
    for i, v in enumerate(values):
        if _is_tensor(v):
            tensors.setdefault(v.device, []).append(i)
        elif v is not None:
            out[i] = float(v)
    if tensors:
        import torch

        for indices in tensors.values():
            stacked = torch.stack([values[i].reshape(()).float() for i in indices]).tolist()
            for i, f in zip(indices, stacked, strict=True):
                out[i] = f
    return out
