"""`lrtui export PATH --csv OUT`: every recorded step as a CSV row."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TextIO

from lrtui.record.format import decode, decode_header, event_files
from lrtui.spec.events import StepEvent

COLUMNS = ["run", "step", "epoch", "lr", "loss", "time"]


def _files(path: Path) -> list[Path]:
    return event_files(path) if path.is_dir() else [path]


def export_csv(path: Path, out: TextIO) -> tuple[int, int]:
    """Write the rows; return (rows written, corrupt lines skipped)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = corrupt = 0
    for file in _files(path):
        with file.open(encoding="utf-8", errors="replace") as f:
            lines = iter(f)
            first = next(lines, "")
            try:
                label = decode_header(first).label
            except ValueError:
                corrupt += 1
                label = file.stem
            for line in lines:
                if not line.strip():
                    continue
                if not line.endswith("\n"):
                    corrupt += 1  # a last line still being written
                    continue
                try:
                    event = decode(line, 0, 0)
                except ValueError:
                    corrupt += 1
                    continue
                if isinstance(event, StepEvent):
                    lr = event.lrs[0] if event.lrs else ""
                    writer.writerow([label, event.step, event.epoch, lr, event.loss, event.time])
                    rows += 1
    return rows, corrupt
