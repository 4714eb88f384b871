"""Checkpointed comparisons: a new one's policy, and `lrtui resume DIR` continuing one.

A comparison recorded with `--log-dir DIR` checkpoints into `DIR/checkpoints` (every run,
`engine.checkpoint`). Resuming picks the newest checkpoint that can be used: one that reads
whole (its digest matches) and that every going run's events file reaches (its steps reached
the disk before training died); each one passed over is said in one line. The runs' files are
cut back to it (`record.continued`), the task is loaded again as the experiment stored in the
checkpoint names it, and training goes on, live or `--headless`, with the logs read back
first, so the table and the panels show each run from its first step.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from lrtui.engine import checkpoint, checkpoint_files
from lrtui.engine.checkpoint import CheckpointPolicy
from lrtui.engine.control import SOCKET, answering
from lrtui.modes.prepare import Ready, prepare
from lrtui.record import continued
from lrtui.record.format import decode_header, event_files
from lrtui.record.writer import LogDirSink
from lrtui.spec.cadence import Cadence
from lrtui.spec.errors import SpecError, no_checkpoints
from lrtui.spec.events import Event, RunStatus
from lrtui.spec.experiment import ExperimentSpec
from lrtui.spec.settings import Settings


def checkpoints_of(log_dir: str | os.PathLike[str]) -> Path:
    return Path(log_dir) / checkpoint_files.FOLDER


def refuse_unfinished(log_dir: str) -> None:
    """A new comparison may not record where another one waits to be resumed: its
    checkpoints would be mixed with the new one's."""
    if checkpoint.listed(checkpoints_of(log_dir)):
        raise SpecError(
            f"--log-dir {log_dir}: holds checkpoints of a comparison that did not finish: "
            f"continue it with lrtui resume {log_dir}, or record to another directory"
        )


def policy_for(log_sink: LogDirSink, settings: Settings) -> CheckpointPolicy:
    """How a new comparison recorded to `log_sink` is checkpointed."""
    every = settings.checkpoint_every or Cadence(seconds=checkpoint.DEFAULT_EVERY_SECONDS)
    return CheckpointPolicy(
        str(checkpoints_of(log_sink.root).resolve()),
        every_steps=every.steps,
        every_seconds=every.seconds,
        files=tuple(p.name for p in log_sink.paths),
        meta=(("threshold", settings.loss_threshold), ("cwd", os.getcwd())),
    )


@dataclass(frozen=True)
class Resumable:
    """A checkpoint chosen to resume from, with where each going run's file is cut."""

    path: Path
    state: dict
    cuts: dict[int, int]  # run -> byte offset in its events file

    @property
    def policy(self) -> CheckpointPolicy:
        return self.state["policy"]

    @property
    def exp(self) -> ExperimentSpec:
        return self.state["exp"]


def choose(log_dir: Path, say: TextIO) -> Resumable:
    """The newest checkpoint that can be used; a line on `say` for each one passed over."""
    folder = checkpoints_of(log_dir)
    if not log_dir.is_dir():
        raise SpecError(f"resume {log_dir}: no such directory")
    found = False
    for path, state, why in checkpoint.readable(folder):
        found = True
        if state is None:
            say.write(f"lrtui: {why}; trying the one before\n")
            continue
        cuts = _cuts(log_dir, state)
        if isinstance(cuts, str):
            say.write(f"lrtui: checkpoint {path.name} is ahead of the logs ({cuts}); trying the one before\n")
            continue
        return Resumable(path, state, cuts)
    if not found:
        raise no_checkpoints(log_dir)
    raise SpecError(f"resume {log_dir}: no checkpoint there can be used")


def run_files(log_dir: Path, state: dict) -> list[str]:
    """Each run's events file: the policy's, named as training started, and for each run added
    while it trained (the app's `N`) the file whose header names that run."""
    files = list(state["policy"].files)
    added = state["exp"].runs[len(files) :] if "exp" in state else ()
    for run in added:
        files.append(_named(log_dir, run.label, files))
    return files


def _named(log_dir: Path, label: str, taken: list[str]) -> str:
    for path in event_files(log_dir):
        if path.name not in taken:
            with contextlib.suppress(OSError, ValueError), path.open(encoding="utf-8") as f:
                if decode_header(f.readline()).label == label:
                    return path.name
    return f"{label}.jsonl"  # no such file: `_cuts` says it is missing


