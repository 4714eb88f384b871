"""Ray Tune experiments, as a log source: each trial folder holding `result.json` is a run
(`~/ray_results/<experiment>/<trial>/`), its config (`params.json`) shown as the run's setup,
so a schedule sweep is watched and ranked live wherever its trials ran (Tune syncs every
trial's folder to the experiment's storage path).

`result.json` is JSON Lines, one line per `tune.report`, appended as the trial runs: it is read
from where the last read stopped, a last line still being written waits, and a file that
shrank or was replaced is read again. A result's step is its `training_iteration`; its
wall-clock time `time_total_s`; its numbers, but Tune's own bookkeeping (and a reported
`step`), are the metrics.
Tune also writes TensorBoard files into the trial folder: the trial is shown once, as Tune's
(`shadows` in `readers`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from lrtui.record.readers.base import walk
from lrtui.record.readers.metric_reader import FolderSource, MetricReader
from lrtui.record.readers.metric_tail import Chunk, Meta, Point, config_pairs, number, run_label

FILE = "result.json"
PARAMS = "params.json"
READ_CHUNK = 4 << 20
BOOKKEEPING = frozenset(
    (
        "timestamp", "time_this_iter_s", "time_total_s", "time_since_restore", "training_iteration",
        "iterations_since_restore", "pid", "done", "trial_id", "date", "hostname", "node_ip",
        "checkpoint_dir_name", "should_checkpoint", "experiment_tag", "warmup_time", "step",
    )
)  # fmt: skip


def _point(line: bytes) -> tuple[Point | None, dict[str, object] | None]:
    """One result line as a point, and its config; (None, None) if it is not a result."""
    try:
        result = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(result, dict):
        return None, None
    step = result.get("training_iteration")
    if isinstance(step, bool) or not isinstance(step, int):
        return None, None
    values = {}
    for key, value in result.items():
        n = number(value)
        if n is not None and key not in BOOKKEEPING:
            values[str(key)] = n
    wall = number(result.get("time_total_s"))
    config = result.get("config")
    return (step, values, math.nan if wall is None else wall), config if isinstance(config, dict) else None


class RayTrialSource(FolderSource):
    """One trial folder, its `result.json` read as it grows."""

    def restart(self) -> None:
        self._offset = 0
        self._inode: int | None = None
        self._partial = b""
        self._told = False

    def _meta(self, config: dict[str, object] | None) -> Meta:
        try:
            params = json.loads((self.path / PARAMS).read_bytes())
        except (OSError, ValueError, UnicodeDecodeError):
            params = None
        setup = params if isinstance(params, dict) else config or {}
        pairs = config_pairs(setup)
        brief = " ".join(f"{k}={v}" for k, v in pairs[:6])
        return Meta(run_label(self.path, self._root), brief, pairs)

    def read(self) -> Chunk:
        file = self.path / FILE
        try:
            stat = file.stat()
        except FileNotFoundError:
            return Chunk(missing=True)
        chunk = Chunk()
        if (self._inode is not None and stat.st_ino != self._inode) or stat.st_size < self._offset:
            self.restart()
            chunk.restarted = f"{FILE} was replaced: re-reading"
        self._inode = stat.st_ino
        if stat.st_size == self._offset:
            return chunk
        with file.open("rb") as f:
            f.seek(self._offset)
            data = f.read(READ_CHUNK)
        self._offset += len(data)
        chunk.more = self._offset < stat.st_size
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        config = None
        for line in lines:
            if not line.strip():
                continue
            point, found = _point(line)
            if point is None:
                chunk.corrupt += 1
                continue
            chunk.points.append(point)
            config = config or found
        if not self._told and (chunk.points or not chunk.more):
            self._told = True
            chunk.meta = self._meta(config)
        return chunk


class RayTuneReader(MetricReader):
    name = "ray"
    kind = "ray tune"
    reads = f"Ray Tune {FILE}"
    shadows = (("tensorboard", "."),)  # Tune's TensorBoard files in a trial folder: the same trial

    def claims(self, file: Path) -> bool:
        return file.name == FILE and (file.parent / PARAMS).exists()

    def run_of(self, file: Path) -> Path:
        return file.parent

    def runs(self, directory: Path) -> list[Path]:
        return sorted(
            Path(folder) for folder, _, files in walk(directory) if FILE in files and PARAMS in files
        )

    def source(self, run: Path, root: Path | None) -> RayTrialSource:
        return RayTrialSource(run, root)
