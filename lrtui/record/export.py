"""`lrtui export PATH --csv OUT`: every recorded step as a CSV row.

PATH is one run's file or a folder; each reader (`readers.READERS`) is asked for its runs there,
and reads their rows (`run,step,epoch,lr,loss,time`, and a column per `--tag`). The output is
written to a temporary file beside it and renamed at the end, so a failed export never leaves
half a file, and an output that is one of the inputs is refused before anything is written.
"""

from __future__ import annotations

import contextlib
import csv
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TextIO

from lrtui.record.readers import (
    READERS,
    Log,
    LogReader,
    ReadOptions,
    every_run,
    found_under,
    named,
    reads,
    shadowed,
)
from lrtui.record.readers.inventory import inventory
from lrtui.record.readers.tags import not_logged

COLUMNS = ["run", "step", "epoch", "lr", "loss", "time"]
PIECES_A_WRITE = 10_000  # the readers' pieces of text joined for one write


class ExportError(Exception):
    """Why an export cannot start; nothing has been written."""


@dataclass
class Exported:
    rows: int = 0
    corrupt: int = 0
    files: int = 0
    tags: set[str] = field(default_factory=set)  # every scalar name the runs log
    written: bool = True  # whether the output holds this export (not where `keep` refused it)


def input_files(path: Path, readers: tuple[LogReader, ...] = READERS) -> list[Log]:
    """The runs at `path`: the one a file stands for, or every reader's under a folder. A folder
    holding none is an error, naming the files it holds that no reader reads: no reader is
    assumed."""
    if path.is_dir():
        logs = found_under(path, readers)
        if not logs:
            unread = inventory(path, []).not_read()
            raise ExportError(
                f"{path}: no events files here ({reads(readers)}){'; ' + unread if unread else ''}"
            )
        return logs
    if not path.exists():
        raise ExportError(f"{path}: no such file or directory")
    return [named(path, readers)]


def what_was_read(path: Path, inputs: Sequence[Log]) -> str:
    """Which reader took how many runs under a folder (and the runs of another reader's they
    hold), and the files none reads, for the command to say: "runs/: 2 tensorboard runs, 1 hf
    run (with 1 tensorboard run in it); not read: notes.txt"."""
    if not path.is_dir():
        return ""
    merged = [(winner.reader.name, name) for (name, _), winner in shadowed(every_run(path)).items()]
    held = inventory(path, [(log.reader.name, log.path) for log in inputs], merged=merged)
    unread = held.not_read()
    return f"{path}: {held.runs()}{'; ' + unread if unread else ''}"


def check_output(out: str, inputs: Sequence[Log]) -> None:
    """Refuse an output that is one of the inputs (it would be emptied before it is read),
    would become a file of one (a TensorBoard events file written into the run exported), or
    holds one (`mlflow.db`, whose runs are `mlflow.db/<run id>`)."""
    target = Path(out)
    resolved = target.resolve()
    for log in inputs:
        same = target.exists() and log.path.exists() and os.path.samefile(target, log.path)
        mine = log.reader.claims(resolved) and log.reader.run_of(resolved) == log.path.resolve()
        holds = not target.is_dir() and resolved in log.path.resolve().parents
        if same or mine or holds or resolved == log.path.resolve():
            raise ExportError(f"--csv {out} is one of the files being exported; choose another output")


def export_csv(inputs: Sequence[Log | Path], out: TextIO, options: ReadOptions | None = None) -> Exported:
    """Write the rows of `inputs` to `out`, a column per `--tag` after lrtui's own. A bare path
    is read as a file named on the command line."""
    options = options or ReadOptions()
    csv.writer(out, lineterminator="\n").writerow([*COLUMNS, *options.extra])
    result = Exported(files=len(inputs))
    for item in inputs:
        log = item if isinstance(item, Log) else named(item)
        chunk: list[str] = []
        for piece in log.reader.rows(log.path, options, result):
            chunk.append(piece)
            if len(chunk) >= PIECES_A_WRITE:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))
    return result


def export_to_file(
    inputs: Sequence[Log | Path],
    out: str,
    options: ReadOptions | None = None,
    keep: Callable[[Exported], bool] = lambda result: True,
) -> Exported:
    """Through a temporary file in the output's directory, renamed over `out` at the end, unless
    `keep` says the export is not what was asked for (an `--lr-tag` no run logs): then `out`,
    and whatever it held, is left as it was. An output that exists and is not a regular file
    (/dev/null, a pipe) is written directly: renaming over it would replace the device itself."""
    target = Path(out)
    if target.exists() and not target.is_file():
        with target.open("w", encoding="utf-8", newline="") as f:
            return export_csv(inputs, f, options)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with temp.open("w", encoding="utf-8", newline="") as f:
            result = export_csv(inputs, f, options)
        result.written = keep(result)
        if result.written:
            os.replace(temp, target)
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
    return result


def unlogged_tags(options: ReadOptions, result: Exported) -> tuple[str, bool]:
    """One line naming each tag asked for that no run exported logs, and a few that they do
    log ("" when every tag asked for is logged somewhere), and whether it is an error: an
    `--lr-tag` or `--loss-tag` that picks nothing leaves every row without what was asked
    for, a `--tag` only its own column (an error too when no row was written). `--tag` names
    a scalar exactly (its column), `--lr-tag` and `--loss-tag` are globs (`tags`): each is
    matched as the readers use it."""
    missing = [("--tag", t) for t in options.extra if t not in result.tags]
    for flag, glob in (("--lr-tag", options.lr_tag), ("--loss-tag", options.loss_tag)):
        if glob and not any(fnmatchcase(t, glob) for t in result.tags):
            missing.append((flag, glob))
    if not missing:
        return "", False
    fatal = not result.rows or any(flag != "--tag" for flag, _ in missing)
    return not_logged(missing, result.tags), fatal
