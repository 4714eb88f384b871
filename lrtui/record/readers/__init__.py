"""The log sources `lrtui watch` and `lrtui export` read, and how a path given to them becomes
runs: each reader in `READERS` is asked whether the path holds its files.

What lives here: the `LogReader` and `Tail` protocols and the options every reader receives
(`base`); lrtui's own JSON Lines files (`jsonl`: tailed by `jsonl_tail`, exported by
`jsonl_rows`); TensorBoard runs (`tensorboard`: event files framed by `tfevents`, tailed by
`tb_tail`, exported by `tb_rows`, their tags picked by `tags`).

A new source (W&B offline runs, MLflow) is a module here with a `LogReader` and its entry in
`READERS`; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lrtui.record.readers.base import Counts, LogReader, ReadOptions, Tail, csv_text, waiting
from lrtui.record.readers.jsonl import JsonlReader
from lrtui.record.readers.tensorboard import TensorBoardReader

__all__ = [
    "READERS",
    "Counts",
    "Log",
    "LogReader",
    "ReadOptions",
    "Tail",
    "csv_text",
    "found_under",
    "named",
    "one_run",
    "reads",
    "waiting",
]  # fmt: skip

# lrtui's own format first: it also reads a file named on the command line that no reader
# claims, as it always has (a log may be renamed), and its runs come first in the app
READERS: tuple[LogReader, ...] = (JsonlReader(), TensorBoardReader())


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


def found_under(directory: Path, readers: Sequence[LogReader] = READERS) -> list[Log]:
    """Every reader's runs under a folder: reader by reader, each in name order."""
    return [Log(reader, run) for reader in readers for run in reader.runs(directory)]
