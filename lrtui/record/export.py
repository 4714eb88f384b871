"""`lrtui export PATH --csv OUT`: every recorded step as a CSV row.

A run restarted in its file (a status line with a higher generation) exports only its last
generation, so no step appears twice. `lr` holds every param group's LR, separated by `;`
where there is more than one. The output is written to a temporary file beside it and renamed
at the end, so a failed export never leaves half a file, and an output that is one of the
inputs is refused before anything is written.
"""

from __future__ import annotations

import contextlib
import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from lrtui.record.format import decode, decode_header, event_files
from lrtui.record.tb_export import TbOptions, tb_rows
from lrtui.record.tb_tail import TB_PREFIX
from lrtui.record.watch import tb_runs
from lrtui.spec.events import StatusEvent, StepEvent

COLUMNS = ["run", "step", "epoch", "lr", "loss", "time"]


class ExportError(Exception):
    """Why an export cannot start; nothing has been written."""


@dataclass
class Exported:
    rows: int = 0
    corrupt: int = 0
    files: int = 0


def input_files(path: Path) -> list[Path]:
    """lrtui's events files, and TensorBoard run directories, under `path`."""
    if path.is_dir():
        files = event_files(path) + tb_runs(path)
        if not files:
            raise ExportError(
                f"{path}: no events files here (*.jsonl, or TensorBoard's events.out.tfevents.*)"
            )
        return files
    if not path.exists():
        raise ExportError(f"{path}: no such file or directory")
    return [path.parent] if path.name.startswith(TB_PREFIX) else [path]


def check_output(out: str, inputs: list[Path]) -> None:
    """Refuse an output that is one of the inputs (it would be emptied before it is read)."""
    target = Path(out)
    for file in inputs:
        same = target.exists() and os.path.samefile(target, file)
        inside = (
            file.is_dir()
            and target.resolve().name.startswith(TB_PREFIX)
            and target.resolve().parent == file.resolve()
        )
        if same or inside or target.resolve() == file.resolve():
            raise ExportError(f"--csv {out} is one of the files being exported; choose another output")


def _last_generation_start(file: Path) -> int:
    """The byte offset where the file's last generation of the run begins (0 if it never
    restarted): after the last status line that raised the generation."""
    start, gen, offset = 0, 0, 0
    with file.open("rb") as f:
        for raw in f:
            offset += len(raw)
            if b'"status"' in raw and b'"gen"' in raw:
                with contextlib.suppress(ValueError, UnicodeDecodeError):
                    event = decode(raw.decode("utf-8"), 0, 0)
                    if isinstance(event, StatusEvent) and event.gen > gen:
                        gen, start = event.gen, offset
    return start


def _rows(file: Path, result: Exported) -> Iterator[list[object]]:
    with file.open("rb") as f:
        first = f.readline().decode("utf-8", errors="replace")
        try:
            label = decode_header(first).label
        except ValueError:
            result.corrupt += 1
            label = file.stem
        start = _last_generation_start(file)
        if start:
            f.seek(start)
        for raw in f:
            line = raw.decode("utf-8", errors="replace")
            if not line.strip():
                continue
            if not line.endswith("\n"):
                result.corrupt += 1  # a last line still being written
                continue
            try:
                event = decode(line, 0, 0)
            except ValueError:
                result.corrupt += 1
                continue
            if isinstance(event, StepEvent):
                lr = ";".join(repr(v) for v in event.lrs)
                yield [label, event.step, event.epoch, lr, event.loss, event.time]
                result.rows += 1


def export_csv(inputs: list[Path], out: TextIO, options: TbOptions | None = None) -> Exported:
    """Write the rows of `inputs` to `out`; TensorBoard runs add a column per `--tag`."""
    options = options or TbOptions()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, *options.extra])
    result = Exported(files=len(inputs))
    for file in inputs:
        rows = tb_rows(file, options, result) if file.is_dir() else _rows(file, result)
        writer.writerows(rows if file.is_dir() else (r + [""] * len(options.extra) for r in rows))
    return result


def export_to_file(inputs: list[Path], out: str, options: TbOptions | None = None) -> Exported:
    """Through a temporary file in the output's directory, renamed over `out` at the end. An
    output that exists and is not a regular file (/dev/null, a pipe) is written directly:
    renaming over it would replace the device itself."""
    target = Path(out)
    if target.exists() and not target.is_file():
        with target.open("w", encoding="utf-8", newline="") as f:
            return export_csv(inputs, f, options)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with temp.open("w", encoding="utf-8", newline="") as f:
            result = export_csv(inputs, f, options)
        os.replace(temp, target)
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
    return result
