"""Hugging Face Trainer runs, as a log source: an `output_dir` whose `checkpoint-<N>/` folders
(or the folder itself, after `trainer.save_state()`) hold `trainer_state.json`.

The Trainer rewrites the whole file at each save, in a new checkpoint folder (and deletes old
ones under `save_total_limit`), so the run's newest file is read whole when it changes and the
`log_history` entries past those shown are new. A history that no longer starts as the one
shown (a run resumed from an earlier checkpoint) is read again. Names are given the prefixes
HF's own TensorBoard callback gives them (`loss` → `train/loss`, `eval_loss` → `eval/loss`),
so the same tags (`tags`) pick the LR, the loss and the epoch, and the run's closing summary
(`train_runtime`, the mean `train_loss`) is not taken for a step.

A run is finished where its state says so (`finished`): its `global_step` reached `max_steps`,
the Trainer had been told to stop when it saved (`should_training_stop`, as early stopping
does), or the history ends with the closing summary (only in a state saved after training, by
`save_state()`). A run that stopped otherwise (killed, crashed) stays running: nothing says so.

With `report_to="tensorboard"` the Trainer also writes TensorBoard files, under
`<output_dir>/runs/<date_host>/`; they are the same run, shown once, as this reader's
(`shadows`): the state holds the same LR and loss (HF's TensorBoard callback writes the
`log_history` entries as they are logged), and besides them the run's length (`max_steps`),
its setup and its end, which the event files do not hold. Between two saves the event files
are ahead; at the defaults (`logging_steps` = `save_steps` = 500) they are not.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

from lrtui.record.readers.base import walk
from lrtui.record.readers.metric_reader import FolderSource, MetricReader
from lrtui.record.readers.metric_tail import Chunk, Meta, Point, config_pairs, number, run_label

FILE = "trainer_state.json"
CHECKPOINT = re.compile(r"checkpoint-(\d+)$")
SETUP_KEYS = ("max_steps", "num_train_epochs", "train_batch_size", "logging_steps", "save_steps")


def run_folder(file: Path) -> Path:
    """The run a `trainer_state.json` is part of: the folder above its checkpoint folder."""
    return file.parent.parent if CHECKPOINT.search(file.parent.name) else file.parent


def newest_state(folder: Path) -> Path | None:
    """The run's newest `trainer_state.json`: the highest checkpoint's, or the folder's own
    where that was written later (`save_state()` at the end)."""
    best: tuple[int, int, Path] | None = None
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return None
    for entry in entries:
        found = CHECKPOINT.search(entry.name)
        candidate = Path(entry.path) / FILE if found and entry.is_dir() else None
        if entry.name == FILE:
            candidate = Path(entry.path)
        try:
            mtime = candidate.stat().st_mtime_ns if candidate else None
        except OSError:
            mtime = None
        if candidate and mtime is not None:
            key = (mtime, int(found.group(1)) if found else -1, candidate)
            best = max(best, key) if best else key
    return best[2] if best else None


def finished(state: dict[str, object]) -> str:
    """How the state says training ended ("finished: step 30 of 30"), or "" while it goes on."""
    step, total, history = state.get("global_step"), state.get("max_steps"), state.get("log_history")
    step = step if isinstance(step, int) and not isinstance(step, bool) else None
    total = total if isinstance(total, int) and not isinstance(total, bool) and total > 0 else None
    at = f"step {step:,}" + (f" of {total:,}" if total else "") if step is not None else "the end"
    summary = history[-1] if isinstance(history, list) and history else None
    if isinstance(summary, dict) and "train_runtime" in summary:
        runtime = number(summary.get("train_runtime"))
        return f"finished: {at}" + (f" in {runtime:,.1f} s" if runtime is not None else "")
    if step is not None and total is not None and step >= total:
        return f"finished: {at}"
    callbacks = state.get("stateful_callbacks")
    control = callbacks.get("TrainerControl") if isinstance(callbacks, dict) else None
    controls = control if isinstance(control, list) else [control]
    if any(
        isinstance(c, dict)
        and isinstance(c.get("args"), dict)
        and c["args"].get("should_training_stop") is True
        for c in controls
    ):
        return f"finished: stopped at {at}"
    return ""


def _name(key: str) -> str:
    if key.startswith("eval_"):
        return "eval/" + key[5:]
    return key if key.startswith(("train/", "eval/", "test/")) else "train/" + key


def _point(entry: object) -> Point | None:
    """One `log_history` entry; None for the closing summary, or an entry without a step."""
    if not isinstance(entry, dict) or "train_runtime" in entry:
        return None
    step = entry.get("step")
    if isinstance(step, bool) or not isinstance(step, int):
        return None
    values: dict[str, float] = {}
    for key, value in entry.items():
        n = number(value)
        if key != "step" and n is not None:
            values[_name(str(key))] = n
    return step, values, math.nan


class HfStateSource(FolderSource):
    """One Trainer `output_dir`, read from its newest `trainer_state.json`."""

    def restart(self) -> None:
        self._seen: tuple[str, int, int] | None = None
        self._shown: list[object] = []  # the history entries shown, to notice a history rewritten
        self._told = False

    def read(self) -> Chunk:
        file = newest_state(self.path)
        if file is None:
            return Chunk(missing=True)
        stat = file.stat()
        seen = (str(file), stat.st_size, stat.st_mtime_ns)
        if seen == self._seen:
            return Chunk()
        self._seen = seen
        try:
            state = json.loads(file.read_bytes())
        except (ValueError, UnicodeDecodeError):
            return Chunk(corrupt=1)  # torn by a write in progress, or not JSON: read again when it changes
        history = state.get("log_history") if isinstance(state, dict) else None
        if not isinstance(history, list):
            return Chunk(corrupt=1)
        chunk = Chunk()
        if not self._told:
            self._told = True
            total = state.get("max_steps")
            setup = {k: state[k] for k in SETUP_KEYS if k in state}
            chunk.meta = Meta(
                run_label(self.path, self._root),
                "trainer_state.json",
                config_pairs(setup),
                total if isinstance(total, int) and total > 0 else None,
            )
        if history[: len(self._shown)] != self._shown:
            chunk.restarted = f"{FILE} has another history: re-reading"
            self._shown = []
        new = history[len(self._shown) :]
        self._shown = history
        points = [_point(e) for e in new]
        chunk.points = [p for p in points if p is not None]
        chunk.corrupt = sum(1 for e in new if not isinstance(e, dict))
        chunk.finished = finished(state)
        return chunk


class HfStateReader(MetricReader):
    name = "hf"
    kind = "hf trainer"
    reads = f"HF {FILE}"
    shadows = (("tensorboard", "runs"),)  # `report_to="tensorboard"`'s files: the same run

    def claims(self, file: Path) -> bool:
        return file.name == FILE

    def run_of(self, file: Path) -> Path:
        return run_folder(file)

    def runs(self, directory: Path) -> list[Path]:
        found = {run_folder(Path(folder) / FILE) for folder, _, files in walk(directory) if FILE in files}
        return sorted(found)

    def source(self, run: Path, root: Path | None) -> HfStateSource:
        return HfStateSource(run, root)
