"""MLflow runs under `lrtui watch` and `export`: its default SQLite store (`mlflow.db`) and the
file store (`mlruns/`), each written by `mlflow` itself in the test, read while runs log."""

from __future__ import annotations

import io
import shutil
import sqlite3
from pathlib import Path

import pytest

from lrtui.record.export import export_csv, input_files
from lrtui.record.readers import ReadOptions
from lrtui.record.watch import WatchSource
from lrtui.spec.events import CorruptLines, RunAdded, RunStatus, StatusEvent, StepBlock

mlflow = pytest.importorskip("mlflow")


class Collect(list):
    def __call__(self, batch):
        self.extend(batch)

    def steps(self, run: int) -> list[tuple[int, float, float]]:
        return [
            (s.step, s.lrs[0], s.loss)
            for e in self
            if isinstance(e, StepBlock) and e.run == run
            for s in e.steps()
        ]

    def labels(self) -> dict[int, str]:
        return {e.run: e.info.label for e in self if isinstance(e, RunAdded)}


def _log(steps: range, scale: float) -> None:
    for i in steps:
        mlflow.log_metrics({"lr": scale / i, "loss": 1.0 / i}, step=i)


def _two_runs_live(where: Path, uri: str) -> Collect:
    """Two runs logged through mlflow's own API at `uri`, watched as they log."""
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("schedules")
    got = Collect()
    src = WatchSource(where, got)
    with mlflow.start_run(run_name="step\x1b[31mlr"):
        mlflow.log_params({"scheduler": "StepLR", "gamma": 0.5})
        _log(range(1, 6), 0.1)
        src.poll_once()
        assert got.steps(0) == [(i, 0.1 / i, 1.0 / i) for i in range(1, 6)]  # live, before the run ends
        _log(range(6, 11), 0.1)
        src.poll_once()
        assert [s for s, _, _ in got.steps(0)] == list(range(1, 11))
    with mlflow.start_run(run_name="cosine"):
        mlflow.log_param("scheduler", "CosineAnnealingLR")
        _log(range(1, 11), 0.2)
    src.poll_once()
    assert got.labels() == {0: "step\\x1b[31mlr", 1: "cosine"}  # names from the runs' tags, cleaned
    assert got.steps(1) == [(i, 0.2 / i, 1.0 / i) for i in range(1, 11)]
    infos = [e.info for e in got if isinstance(e, RunAdded)]
    assert ("scheduler", "StepLR") in infos[0].config and ("gamma", "0.5") in infos[0].config
    return got


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("mlflow_db")
    _two_runs_live(where, f"sqlite:///{where / 'mlflow.db'}")
    return where


def test_mlflow_default_store_is_sqlite_and_its_runs_are_watched_live(sqlite_store):
    assert (sqlite_store / "mlflow.db").is_file()
    assert not (sqlite_store / "mlruns").exists() or not any((sqlite_store / "mlruns").rglob("metrics"))


@pytest.fixture
def file_store(monkeypatch):
    """MLflow 3 keeps its file store only on request (it is in maintenance mode)."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")


def test_the_file_store_is_watched_live_too(tmp_path, file_store):
    _two_runs_live(tmp_path, (tmp_path / "mlruns").as_uri())


def test_export_of_both_stores(sqlite_store, tmp_path, file_store):
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    mlflow.set_experiment("x")
    with mlflow.start_run(run_name="files"):
        _log(range(1, 4), 0.3)
    for folder, rows in ((sqlite_store, 20), (tmp_path, 3)):
        out = io.StringIO()
        logs = input_files(folder)
        assert {log.reader.name for log in logs} == {"mlflow"}
        result = export_csv(logs, out, ReadOptions(root=folder))
        assert result.rows == rows and result.corrupt == 0
        assert out.getvalue().splitlines()[0] == "run,step,epoch,lr,loss,time"
    assert f"files,3,1,{0.3 / 3!r},{1 / 3!r}," in out.getvalue()


def test_garbage_in_a_metric_file_is_skipped_and_counted(tmp_path, file_store):
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    mlflow.set_experiment("x")
    with mlflow.start_run(run_name="r") as run:
        _log(range(1, 4), 0.1)
    metric = next(tmp_path.rglob(f"{run.info.run_id}/metrics/loss"))
    got = Collect()
    src = WatchSource(tmp_path, got)
    src.poll_once()
    with metric.open("ab") as f:
        f.write(b"\x1b[2J not a point\n1796589570242 0.2 4\n1796589570242 0.1")  # the last line unfinished
    src.poll_once()
    assert sum(e.count for e in got if isinstance(e, CorruptLines)) == 1
    assert [s for s, _, _ in got.steps(0)] == [1, 2, 3, 4]
    with metric.open("ab") as f:
        f.write(b" 5\n")
    src.poll_once()
    assert [s for s, _, _ in got.steps(0)] == [1, 2, 3, 4, 5]


def test_export_says_what_it_read_and_never_writes_over_the_database(sqlite_store, tmp_path, capsys):
    from lrtui.commands.main import main

    db = sqlite_store / "mlflow.db"
    before = db.read_bytes()
    with pytest.raises(SystemExit) as exit_:
        main(["export", str(sqlite_store), "--csv", str(db)])  # it holds the runs exported
    assert exit_.value.code == 2 and db.read_bytes() == before
    assert "is one of the files being exported" in capsys.readouterr().err
    (sqlite_store / "notes.txt").write_text("no reader reads this")
    assert main(["export", str(sqlite_store), "--csv", str(tmp_path / "out.csv")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"lrtui: wrote 20 rows from 2 runs to {tmp_path / 'out.csv'}",
        f"lrtui: {sqlite_store}: 2 mlflow runs; not read: notes.txt",
    ]


def test_a_replaced_database_is_read_again(sqlite_store, tmp_path):
    db = tmp_path / "mlflow.db"
    shutil.copy(sqlite_store / "mlflow.db", db)
    got = Collect()
    src = WatchSource(tmp_path, got)
    src.poll_once()
    assert len(got.steps(0)) == 10
    shutil.copy(db, tmp_path / "new.db")
    (tmp_path / "new.db").replace(db)  # another file in its place
    src.poll_once()
    again = [e for e in got if isinstance(e, StepBlock) and e.run == 0 and e.gen == 1]
    assert any(isinstance(e, StatusEvent) and e.gen == 1 and "replaced" in e.message for e in got)
    assert [s.step for e in again for s in e.steps()] == list(range(1, 11))


@pytest.mark.parametrize("content", [b"SQLite format 3\x00" + b"\x00" * 100, b"\x1b[2J" * 50, None])
def test_a_database_that_is_not_mlflows_says_so_in_its_panel(tmp_path, content):
    db = tmp_path / "mlflow.db"
    if content is None:  # a real SQLite database, of something else
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE t (x)")
        conn.close()
    else:
        db.write_bytes(content)
    got = Collect()
    WatchSource(db, got).poll_once()
    errors = [e.message for e in got if isinstance(e, StatusEvent) and e.status is RunStatus.ERROR]
    assert errors and "not an MLflow database" in errors[0] and "\x1b" not in errors[0]
