"""MLflow runs, as a log source: one panel per run, named by its `mlflow.runName` tag, its
params as its setup.

MLflow 3 writes to a SQLite file, `mlflow.db`, by default (`sqlite:///mlflow.db` in the working
directory); the file store (`mlruns/<experiment>/<run>/metrics/<key>`, one `timestamp value
step` line per point) is still chosen with a `file:` tracking URI. Both are read: the database
through Python's `sqlite3`, read-only (`mlflow_sql`: MLflow's client would import seconds of
modules and may migrate the user's database), the file store's metric files as they grow. A
run in the database is named by a path that does not exist, `mlflow.db/<run id>`; `mlflow.db`
named alone is its newest run.
"""

from __future__ import annotations

from pathlib import Path

from lrtui.record.readers.base import walk
from lrtui.record.readers.metric_reader import MetricReader
from lrtui.record.readers.metric_tail import Chunk, Meta, MetricSource
from lrtui.record.readers.mlflow_sql import DB, MlflowSqlSource, db_runs, group_points
from lrtui.spec.text import clean

READ_CHUNK = 4 << 20


def _small_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[:4000].strip()
    except OSError:
        return ""


def _meta(run: Path) -> Meta:
    name = _small_file(run / "tags" / "mlflow.runName") or run.name
    params = run / "params"
    pairs: list[tuple[str, str]] = []
    if params.is_dir():
        for file in sorted(params.iterdir())[:60]:
            pairs.append((clean(file.name, 80), clean(_small_file(file), 120)))
    experiment = ""
    for line in _small_file(run.parent / "meta.yaml").splitlines():
        if line.startswith("name:"):
            experiment = clean(line[5:].strip(), 80)
    return Meta(clean(name, 120), experiment, tuple(pairs))


class MlflowFileSource:
    """One file-store run: each metric file read from where the last read stopped."""

    def __init__(self, run: Path) -> None:
        self.path = run
        self.restart()

    def restart(self) -> None:
        self._files: dict[Path, tuple[int, int, bytes]] = {}  # inode, offset, a last line still written
        self._told = False

    def read(self) -> Chunk:
        metrics = self.path / "metrics"
        if not metrics.is_dir():
            return Chunk(missing=True)
        chunk = Chunk()
        found: list[tuple[int, str, float, float]] = []
        for folder, _, files in walk(metrics):
            for name in files:
                file = Path(folder) / name
                key = file.relative_to(metrics).as_posix()
                self._read_file(file, key, found, chunk)
        if not self._told:
            self._told = True
            chunk.meta = _meta(self.path)
        chunk.points = group_points(found)
        return chunk

    def _read_file(
        self, file: Path, key: str, found: list[tuple[int, str, float, float]], chunk: Chunk
    ) -> None:
        stat = file.stat()
        inode, offset, partial = self._files.get(file, (stat.st_ino, 0, b""))
        if inode != stat.st_ino or stat.st_size < offset:  # a metric file rewritten
            chunk.restarted = "a metric file was replaced: re-reading"
            self.restart()
            self._told = True
            found.clear()  # the points are from the start: other files are read again from 0
            inode, offset, partial = stat.st_ino, 0, b""
        if stat.st_size == offset:
            return
        with file.open("rb") as f:
            f.seek(offset)
            data = f.read(READ_CHUNK)
        chunk.more = chunk.more or offset + len(data) < stat.st_size
        lines = (partial + data).split(b"\n")
        self._files[file] = (inode, offset + len(data), lines.pop())
        for line in lines:
            parts = line.split()
            try:
                wall, value = float(parts[0]) / 1000, float(parts[1])
                step = int(parts[2]) if len(parts) > 2 else 0
            except (ValueError, IndexError):
                chunk.corrupt += bool(line.strip())
                continue
            found.append((step, key, value, wall))


def _file_store_run(folder: str, dirs: list[str], files: list[str]) -> bool:
    if "meta.yaml" not in files or "metrics" not in dirs:
        return False
    return "lifecycle_stage: deleted" not in _small_file(Path(folder) / "meta.yaml")


class MlflowReader(MetricReader):
    name = "mlflow"
    kind = "mlflow"
    reads = f"MLflow {DB} and mlruns/"

    def claims(self, file: Path) -> bool:
        return file.name == DB or (file.name == "meta.yaml" and (file.parent / "metrics").is_dir())

    def run_of(self, file: Path) -> Path:
        return file if file.name == DB else file.parent

    def runs(self, directory: Path) -> list[Path]:
        found: list[Path] = []
        for folder, dirs, files in walk(directory):
            if DB in files:
                found += db_runs(Path(folder) / DB)
            if _file_store_run(folder, dirs, files):
                found.append(Path(folder))
                dirs.clear()  # a run's artifacts are not runs
        return sorted(found)

    def source(self, run: Path, root: Path | None) -> MetricSource:
        """The database's run or the file store's (a run's name is its own, not its path)."""
        if run.name == DB or run.parent.name == DB:
            return MlflowSqlSource(run)
        return MlflowFileSource(run)
