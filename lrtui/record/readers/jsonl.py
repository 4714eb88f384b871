"""lrtui's own events files (`*.jsonl`, JSON Lines), as a log source: each file is a run.

Only the folder's own files are runs, not its subfolders': a `--log-dir` holds one experiment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lrtui.record.format import event_files
from lrtui.record.readers.base import Counts, ReadOptions
from lrtui.record.readers.jsonl_rows import jsonl_rows
from lrtui.record.readers.jsonl_tail import JsonlTail


class JsonlReader:
    name = "jsonl"
    reads = "*.jsonl"

    def claims(self, file: Path) -> bool:
        return file.suffix == ".jsonl"

    def run_of(self, file: Path) -> Path:
        return file

    def runs(self, directory: Path) -> list[Path]:
        return event_files(directory)

    def tail(self, run: Path, index: int, options: ReadOptions) -> JsonlTail:
        return JsonlTail(run, run=index)

    def rows(self, run: Path, options: ReadOptions, counts: Counts) -> Iterator[str]:
        return jsonl_rows(run, options, counts)
