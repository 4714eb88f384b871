"""lrtui's own events files (JSON Lines) as CSV rows, for `lrtui export`.

A run restarted in its file (a status line with a higher generation) exports only its last
generation, so no step appears twice. `lr` holds every param group's LR, separated by `;`
where there is more than one. Step lines as lrtui writes them are converted a chunk at a time
in bulk (`bulk`), so memory stays flat and a 100 MB log takes seconds; lines in any other shape
are judged one by one, in order.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator
from pathlib import Path

from lrtui.record.bulk import STEP_PREFIX, csv_rows
from lrtui.record.format import decode, decode_header, step_fields
from lrtui.record.readers.base import MAX_LINE, Counts, Lines, ReadOptions
from lrtui.spec.events import StatusEvent, StepEvent

CHUNK_BYTES = 4 << 20  # read and converted a chunk at a time: memory stays flat on any log
SHORT_LINE_MAX = 1 << 20  # a longer line is no header or status line: passed over, not kept


def jsonl_rows(file: Path, options: ReadOptions, result: Counts) -> Iterator[str]:
    """The file's rows, with an empty field for each `--tag` (a TensorBoard scalar)."""
    pad = "," * len(options.extra)
    for piece in _rows(file, result):
        yield piece.replace("\n", pad + "\n") if pad else piece  # a piece may hold many rows


def _last_generation_start(file: Path) -> int:
    """The byte offset where the file's last generation of the run begins (0 if it never
    restarted): after the last status line that raised the generation. Only status lines are
    read (found with `bytes.find`, a chunk at a time); a line longer than any status line is
    passed over to its newline, so a line that never ends costs its length once."""
    start, gen, base = 0, 0, 0
    with file.open("rb") as f:
        tail, skip = b"", False
        while chunk := f.read(CHUNK_BYTES):
            data, at = tail + chunk, 0
            if skip:  # the rest of a line too long to be a status
                at = data.find(b"\n") + 1
                skip = at == 0
                if skip:
                    tail, base = b"", base + len(data)
                    continue
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
            if len(tail) > SHORT_LINE_MAX:
                tail, base, skip = b"", base + len(tail), True
    return start


def _csv_field(text: str) -> str:
    """A field as the csv module quotes it (rows of steps are written as text, for speed)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([text])
    return out.getvalue()


def _rows(file: Path, result: Counts) -> Iterator[str]:
    """Each step of an lrtui events file as a CSV line, read a chunk at a time."""
    with file.open("rb") as f:
        first = f.readline(SHORT_LINE_MAX).decode("utf-8", errors="replace")
        try:
            label = _csv_field(decode_header(first).label)
        except ValueError as e:
            result.corrupt += 1
            if "newer" in str(e):  # its lines may mean something else: none is exported, as none is shown
                return
            label = _csv_field(file.stem)
        start = _last_generation_start(file)
        if start:
            f.seek(start)
        lines = Lines(MAX_LINE)
        while chunk := f.read(CHUNK_BYTES):
            yield from _chunk_rows(lines.feed(chunk), label, result)  # the last piece kept: no newline yet
        result.corrupt += lines.dropped + bool(lines.rest().strip())  # a last line still being written


def _chunk_rows(lines: list[bytes], label: str, result: Counts) -> Iterator[str]:
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


def _is_step(raw: bytes, result: Counts) -> bool:
    """Whether a line that does not look like a step line is one; corrupt lines counted."""
    try:
        return isinstance(decode(raw.decode("utf-8", errors="replace"), 0, 0), StepEvent)
    except ValueError:
        result.corrupt += 1
        return False


def _line_row(raw: bytes, label: str, result: Counts) -> str | None:
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
    if n < 1:  # steps count from 1 (`lrtui.record.format`): a line below is corrupt
        result.corrupt += 1
        return None
    result.rows += 1
    return f"{label},{n},{epoch},{';'.join(map(repr, lrs))},{loss!r},{t!r}\n"
