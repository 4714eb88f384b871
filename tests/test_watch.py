"""`lrtui watch`: tailing live files, and every way a live file can misbehave."""

import os
import subprocess
import sys
from pathlib import Path

from appkit import settle
from textual.geometry import Region

from lrtui import RunRecorder
from lrtui.record.watch import WatchSource, nothing_here
from lrtui.spec.events import CorruptLines, Notice, RunAdded, RunStatus, StatusEvent, StepBlock, StepEvent
from lrtui.ui.app import LrTuiApp

ROOT = Path(__file__).resolve().parent.parent


class Collect(list):
    def __call__(self, batch):
        self.extend(batch)

    def of(self, kind):
        """Events of `kind`; steps also from the columnar blocks the watcher reads runs of
        step lines into."""
        out = []
        for e in self:
            if kind is StepEvent and isinstance(e, StepBlock):
                out.extend(e.steps())
            elif isinstance(e, kind):
                out.append(e)
        return out


def _record(path: Path, name: str, steps: int, start: int = 1) -> Path:
    rec = RunRecorder(path, name)
    for step in range(start, start + steps):
        rec.log(step, epoch=1, lr=0.1, loss=1.0 / step)
    rec.close()
    return rec.path


def test_reads_a_directory_and_picks_up_new_files(tmp_path):
    got = Collect()
    src = WatchSource(tmp_path, got)
    src.poll_once()
    assert [type(e) for e in got] == [Notice] and "no events files here" in got[0].message
    _record(tmp_path, "a", 3)
    src.poll_once()
    assert [e.info.label for e in got.of(RunAdded)] == ["a"]
    assert got.of(Notice)[-1].message == ""  # the line goes once a file appears
    _record(tmp_path, "b", 2)
    src.poll_once()
    assert [(e.run, e.info.label) for e in got.of(RunAdded)] == [(0, "a"), (1, "b")]
    assert [(e.run, e.step) for e in got.of(StepEvent)] == [(0, 1), (0, 2), (0, 3), (1, 1), (1, 2)]


def test_a_file_that_does_not_exist_yet(tmp_path):
    got = Collect()
    path = tmp_path / "later.jsonl"
    src = WatchSource(path, got)
    src.poll_once()
    waiting = got.of(RunAdded)
    assert len(waiting) == 1 and "waiting" in waiting[0].info.detail
    src.poll_once()
    assert len(got.of(RunAdded)) == 1  # said once
    written = _record(tmp_path, "later", 2)
    assert written == path
    src.poll_once()
    assert got.of(RunAdded)[-1].info.label == "later"
    assert [e.step for e in got.of(StepEvent)] == [1, 2]


def test_a_missing_directory_waits_and_says_so(tmp_path):
    """It may be a run's --log-dir not made yet (README: watch first, then train), so it waits;
    but a mistyped path must not look like a run at 0 steps: the status bar says what it is."""
    got = Collect()
    src = WatchSource(tmp_path / "runs", got)
    src.poll_once()
    src.poll_once()
    (said,) = got  # once, not at every poll
    assert isinstance(said, Notice) and said.message.startswith(f"{tmp_path / 'runs'}: no such file")
    assert "*.jsonl" in said.message and "events.out.tfevents" in said.message
    _record(tmp_path / "runs", "x", 1)
    src.poll_once()
    assert len(got.of(StepEvent)) == 1 and got.of(Notice)[-1].message == ""


def test_a_folder_with_nothing_readable_says_what_it_reads(tmp_path):
    """A folder of checkpoints (model.ckpt, hparams.yaml): nothing lrtui reads."""
    from lrtui.record.readers import reads

    (tmp_path / "version_0").mkdir()
    (tmp_path / "version_0" / "model.ckpt").write_text("weights")
    (tmp_path / "version_0" / "hparams.yaml").write_text("lr: 0.1\n")
    assert nothing_here(tmp_path) == (
        f"{tmp_path}: no events files here ({reads()}); "
        "not read: version_0/hparams.yaml, version_0/model.ckpt; waiting for them"
    )


async def test_the_watch_screen_says_there_is_nothing_to_read(tmp_path):
    from lrtui.ui.app import WatchApp

    (tmp_path / "model.ckpt").write_text("weights")

    def factory(sink):
        src = WatchSource(tmp_path, sink)
        src.run = src.poll_once  # one read: deterministic
        return src

    app = WatchApp([], factory, source_label=f"watching {tmp_path}")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app._status()
        await pilot.pause()
        bar = app.query_one("#status")
        shown = [strip.text for strip in bar.render_lines(Region(0, 0, bar.size.width, bar.size.height))]
        assert "0 steps" in shown[0] and len(shown) == bar.size.height >= 2
        said = " ".join(shown[1:]).split()  # on lines of its own, wrapped where it is long
        assert said == nothing_here(tmp_path).split() and "model.ckpt;" in said


def test_a_half_written_last_line_waits_for_its_end(tmp_path):
    path = _record(tmp_path, "h", 1)
    got = Collect()
    src = WatchSource(path, got)
    src.poll_once()
    with path.open("a") as f:
        f.write('{"step": 2, "epoch": 1, "lr": [0.1], "lo')
    src.poll_once()
    assert [e.step for e in got.of(StepEvent)] == [1]
    with path.open("a") as f:
        f.write('ss": 0.5, "time": 0.1}\n')
    src.poll_once()
    assert [e.step for e in got.of(StepEvent)] == [1, 2]
    assert got.of(CorruptLines) == []


