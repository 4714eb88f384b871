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
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from lrtui.record.bulk import STEP_PREFIX, csv_rows
from lrtui.record.format import decode, decode_header, event_files, step_fields
from lrtui.record.tb_export import TbOptions, tb_rows
from lrtui.record.tb_tail import TB_PREFIX
from lrtui.record.watch import tb_runs
from lrtui.spec.events import StatusEvent, StepEvent

COLUMNS = ["run", "step", "epoch", "lr", "loss", "time"]
CHUNK_BYTES = 4 << 20  # read and converted a chunk at a time: memory stays flat on any log


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
    restarted): after the last status line that raised the generation. Only status lines are
    read (found with `bytes.find`, a chunk at a time)."""
    start, gen, base = 0, 0, 0
    with file.open("rb") as f:
        tail = b""
        while chunk := f.read(CHUNK_BYTES):
            data, at = tail + chunk, 0
            while (hit := data.find(b'"status"', at)) >= 0:
                begin, end = data.rfind(b"\n", 0, hit) + 1, data.find(b"\n", hit)
                if end < 0:
                    break  # the rest of the line is in the next chunk
                raw, at = data[begin : end + 1], end + 1
                if b'"gen"' in raw:
                    with contextlib.suppress(ValueError, UnicodeDecodeError):
                        event = decode(raw.decode("utf-8"), 0, 0)
                        if isinstance(event, StatusEvent) and event.gen > gen:
                            gen, start = event.gen, base + end + 1
            cut = max(at, data.rfind(b"\n") + 1)
            tail, base = data[cut:], base + cut
    return start


def _csv_field(text: str) -> str:
    """A field as the csv module quotes it (rows of steps are written as text, for speed)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([text])
    return out.getvalue()


def _rows(file: Path, result: Exported) -> Iterator[str]:
    """Each step of an lrtui events file as a CSV line, read a chunk at a time."""
    with file.open("rb") as f:
        first = f.readline().decode("utf-8", errors="replace")
        try:
            label = _csv_field(decode_header(first).label)
        except ValueError:
            result.corrupt += 1
            label = _csv_field(file.stem)
        start = _last_generation_start(file)
        if start:
            f.seek(start)
        tail = b""
        while chunk := f.read(CHUNK_BYTES):
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()  # no newline yet
            yield from _chunk_rows(lines, label, result)
        if tail.strip():
            result.corrupt += 1  # a last line still being written


def _chunk_rows(lines: list[bytes], label: str, result: Exported) -> Iterator[str]:
    """The rows of a chunk's lines: its step lines in bulk where they are all as lrtui writes
    them (other lines are events, which give no rows, or corrupt), else line by line."""
    steps = [raw for raw in lines if raw.startswith(STEP_PREFIX)]
    if len(steps) < len(lines):
        others = [raw for raw in lines if not raw.startswith(STEP_PREFIX) and raw.strip()]
        if any(_is_step(raw, result) for raw in others):  # a step in another shape: keep the order
            yield from filter(None, (_line_row(raw, label, result) for raw in lines))
            return
    rows = csv_rows(steps, label.encode("utf-8"))
    if rows is None:
        yield from filter(None, (_line_row(raw, label, result) for raw in steps))
        return
    result.rows += len(steps)
    yield rows.decode("utf-8")


def _is_step(raw: bytes, result: Exported) -> bool:
    """Whether a line that does not look like a step line is one; corrupt lines counted."""
    try:
        return isinstance(decode(raw.decode("utf-8", errors="replace"), 0, 0), StepEvent)
    except ValueError:
        result.corrupt += 1
        return False


def _line_row(raw: bytes, label: str, result: Exported) -> str | None:
    """One line's CSV row, judged alone (None: not a step; corrupt lines counted)."""
    step = step_fields(raw) if raw.startswith(STEP_PREFIX) else None  # the common case, fast
    if step is None:
        if not raw.strip():
            return None
        try:
            event = decode(raw.decode("utf-8", errors="replace"), 0, 0)
        except ValueError:
            result.corrupt += 1
            return None
        if not isinstance(event, StepEvent):
            return None
        step = (event.step, event.epoch, event.lrs, event.loss, event.time)
    n, epoch, lrs, loss, t = step
    result.rows += 1
    return f"{label},{n},{epoch},{';'.join(map(repr, lrs))},{loss!r},{t!r}\n"


def export_csv(inputs: list[Path], out: TextIO, options: TbOptions | None = None) -> Exported:
    """Write the rows of `inputs` to `out`; TensorBoard runs add a column per `--tag`."""
    options = options or TbOptions()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, *options.extra])
    result = Exported(files=len(inputs))
    pad = "," * len(options.extra)
    for file in inputs:
        if file.is_dir():
            writer.writerows(tb_rows(file, options, result))
            continue
        chunk: list[str] = []
        for line in _rows(file, result):
            chunk.append(line.replace("\n", pad + "\n") if pad else line)  # a line may hold many rows
            if len(chunk) >= 10_000:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))
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
