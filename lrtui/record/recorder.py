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

import contextlib
import math
import numbers
import os
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lrtui.record.format import encode
from lrtui.record.system import SystemSampler
from lrtui.record.writer import EventFileWriter, new_writer
from lrtui.spec.events import (
    EvalEvent,
    MarkEvent,
    PlanEvent,
    RunInfo,
    RunStatus,
    StatusEvent,
    StepEvent,
    SystemFigures,
)

SYSTEM_SECONDS = 2.0  # between the machine's figures in a file
# a step logged without a loss holds `null`: no loss measured, where NaN is a loss that diverged
NAN_LOSS, NO_LOSS = '"loss": NaN', '"loss": null'


def _rank() -> int:
    for var in ("RANK", "LOCAL_RANK", "SLURM_PROCID"):
        value = os.environ.get(var)
        if value is not None and value.strip().isdigit():
            return int(value)
    return 0


def _as_lrs(lr: Any) -> tuple[Any, ...]:
    if lr is None:
        return ()
    if isinstance(lr, (list, tuple)):
        return tuple(lr)
    return (lr,)


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "detach") and hasattr(value, "device") and hasattr(value, "numel")


def _checked(value: Any, what: str) -> Any:
    """A value `log` can record later without failing: a real number, None, or a one-element
    real tensor with data (detached). Anything else raises here, at the call that passed it."""
    if value is None:
        return None
    if _is_tensor(value):
        if value.numel() != 1:
            raise ValueError(
                f"RunRecorder.log: {what} must be one number, not a tensor of shape {tuple(value.shape)}"
            )
        if getattr(value, "is_meta", False) or value.device.type == "meta":
            raise ValueError(f"RunRecorder.log: {what} is a meta tensor (it holds no value)")
        if value.is_complex():
            raise TypeError(f"RunRecorder.log: {what} must be real, not {value.dtype}")
        return value.detach()
    value = _plain(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"RunRecorder.log: {what} must be a number or a tensor, not {type(value).__name__}")
    return float(value)


def _plain(value: Any) -> Any:
    """A NumPy scalar or 0-d array (or a one-element tensor) as the Python number it holds."""
    one_element_tensor = _is_tensor(value) and value.numel() == 1
    numpy_scalar = getattr(value, "shape", None) == () and hasattr(value, "item")
    return value.item() if one_element_tensor or numpy_scalar else value