def test_corrupt_lines_are_skipped_and_counted(tmp_path):
    path = _record(tmp_path, "c", 2)
    with path.open("a") as f:
        f.write('garbage\n{"step": "x"}\n')
        f.write('{"step": 3, "epoch": 1, "lr": [0.1], "loss": 0.3, "time": 0.2}\n')
    got = Collect()
    WatchSource(path, got).poll_once()
    assert [e.step for e in got.of(StepEvent)] == [1, 2, 3]
    assert sum(e.count for e in got.of(CorruptLines)) == 2


def test_a_truncated_file_is_read_again_from_the_start(tmp_path):
    path = _record(tmp_path, "t", 5)
    got = Collect()
    src = WatchSource(path, got)
    src.poll_once()
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:3]))  # header + 2 steps: shorter than what was read
    src.poll_once()
    restarts = [e for e in got.of(StatusEvent) if e.gen == 1]
    assert restarts and "truncated" in restarts[0].message
    assert [e.step for e in got.of(StepEvent) if e.gen == 1] == [1, 2]


def test_a_replaced_file_is_read_again(tmp_path):
    path = _record(tmp_path, "r", 3)
    got = Collect()
    src = WatchSource(path, got)
    src.poll_once()
    replacement = _record(tmp_path / "new", "r", 4)
    os.replace(replacement, path)
    src.poll_once()
    assert any("replaced" in e.message for e in got.of(StatusEvent))
    assert [e.step for e in got.of(StepEvent) if e.gen == 1] == [1, 2, 3, 4]


def test_a_non_finite_loss_marks_the_run_diverged(tmp_path):
    rec = RunRecorder(tmp_path, "d")
    rec.log(1, lr=0.1, loss=1.0)
    rec.log(2, lr=0.1, loss=float("nan"))
    rec.log(3, lr=0.1, loss=float("nan"))
    rec.close()
    got = Collect()
    WatchSource(rec.path, got).poll_once()
    assert [e.step for e in got.of(StepEvent)] == [1]
    assert got.of(StatusEvent)[-1].status is RunStatus.DIVERGED


def test_pause_freezes_and_restart_rereads(tmp_path):
    path = _record(tmp_path, "p", 2)
    got = Collect()
    src = WatchSource(path, got)
    src.poll_once()
    src.toggle_pause(None)
    src.poll_once()
    assert got.of(StatusEvent)[-1].status is RunStatus.PAUSED
    with path.open("a") as f:
        f.write('{"step": 3, "epoch": 1, "lr": [0.1], "loss": 0.3, "time": 0.2}\n')
    src.poll_once()
    assert [e.step for e in got.of(StepEvent)] == [1, 2]  # frozen
    src.toggle_pause(None)
    src.poll_once()
    assert [e.step for e in got.of(StepEvent)] == [1, 2, 3]
    src.restart(0)
    src.poll_once()
    assert [e.step for e in got.of(StepEvent) if e.gen == 1] == [1, 2, 3]


async def test_the_example_script_under_the_watcher(tmp_path):
    """The example trains for real and records; the watch app shows its run to the end."""
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "train_with_recorder.py"),
            "--log-dir",
            str(tmp_path),
            "--epochs",
            "3",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "final accuracy" in done.stdout

    def factory(sink):
        src = WatchSource(tmp_path, sink)
        src.run = src.poll_once  # one read, then the worker ends: a deterministic test
        return src

    app = LrTuiApp([], factory, source_label="watching")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.pause()
        assert len(app.panels()) == 1
        run = app.state.runs[0]
        assert run.info.label == "spirals" and run.status is RunStatus.DONE
        assert run.step == run.info.total_steps == 3 * 63
        assert run.loss < 0.69  # it learned something
        await pilot.press("enter")
        assert app.screen.__class__.__name__ == "RunChartScreen"


async def test_the_viewer_speaks_of_freezing_and_re_reading(tmp_path):
    from lrtui.ui.app import WatchApp
    from lrtui.ui.screens.help import HelpScreen

    rec = RunRecorder(tmp_path, "a")  # still running: never closed
    for step in range(1, 31):
        rec.log(step, epoch=1, lr=0.1, loss=1.0 / step)
    rec.flush()

    def factory(sink):
        src = WatchSource(tmp_path, sink)
        src.run = src.poll_once  # one read, then commands only: deterministic
        return src

    app = WatchApp([], factory, source_label="watching")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.pause()
        labels = {b.action: b.description for b in app._bindings.key_to_bindings["space"]}
        assert labels["toggle_all"] == "Freeze all"
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Re-read run" in titles and "Restart run" not in titles
        panel = app.panels()[0]
        await pilot.press("space")
        await pilot.pause()
        assert "frozen" in panel.render().plain and panel.border_subtitle == "frozen"
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = app.screen.query_one("DataTable").get_column_at(1)
        assert "re-read the focused run's file from its start" in [str(r) for r in rows]
    trainer_app = LrTuiApp([], factory, source_label="x")
    assert {b.description for b in trainer_app._bindings.key_to_bindings["space"]} == {"Pause all"}
