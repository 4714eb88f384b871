"""Log sources plug in through one protocol: a reader defined here, in a format of its own, is
read by `watch` and `export` once it is in the readers tuple, and a folder no reader claims
is said to hold nothing, not taken for any reader's."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lrtui.commands.main import main
from lrtui.record.export import ExportError, export_csv, input_files
from lrtui.record.readers import READERS, Counts, ReadOptions, csv_text, reads
from lrtui.record.recorder import RunRecorder
from lrtui.record.watch import WatchSource, nothing_here
from lrtui.spec.events import Event, RunAdded, RunInfo, RunStatus, StatusEvent, StepEvent


@dataclass
class ToyTail:
    """A toy format: `step lr loss` lines in `*.toy` files."""

    path: Path
    run: int
    gen: int = 0
    paused: bool = False
    announced: bool = False
    error: str = ""
    backlog: bool = False
    lines_read: int = 0

    def read(self, events: list[Event]) -> None:
        if not self.announced:
            self.announced = True
            events.append(RunAdded(self.run, RunInfo(self.path.stem, "toy"), self.gen))
            events.append(StatusEvent(self.run, self.gen, RunStatus.RUNNING, ""))
        lines = self.path.read_text().splitlines()
        for line in lines[self.lines_read :]:
            step, lr, loss = line.split()
            events.append(StepEvent(self.run, self.gen, int(step), 1, (float(lr),), float(loss), 0.0))
        self.lines_read = len(lines)

    def reset(self, events: list[Event], message: str) -> None:
        self.gen, self.lines_read = self.gen + 1, 0


class ToyReader:
    name = "toy"
    reads = "toy's *.toy"

    def claims(self, file: Path) -> bool:
        return file.suffix == ".toy"

    def run_of(self, file: Path) -> Path:
        return file

    def runs(self, directory: Path) -> list[Path]:
        return sorted(directory.glob("*.toy"))

    def tail(self, run: Path, index: int, options: ReadOptions) -> ToyTail:
        return ToyTail(run, index)

    def rows(self, run: Path, options: ReadOptions, counts: Counts) -> Iterator[str]:
        for line in run.read_text().splitlines():
            step, lr, loss = line.split()
            counts.rows += 1
            yield from csv_text([[run.stem, step, 1, lr, loss, 0.0, *[""] * len(options.extra)]])


WITH_TOY = (*READERS, ToyReader())


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "sgd.toy").write_text("1 0.1 2.5\n2 0.1 2.25\n")
    rec = RunRecorder(tmp_path, "adam")
    rec.log(1, epoch=1, lr=0.001, loss=3.0)
    rec.close()
    return tmp_path


def test_a_new_reader_is_watched_beside_the_others(tmp_path):
    got: list[Event] = []
    WatchSource(_folder(tmp_path), got.extend, readers=WITH_TOY).poll_once()
    labels = {e.run: e.info.label for e in got if isinstance(e, RunAdded)}
    assert sorted(labels.values()) == ["adam", "sgd"]
    toy = next(run for run, label in labels.items() if label == "sgd")
    steps = [(e.step, e.loss) for e in got if isinstance(e, StepEvent) and e.run == toy]
    assert steps == [(1, 2.5), (2, 2.25)]


def test_a_new_reader_is_watched_as_a_single_file(tmp_path):
    got: list[Event] = []
    WatchSource(_folder(tmp_path) / "sgd.toy", got.extend, readers=WITH_TOY).poll_once()
    assert [e.info.label for e in got if isinstance(e, RunAdded)] == ["sgd"]


def test_a_new_reader_is_exported_beside_the_others(tmp_path):
    out = io.StringIO()
    result = export_csv(input_files(_folder(tmp_path), WITH_TOY), out, ReadOptions(extra=("eval/loss",)))
    rows = out.getvalue().splitlines()
    assert rows[0] == "run,step,epoch,lr,loss,time,eval/loss"
    assert "sgd,1,1,0.1,2.5,0.0," in rows and "sgd,2,1,0.1,2.25,0.0," in rows
    assert any(r.startswith("adam,1,1,0.001,3.0,") for r in rows)
    assert (result.rows, result.files) == (3, 2)


def test_what_is_read_is_said_from_the_readers(tmp_path):
    assert reads().startswith("*.jsonl, TensorBoard's events.out.tfevents.*, W&B run-*.wandb, ")
    assert reads().endswith(", or Ray Tune result.json")
    assert reads(WITH_TOY) == reads().replace(", or ", ", ") + ", or toy's *.toy"
    (tmp_path / "notes.txt").write_text("")
    assert f"no events files here ({reads(WITH_TOY)})" in nothing_here(tmp_path, readers=WITH_TOY)
    with pytest.raises(ExportError, match=r"\*\.toy"):
        input_files(tmp_path, WITH_TOY)


def test_a_folder_no_reader_claims_is_not_taken_for_tensorboard(tmp_path, capsys):
    """A folder of checkpoints: nothing lrtui reads, said on one line naming its files."""
    (tmp_path / "version_0").mkdir()
    (tmp_path / "version_0" / "model.ckpt").write_text("weights")
    (tmp_path / "hparams.yaml").write_text("lr: 0.1\n")
    with pytest.raises(SystemExit) as exit_:
        main(["export", str(tmp_path), "--csv", "-"])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"lrtui: error: {tmp_path}: no events files here ({reads()}); "
        "not read: hparams.yaml, version_0/model.ckpt\n"
    )


def test_runs_of_a_folder_made_after_watching_began_are_named_under_it(tmp_path):
    """`lrtui watch runs` before the trainer makes `runs/`: its TensorBoard run is `bert`, not
    `runs/bert` (the options are fixed when watching starts, the folder appears later)."""
    from torch.utils.tensorboard import SummaryWriter

    got: list[Event] = []
    src = WatchSource(tmp_path / "runs", got.extend)
    src.poll_once()
    with SummaryWriter(str(tmp_path / "runs" / "bert")) as w:
        w.add_scalar("train/loss", 1.0, 1)
    src.poll_once()
    assert [e.info.label for e in got if isinstance(e, RunAdded)] == ["bert"]
