"""Lightning's `CSVLogger` runs, as a log source: each folder holding `metrics.csv` is a run (with
`LearningRateMonitor`, its `lr-<Optimizer>` columns are the LR), named by its folder's path
(`lightning_logs/version_0`), its setup read from `hparams.yaml` beside it.

Lightning writes a row per `log_metrics` call (the LR on one row, the loss on another, at the
same step) and rewrites the whole file, with a wider header, when a new metric appears; so the
file is read whole when it changes, and only the rows past those already shown are new. A file
with fewer rows than were shown was replaced: the run is read again.

A finished run is not told from one still training: nothing Lightning leaves says so. At the
end `CSVLogger.finalize("success")` only saves the same two files again; `hparams.yaml` holds
the module's hyperparameters, not the Trainer's `max_epochs`/`max_steps`; a checkpoint's name
(`checkpoints/epoch=1-step=40.ckpt`) carries where it was, not where the run would end. So the
run stays "running" rather than be called done on a guess.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from lrtui.record.readers.base import walk
from lrtui.record.readers.metric_reader import FolderSource, MetricReader
from lrtui.record.readers.metric_tail import Chunk, Meta, Point, run_label
from lrtui.spec.text import clean

FILE = "metrics.csv"
HPARAMS = "hparams.yaml"
ROW_KEYS = ("step",)  # Lightning's own columns, not metrics


def hparams(folder: Path) -> tuple[tuple[str, str], ...]:
    """`hparams.yaml`'s top-level `key: value` lines as text pairs (nested values are skipped:
    reading YAML properly would need a YAML library for a panel's setup line)."""
    try:
        text = (folder / HPARAMS).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    pairs = []
    for line in text.splitlines()[:200]:
        key, sep, value = line.partition(":")
        if sep and key and not key[0].isspace() and value.strip():
            pairs.append((clean(key.strip(), 80), clean(value.strip(), 120)))
    return tuple(pairs)


class LightningCsvSource(FolderSource):
    """One `metrics.csv`, read whole when it changes; rows past those shown are new."""

    def restart(self) -> None:
        self._seen: tuple[int, int, int] | None = None  # size, mtime, inode of the last read
        self._rows = 0
        self._told = False

    @property
    def _file(self) -> Path:
        return self.path / FILE

    def read(self) -> Chunk:
        try:
            stat = self._file.stat()
        except FileNotFoundError:
            return Chunk(missing=True)
        seen = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
        if seen == self._seen:
            return Chunk()
        self._seen = seen
        text = self._file.read_bytes().decode("utf-8", errors="replace")
        complete = text[: text.rfind("\n") + 1]  # a last row still being written waits
        rows = list(csv.reader(io.StringIO(complete)))
        chunk = Chunk()
        if not self._told:
            self._told = True
            folder = self.path
            chunk.meta = Meta(run_label(folder, self._root), "", hparams(folder))
        if len(rows) - 1 < self._rows:  # fewer rows than shown: a new file
            self._rows = 0
            chunk.restarted = f"{FILE} was replaced: re-reading"
        if not rows:
            return chunk
        header, body = rows[0], rows[1 + self._rows :]
        self._rows += len(body)
        chunk.points, chunk.corrupt = _points(header, body)
        return chunk


def _points(header: list[str], rows: list[list[str]]) -> tuple[list[Point], int]:
    """Rows as points; a row without a step, or with a field that is not a number, is corrupt
    (the row's other fields still count)."""
    points: list[Point] = []
    corrupt = 0
    at = header.index("step") if "step" in header else -1
    for row in rows:
        values: dict[str, float] = {}
        bad = len(row) != len(header)
        for name, field in zip(header, row, strict=False):
            if field == "" or name in ROW_KEYS:
                continue
            try:
                values[name] = float(field)
            except ValueError:
                bad = True
        try:
            step = int(float(row[at])) if at >= 0 else len(points)
        except (ValueError, IndexError, OverflowError):
            corrupt += 1
            continue
        corrupt += bad
        points.append((step, values, math.nan))
    return points, corrupt


class LightningCsvReader(MetricReader):
    name = "lightning"
    kind = "lightning csv"
    reads = f"Lightning {FILE}"

    def claims(self, file: Path) -> bool:
        return file.name == FILE

    def run_of(self, file: Path) -> Path:
        return file.parent

    def runs(self, directory: Path) -> list[Path]:
        return sorted(Path(folder) for folder, _, files in walk(directory) if FILE in files)

    def source(self, run: Path, root: Path | None) -> LightningCsvSource:
        return LightningCsvSource(run, root)
