"""Checkpoints of a whole comparison: written atomically, the last two kept, a damaged one
skipped for the one before.

One file holds every run of the trainer at one moment (after a training step, all of it
handed to the sink first): the runs train in lock step on shared batches, so one file is
what makes them consistent with each other. It holds, per run, the weights (a stacked
engine's rows included, through the run's own parameters) and buffers (BatchNorm's running
statistics), the optimizer's param groups and per-parameter state, the schedule's state
(`schedule.state`), where the run stands (gen, step, epoch, batch, paused, plateau counters);
and for all: the random states (torch, CUDA, Python, NumPy), lrtui's own step counter and the
experiment itself (so `lrtui resume DIR` needs nothing else).

The data's position within an epoch is not stored: an epoch's batches are a function of
(seed, epoch) alone (`engine.seeding`), so the resumed trainer draws the epoch again up to the
run's batch, which puts any loader (shuffled, with workers) exactly where it was.

File layout: a magic line, the SHA-256 of the payload, then the payload (`torch.save` bytes).
Written as `.tmp`, fsynced, renamed, and the folder fsynced: a file cut by `kill -9` or a full
disk is a `.tmp` that is never read; one damaged later fails its digest and the one before
is used, with one line saying so.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from lrtui.engine.checkpoint_files import file_name, listed

MAGIC = b"lrtui-checkpoint 1\n"
KEEP = 2  # checkpoints kept: the newest, and the one before should the newest be damaged
DEFAULT_EVERY_SECONDS = 300.0  # with --log-dir and no --checkpoint-every


@dataclass(frozen=True)
class CheckpointPolicy:
    """When and where a trainer checkpoints, and where it resumes from (plain data: it is
    pickled into a spawned trainer). Every `every_steps` training steps, or `every_seconds`."""

    directory: str
    every_steps: int | None = None
    every_seconds: float | None = DEFAULT_EVERY_SECONDS
    files: tuple[str, ...] = ()  # each run's events file, relative to the log directory
    meta: tuple[tuple[str, object], ...] = ()  # what the mode needs again on resume (threshold)
    resume_from: str | None = None


class CheckpointError(RuntimeError):
    """No checkpoint could be read."""


class Clock:
    """Whether a checkpoint is due: `every_steps` steps or `every_seconds` since the last."""

    def __init__(self, policy: CheckpointPolicy, clock: Callable[[], float], steps: int = 0) -> None:
        self._policy, self._clock = policy, clock
        self._last_steps, self._last_time = steps, clock()

    def due(self, steps: int) -> bool:
        p = self._policy
        if p.every_steps is not None:
            return steps - self._last_steps >= p.every_steps
        return p.every_seconds is not None and self._clock() - self._last_time >= p.every_seconds

    def taken(self, steps: int) -> None:
        self._last_steps, self._last_time = steps, self._clock()

    def behind(self, steps: int) -> bool:
        """Whether steps were trained since the last checkpoint."""
        return steps > self._last_steps


def write(directory: Path, steps: int, state: dict) -> Path:
    """Write `state` as the checkpoint of `steps` atomically; keep only the newest `KEEP`.
    An OSError (a full disk) leaves no file but the ones before."""
    directory.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    digest = hashlib.sha256(payload).hexdigest().encode()
    path = directory / file_name(steps)
    tmp = path.with_suffix(".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC + digest + b"\n")
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(directory)
    for old in listed(directory)[KEEP:]:
        with contextlib.suppress(OSError):
            old.unlink()
    return path


def remove_all(directory: Path) -> None:
    """Remove the checkpoints (every run finished: nothing is left to resume)."""
    for path in [*listed(directory), *directory.glob("ckpt-*.tmp")]:
        with contextlib.suppress(OSError):
            path.unlink()
    with contextlib.suppress(OSError):
        directory.rmdir()


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read(path: Path) -> dict:
    """A checkpoint's state; ValueError says why the file cannot be used."""
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise ValueError("not an lrtui checkpoint")
    head, _, payload = data[len(MAGIC) :].partition(b"\n")
    if hashlib.sha256(payload).hexdigest().encode() != head:
        raise ValueError("damaged (its digest does not match)")
    try:
        return torch.load(io.BytesIO(payload), weights_only=False, map_location="cpu")
    except Exception as exc:  # a file that passed its digest but that torch cannot read
        raise ValueError(f"unreadable ({type(exc).__name__})") from None


def readable(directory: Path) -> Iterator[tuple[Path, dict | None, str]]:
    """Each checkpoint, newest first, with its state, or None and why it cannot be used."""
    for path in listed(directory):
        try:
            yield path, read(path), ""
        except (OSError, ValueError) as exc:
            yield path, None, f"checkpoint {path.name} is {exc}"


# ---- random states ---------------------------------------------------------------------------
def random_states() -> dict:
    """Every random stream training may draw from: torch's CPU (dropout, a loader's own use),
    CUDA's where it is in use, Python's and NumPy's (a task's augmentation)."""
    states: dict = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    with contextlib.suppress(ImportError):
        import numpy

        states["numpy"] = numpy.random.get_state()
    return states


def set_random_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    if "numpy" in states:
        with contextlib.suppress(ImportError):
            import numpy

            numpy.random.set_state(states["numpy"])