def _whole(value: Any, what: str) -> int:
    """A step as the whole number a file holds (an int64, as readers keep it): a fractional,
    textual, boolean or out-of-range one raises here, naming the value, not at a later write."""
    value = _plain(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"RunRecorder.log: {what} must be a whole number, not {value!r:.40}")
    if not -(2**63) <= int(value) < 2**63:
        raise ValueError(f"RunRecorder.log: {what} {int(value)} is out of range (|{what}| < 2^63)")
    return int(value)


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
        system: bool = False,
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
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False
        if self.enabled:
            suffix = f".rank{self.rank}" if all_ranks else ""
            label = f"{name} [rank {self.rank}]" if all_ranks else name
            pairs = tuple((str(k), str(v)) for k, v in (config or {}).items())
            info = RunInfo(label, detail or spec, total_steps, epochs, batches, spec, pairs)
            self._writer = new_writer(
                Path(log_dir), name, info, suffix, flush_lines=10**9, rank=self.rank, started=time.time()
            )
            self.path = self._writer.path
        self._sampler: SystemSampler | None = None
        if system and self.enabled:  # the machine's figures too, for `lrtui watch` elsewhere
            self._sampler = SystemSampler(self._system, every=SYSTEM_SECONDS)
            self._system([self._sampler.sample()])  # the first, at once: a short run has it too
            self._sampler.start()

    def log(self, step: int | None = None, *, epoch: int = 0, lr: Any = None, loss: Any = None) -> None:
        """Record one training step. `lr` and `loss` may be floats, lists or tensors.

        A value that cannot be recorded raises here (TypeError or ValueError), never at a later
        write; safe to call from several threads."""
        if self._closed:
            raise RuntimeError("RunRecorder.log() after close() or finish()")
        if not self.enabled:
            return
        lrs = tuple(_checked(v, "lr") for v in _as_lrs(lr))
        checked_loss = _checked(loss, "loss")
        given = None if step is None else _whole(step, "step")
        whole_epoch = int(_plain(epoch))
        with self._lock:
            if self._forked():
                return
            step = self._last_step + 1 if given is None else given
            self._last_step = step
            self._pending.append((step, whole_epoch, lrs, checked_loss, self._clock() - self._started))
            due = (
                len(self._pending) >= self._flush_steps
                or self._clock() - self._last_flush >= self._flush_seconds
            )
        if due:
            self.flush()

    def log_eval(self, step: int, loss: Any, epoch: int = 0) -> None:
        """A validation loss, measured after training step `step`."""
        value = _resolve([_checked(loss, "loss")])[0]
        self._event(EvalEvent(0, 0, int(epoch), int(step), value))

    def plan(self, lrs: Sequence[float], marks: Sequence[tuple[int, str, str]] = ()) -> None:
        """The LR the schedule will follow: `lrs[k]` is the LR training step k + 1 uses, and
        `marks` the regime changes ahead as (step, kind, label). Panels draw it dimmed ahead of
        the trained part; files from other tools cannot carry it."""
        self._event(PlanEvent(0, 0, tuple(float(v) for v in lrs), "batch", 1, tuple(marks)))

    def mark(self, step: int, kind: str, label: str) -> None:
        """A regime change after training step `step` (kind: drop, restart, warmup, phase, cut)."""
        self._event(MarkEvent(0, 0, int(step), kind, label))

    def _system(self, events: list) -> None:
        if not self._closed:
            with contextlib.suppress(RuntimeError):
                self._event(events[-1])

    def _event(self, event: EvalEvent | PlanEvent | MarkEvent | SystemFigures) -> None:
        if self._closed:
            raise RuntimeError("RunRecorder: write after close() or finish()")
        with self._lock:
            if self._writer is not None and not self._forked():
                self._flush_locked()  # steps before it stay before it
                line = encode(event) or ""
                self._write(lambda w: (w.add(line), w.flush()))

    def log_step(self, step: int | None, optimizer: Any, loss: Any, epoch: int = 0) -> None:
        """`log` with every param group's LR read from the optimizer."""
        self.log(step, epoch=epoch, lr=[g["lr"] for g in optimizer.param_groups], loss=loss)

    def finish(self, status: str = "done", message: str = "") -> None:
        """Mark the run finished (done, diverged, error or stopped) and close the file."""
        try:
            final = RunStatus(status)
        except ValueError:
            known = ", ".join(s.value for s in RunStatus if s.finished)
            raise ValueError(f"RunRecorder.finish: unknown status {status!r} (use {known})") from None
        if not final.finished:
            raise ValueError(f"RunRecorder.finish: {status!r} does not finish a run")
        with self._lock:
            if self._writer is not None and not self._forked():
                self._flush_locked()
                line = encode(StatusEvent(0, 0, final, message, self._last_step))
                self._write(lambda w: w.add(line or ""))
        self.close()

    def flush(self) -> None:
        """Resolve pending tensors (one transfer for all of them) and write their lines."""
        with self._lock:
            if not self._forked():
                self._flush_locked()

    def _flush_locked(self) -> None:
        if self._writer is None:
            self._pending.clear()
            return
        pending, self._pending = self._pending, []
        values = _resolve([v for _, _, lrs, loss, _ in pending for v in (*lrs, loss)])
        it = iter(values)
        lines = []
        for step, epoch, lrs, loss, elapsed in pending:
            resolved = tuple(next(it) for _ in lrs)
            line = encode(StepEvent(0, 0, step, epoch, resolved, next(it), elapsed)) or ""
            lines.append(line if loss is not None else line.replace(NAN_LOSS, NO_LOSS))
        self._write(lambda w: ([w.add(line) for line in lines], w.flush()))
        self._last_flush = self._clock()

    def _write(self, action: Callable[[EventFileWriter], object]) -> None:
        """Write through the file; a failing disk stops recording with one warning, never the
        training that calls `log`."""
        if self._writer is None:
            return
        try:
            action(self._writer)
        except OSError as exc:
            self._writer.abandon()
            self._writer = None
            warnings.warn(f"lrtui: recording to {self.path} stopped: {exc.strerror or exc}", stacklevel=4)

    def _forked(self) -> bool:
        """In a child forked from the recording process, nothing is written: the parent's
        pending steps are its own (a DataLoader worker must not write them twice)."""
        if os.getpid() == self._pid:
            return False
        self._pending.clear()
        if self._writer is not None:
            self._writer.abandon()
            self._writer = None
        return True

    def close(self) -> None:
        if self._sampler is not None:
            self._sampler.stop()
        with self._lock:
            if not self._forked():
                self._flush_locked()
                if self._writer is not None:
                    self._write(lambda w: w.close())
                    self._writer = None
            self._closed = True

    def __enter__(self) -> RunRecorder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        """Leaving the block ends the run: done, stopped (Ctrl-C) or error, with its message."""
        if self._closed:
            return
        if exc_type is None:
            self.finish("done")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.finish("stopped", "interrupted")
        else:
            self.finish("error", f"{exc_type.__name__}: {exc}".splitlines()[0])


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
