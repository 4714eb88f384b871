"""The log sources `lrtui watch` and `lrtui export` read, and how a path given to them becomes
runs: each reader in `READERS` is asked whether the path holds its files.

What lives here: the `LogReader` and `Tail` protocols and the options every reader receives
(`base`); lrtui's own JSON Lines files (`jsonl`: tailed by `jsonl_tail`, exported by
`jsonl_rows`); TensorBoard runs (`tensorboard`: event files framed by `tfevents`, tailed by
`tb_tail`, exported by `tb_rows`, their tags picked by `tags`). Every tail hands its steps over
as blocks gathered by `steps`.

Other trackers' runs, each read into points that `metric_tail` turns into events and rows (the
LR and loss picked by the same `tags`; a bulk read's points as columns, `metric_columns`; the
tail and rows every such reader shares, `metric_reader`): W&B
offline runs (`wandb`, framed by `wandb_log`; a big read framed by `wandb_frames` and decoded by
`wandb_history` and `wandb_values`, with numpy),
MLflow's SQLite and file stores (`mlflow_store`, the database read by `mlflow_sql`), Lightning's
CSV files (`lightning_csv`), HF Trainer checkpoints (`hf_state`), Ray Tune trials (`ray_tune`).
What a folder holds, said by `watch` and `export`: which reader took how many runs, and the
files none reads (`inventory`).

A new source is a module here with a `LogReader` and its entry in `READERS`; nothing else
changes. A reader whose runs hold another reader's runs (Ray Tune writes TensorBoard files into
each trial folder, the HF Trainer into `<output_dir>/runs/`) names that reader in `shadows`,
with the folder under its run where they are (`("tensorboard", "runs")`): those are shown once,
as its run (`shadowed`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lrtui.record.readers.base import Counts, LogReader, ReadOptions, Tail, csv_text, waiting
from lrtui.record.readers.hf_state import HfStateReader
from lrtui.record.readers.jsonl import JsonlReader
from lrtui.record.readers.lightning_csv import LightningCsvReader
from lrtui.record.readers.mlflow_store import MlflowReader
from lrtui.record.readers.ray_tune import RayTuneReader
from lrtui.record.readers.tensorboard import TensorBoardReader
from lrtui.record.readers.wandb import WandbReader

__all__ = [
    "READERS",
    "Counts",
    "Log",
    "LogReader",
    "ReadOptions",
    "Tail",
    "csv_text",
    "every_run",
    "found_under",
    "named",
    "one_run",
    "reads",
    "shadowed",
    "waiting",
]  # fmt: skip

# lrtui's own format first: it also reads a file named on the command line that no reader
# claims, as it always has (a log may be renamed), and its runs come first in the app
READERS: tuple[LogReader, ...] = (
    JsonlReader(),
    TensorBoardReader(),
    WandbReader(),
    MlflowReader(),
    LightningCsvReader(),
    HfStateReader(),
    RayTuneReader(),
)


@dataclass(frozen=True)
class Log:
    """One run to read: its reader, and its file or folder."""

    reader: LogReader
    path: Path


def reads(readers: Sequence[LogReader] = READERS) -> str:
    """What the readers read, for messages: "*.jsonl, or TensorBoard's events.out.tfevents.*"."""
    names = [r.reads for r in readers]
    return ", or ".join(names) if len(names) <= 2 else f"{', '.join(names[:-1])}, or {names[-1]}"


def one_run(path: Path, readers: Sequence[LogReader] = READERS) -> bool:
    """Whether a path named on the command line is one run's file rather than a folder of runs:
    a file, or a name that is a run of some reader's (a file not written yet)."""
    return path.is_file() or any(r.claims(path) and r.run_of(path) == path for r in readers)


def named(path: Path, readers: Sequence[LogReader] = READERS) -> Log:
    """The run a file named on the command line stands for (TensorBoard's: its folder)."""
    for reader in readers:
        if reader.claims(path):
            return Log(reader, reader.run_of(path))
    return Log(readers[0], path)


def _runs(reader: LogReader, directory: Path) -> list[Path]:
    """A reader's runs; one whose search recursed too deep (`os.walk` before Python 3.12, in a
    tree 1,000 folders deep) finds none, and hides no other reader's (`base.walk` recurses not)."""
    try:
        return reader.runs(directory)
    except RecursionError:
        return []


def shadowed(logs: Sequence[Log]) -> dict[tuple[str, Path], Log]:
    """The runs another reader's run stands for, by reader name and path, each with that run: a
    run at or under the folder a reader's `shadows` names under its own run (its one
    `(reader name, folder)` pair per reader it shadows). Looked up folder by folder upwards, so
    a sweep of thousands of runs costs a set lookup per folder, not a pass per pair of runs."""
    covers: dict[tuple[str, str], Log] = {}  # by paths as text: a Path per folder costs 10x
    for log in logs:
        for name, under in getattr(log.reader, "shadows", ()):
            covers[name, os.path.normpath(os.path.join(log.path, under))] = log
    hidden: dict[tuple[str, Path], Log] = {}
    if not covers:
        return hidden
    for log in logs:
        folder, up = os.path.normpath(log.path), ""
        while folder != up:
            winner = covers.get((log.reader.name, folder))
            if winner is not None and winner is not log:
                hidden[log.reader.name, log.path] = winner
                break
            folder, up = os.path.dirname(folder), folder
    return hidden


def every_run(directory: Path, readers: Sequence[LogReader] = READERS) -> list[Log]:
    """Every reader's runs under a folder, shadowed ones too: reader by reader, in name order."""
    return [Log(reader, run) for reader in readers for run in _runs(reader, directory)]


def found_under(directory: Path, readers: Sequence[LogReader] = READERS) -> list[Log]:
    """Every reader's runs under a folder: reader by reader, each in name order; a run another
    reader's run `shadows` is that run's only."""
    logs = every_run(directory, readers)
    hidden = shadowed(logs)
    return [log for log in logs if (log.reader.name, log.path) not in hidden]
