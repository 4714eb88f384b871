"""MLflow's SQLite store (`mlflow.db`, MLflow 3's default), read with Python's `sqlite3` in
read-only mode: the `runs`, `tags`, `params` and `metrics` tables as MLflow's schema defines
them. A run's new points are the `metrics` rows past the last row read (by `rowid`, the order
they were inserted in), a chunk at a time; a database file replaced (another inode) is read
again. A locked database is read at the next poll.
"""

from __future__ import annotations

import math
import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

from lrtui.record.readers.metric_tail import Chunk, Meta, Point, config_pairs
from lrtui.spec.errors import SpecError
from lrtui.spec.text import clean

DB = "mlflow.db"
ROWS_A_READ = 200_000


def connect(db: Path) -> sqlite3.Connection:
    """A read-only connection: lrtui never writes to the user's database."""
    return sqlite3.connect(f"file:{quote(str(db.resolve()))}?mode=ro", uri=True, timeout=0.5)


def db_runs(db: Path) -> list[Path]:
    """The database's live runs, as paths `mlflow.db/<run id>` (none if it cannot be read)."""
    try:
        with closing(connect(db)) as conn:
            rows = conn.execute("SELECT run_uuid FROM runs WHERE lifecycle_stage = 'active'").fetchall()
    except sqlite3.Error:
        return []
    return [db / str(r[0]) for r in rows if str(r[0]).isalnum()]


def group_points(found: list[tuple[int, str, float, float]]) -> list[Point]:
    """Points logged one metric at a time, as one point per step in step order (MLflow keeps a
    metric per row: the LR and the loss of a step are two rows)."""
    by_step: dict[int, tuple[dict[str, float], float]] = {}
    for step, key, value, wall in sorted(found, key=lambda f: f[0]):
        values, _ = by_step.setdefault(step, ({}, wall))
        values[key] = value
    return [(step, values, wall) for step, (values, wall) in by_step.items()]


class MlflowSqlSource:
    """One run in `mlflow.db` (or, for the database itself, its newest run)."""

    def __init__(self, run: Path) -> None:
        self.path = run
        self._db = run if run.name == DB else run.parent
        self._run_id = "" if run.name == DB else run.name
        self.restart()

    def restart(self) -> None:
        self._rowid = 0
        self._inode: int | None = None
        self._told = False

    def read(self) -> Chunk:
        try:
            inode = self._db.stat().st_ino
        except FileNotFoundError:
            return Chunk(missing=True)
        chunk = Chunk()
        if self._inode is not None and inode != self._inode:
            self.restart()
            chunk.restarted = f"{DB} was replaced: re-reading"
        self._inode = inode
        try:
            with closing(connect(self._db)) as conn:
                self._read(conn, chunk)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return chunk  # a writer holds it: the next poll reads it
            raise SpecError(f"{DB}: not an MLflow database ({exc})") from None
        except sqlite3.DatabaseError as exc:
            raise SpecError(f"{DB}: not an MLflow database ({exc})") from None
        return chunk

    def _read(self, conn: sqlite3.Connection, chunk: Chunk) -> None:
        if not self._run_id:
            newest = conn.execute("SELECT run_uuid FROM runs ORDER BY start_time DESC LIMIT 1").fetchone()
            if newest is None:
                chunk.missing = True
                return
            self._run_id = str(newest[0])
        if not self._told:
            self._told = True
            chunk.meta = self._meta(conn)
        rows = conn.execute(
            "SELECT rowid, key, value, timestamp, step, is_nan FROM metrics"
            " WHERE run_uuid = ? AND rowid > ? ORDER BY rowid LIMIT ?",
            (self._run_id, self._rowid, ROWS_A_READ),
        ).fetchall()
        found = []
        for rowid, key, value, timestamp, step, is_nan in rows:
            try:
                found.append(
                    (int(step), str(key), math.nan if is_nan else float(value), float(timestamp) / 1000)
                )
            except (TypeError, ValueError):
                chunk.corrupt += 1
            self._rowid = rowid
        chunk.points = group_points(found)
        chunk.more = len(rows) == ROWS_A_READ

    def _meta(self, conn: sqlite3.Connection) -> Meta:
        run = (self._run_id,)
        found = conn.execute(
            "SELECT r.name, e.name FROM runs r LEFT JOIN experiments e ON r.experiment_id = e.experiment_id"
            " WHERE r.run_uuid = ?",
            run,
        ).fetchone()
        name, experiment = found or (None, None)
        tag = conn.execute(
            "SELECT value FROM tags WHERE run_uuid = ? AND key = 'mlflow.runName'", run
        ).fetchone()
        params = conn.execute("SELECT key, value FROM params WHERE run_uuid = ? ORDER BY key", run).fetchall()
        label = (tag and tag[0]) or name or self._run_id
        setup = {str(k): v for k, v in params}
        return Meta(clean(str(label), 120), clean(str(experiment or ""), 80), config_pairs(setup))