def _cuts(log_dir: Path, state: dict) -> dict[int, int] | str:
    """Where each going run's file is cut, or why a file does not reach the checkpoint."""
    cuts: dict[int, int] = {}
    files = run_files(log_dir, state)
    for index, run in enumerate(state["runs"]):
        if RunStatus(run["status"]).finished:
            continue
        path = log_dir / files[index]
        place = run["place"]
        if not path.is_file():
            return f"{files[index]} is missing"
        at = continued.cut_point(path, place["gen"], place["step"])
        if at is None:
            return f"{files[index]} does not reach step {place['step']}"
        cuts[index] = at
    return cuts


def reopen(
    log_dir: Path, chosen: Resumable, cadence: Cadence | None
) -> tuple[Ready, LogDirSink, list[Event]]:
    """Cut the logs back, load the task again, and the sink writing on; the logs' history."""
    policy, exp = chosen.policy, chosen.exp
    meta = dict(policy.meta)
    task = Path(str(meta.get("cwd", ""))) / exp.task
    if exp.task.endswith(".py") and not Path(exp.task).is_absolute() and task.is_file():
        exp = replace(exp, task=str(task))  # resumed from another directory
    ready = prepare(exp, len(exp.runs))
    files = run_files(log_dir, chosen.state)
    for index, offset in chosen.cuts.items():
        continued.cut(log_dir / files[index], offset)
    paths = [log_dir / name for name in files]
    history = [e for i, p in enumerate(paths) for e in continued.history(p, i)]
    if cadence is not None:
        policy = replace(policy, every_steps=cadence.steps, every_seconds=cadence.seconds)
    folder = str(checkpoints_of(log_dir).resolve())
    policy = replace(policy, directory=folder, resume_from=str(chosen.path), files=tuple(files))
    return replace(ready, checkpoints=policy), LogDirSink.continued(log_dir, paths, history), history


def resume(log_dir: str, cadence: Cadence | None = None, *, as_json: bool = False, summary: bool = True,
           for_app: bool = False) -> int:  # fmt: skip
    """`lrtui resume DIR --headless`: every unfinished run of DIR's comparison, on from its
    checkpoint, open to `lrtui attach DIR`. (Live, in a terminal, it trains so in a process
    of its own, that terminal attached: `modes.attach.in_background`, `for_app`.)"""
    root = Path(log_dir)
    if answering(root / SOCKET):  # two trainers must never write one comparison's files
        raise SpecError(f"resume {log_dir}: it is still training: attach with lrtui attach {log_dir}")
    chosen = choose(root, sys.stderr)
    threshold = dict(chosen.policy.meta).get("threshold")
    ready, sink, history = reopen(root, chosen, cadence)
    step = max(r["place"]["step"] for r in chosen.state["runs"])
    sys.stderr.write(f"lrtui: resuming {log_dir} from {chosen.path.name} (step {step})\n")
    try:
        return _headless(ready, sink, history, threshold, as_json, summary, for_app)
    finally:
        sink.close()


def _headless(ready: Ready, sink: LogDirSink, history: list[Event], threshold: object, as_json: bool,
              summary: bool, for_app: bool) -> int:  # fmt: skip
    """The table and the leaderboard, the history first: it goes through the trainer's own
    sink as its first batch (the log sink knows that batch and leaves it out). `for_app`: the
    trainer as a live app's (planned curves; lingering while an app is attached)."""
    from lrtui.engine.resumable import make_trainer
    from lrtui.modes.attach import listening
    from lrtui.modes.headless import run_headless
    from lrtui.modes.live import app_label

    def trainer(exp: ExperimentSpec, sink_: object, **options: object) -> object:
        sink_(history)  # type: ignore[operator]
        return make_trainer(
            exp,
            sink_,
            checkpoints=ready.checkpoints,
            plans=for_app,
            linger=for_app,
            **options,  # type: ignore[arg-type]
        )

    label = app_label(ready) if for_app else None
    log, make = listening(sink, trainer, ready.exp, threshold, label, for_app)  # type: ignore[arg-type]
    try:
        return run_headless(
            ready.exp, sys.stdout, extra_sink=log, summary=summary, threshold=threshold,  # type: ignore[arg-type]
            make_trainer=make, workload=ready.workload, as_json=as_json, progress=sys.stderr,  # type: ignore[arg-type]
        )  # fmt: skip
    finally:
        if log is not None:
            log.close()
