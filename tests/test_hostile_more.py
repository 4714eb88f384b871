"""Hostile input, second round (issue 28): escapes through TensorBoard tags and file names, one
bad value hiding a folder, files too big or odd to read in proportion, recorders racing, tasks
that exit or never end. Each test failed before its fix."""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from torch.utils.tensorboard import SummaryWriter

from lrtui import RunRecorder
from lrtui.commands.main import main
from lrtui.record.readers.base import Lines, walk
from lrtui.record.watch import MAX_RUNS, WatchSource
from lrtui.record.writer import LogDirSink
from lrtui.spec.events import (
    CorruptLines,
    Notice,
    RunAdded,
    RunInfo,
    RunStatus,
    StatusEvent,
    StepBlock,
    StepEvent,
)
from lrtui.state.runs import ExperimentState

ROOT = Path(__file__).resolve().parent.parent
OSC = ("\x1b]52;c;cHduZWQ=\x07", "\x1b]2;PWNED\x07")  # set the clipboard; set the pane's title
HEADER = {"format": "lrtui-events", "version": 1}


def _watch(path: Path, polls: int = 200, **kw) -> tuple[WatchSource, list]:
    """Every event of reading `path` until no run has more to read (at most `polls` reads)."""
    got: list = []
    src = WatchSource(path, got.extend, **kw)
    for _ in range(polls):
        src.poll_once()
        if not any(getattr(t, "backlog", False) for t in src._tails.values()):
            return src, got
    raise AssertionError(f"still reading after {polls} polls")


def _steps(events: list) -> list[int]:
    out = []
    for e in events:
        if isinstance(e, StepBlock):
            out += [s.step for s in e.steps()]
        elif isinstance(e, StepEvent):
            out.append(e.step)
    return out


def _jsonl(path: Path, run: str, steps: int, header: dict | None = None) -> Path:
    lines = [{**HEADER, "run": run, **(header or {})}]
    lines += [
        {"step": s, "epoch": 1, "lr": [0.1], "loss": 1.0 / s, "time": 0.1 * s} for s in range(1, steps + 1)
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def _tb(directory: Path, steps: int, start: int = 0, epoch=lambda s: s / 10, loss="train/loss") -> None:
    with SummaryWriter(str(directory)) as w:
        for s in range(start, start + steps):
            w.add_scalar("train/learning_rate", 0.1, s)
            w.add_scalar(loss, 2.0 - s / 1000, s)
            w.add_scalar("train/epoch", epoch(s), s)


def _visible(text: str) -> bool:
    return not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text)


# ---- 1. nothing reaches the terminal --------------------------------------------------------


def test_tensorboard_tags_picked_as_lr_or_loss_are_cleaned(tmp_path):
    with SummaryWriter(str(tmp_path / "run")) as w:
        for s in range(3):
            w.add_scalar(f"lr{OSC[1]}", 0.1, s)
            w.add_scalar(f"loss{OSC[0]}", 1.0, s)
    _, got = _watch(tmp_path, lr_tag="lr*", loss_tag="loss*")
    details = [e.info.detail for e in got if isinstance(e, RunAdded)]
    assert details and all(_visible(d) for d in details)
    assert "\\x1b]52" in details[-1] and "\\x1b]2;" in details[-1]  # shown, as escapes


def test_a_run_named_by_its_file_has_its_name_cleaned(tmp_path):
    path = tmp_path / f"evil{OSC[1]}.jsonl"
    path.write_text('{"not": "a header"}\n{"step": 1, "epoch": 1, "lr": [0.1], "loss": 1.0, "time": 0.1}\n')
    _, got = _watch(tmp_path)
    added = [e.info for e in got if isinstance(e, RunAdded)]
    assert added and all(_visible(i.label) and _visible(i.detail) for i in added)
    assert "no header line" in added[-1].detail


# ---- 2. one bad value costs one value -----------------------------------------------------


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 2.0**63, -(2.0**64)])
def test_one_bad_epoch_in_tensorboard_costs_that_value_only(tmp_path, bad, capsys):
    _tb(tmp_path / "tb", 10, epoch=lambda s: bad if s == 5 else s / 10)
    _jsonl(tmp_path / "healthy.jsonl", "healthy", 4)
    _, got = _watch(tmp_path)
    assert not [e for e in got if isinstance(e, Notice) and "failed" in e.message]
    by_run = {r: sorted(_steps([e for e in got if getattr(e, "run", None) == r])) for r in (0, 1)}
    assert by_run == {0: [1, 2, 3, 4], 1: list(range(10))}  # both runs, every step
    epochs = [s.epoch for e in got if isinstance(e, StepBlock) and e.run == 1 for s in e.steps()]
    assert epochs[5] == epochs[4]  # the bad value's step keeps the epoch it was in
    assert main(["export", str(tmp_path), "--csv", str(tmp_path / "out.csv")]) == 0
    rows = (tmp_path / "out.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 + 10


def test_a_step_logged_without_a_loss_is_no_divergence(tmp_path):
    rec = RunRecorder(tmp_path, "lr-only")
    rec.log(1, lr=0.1)  # the LR before the first loss is known, say
    rec.log(2, lr=0.1, loss=0.5)
    rec.log(3, lr=0.1, loss=0.4)
    rec.finish("done")
    _, got = _watch(rec.path)
    statuses = [e.status for e in got if isinstance(e, StatusEvent)]
    assert RunStatus.DIVERGED not in statuses and statuses[-1] is RunStatus.DONE
    assert _steps(got) == [1, 2, 3]


def test_a_diverged_loss_still_marks_the_run_diverged(tmp_path):
    rec = RunRecorder(tmp_path, "nan")
    rec.log(1, lr=0.1, loss=0.5)
    rec.log(2, lr=0.1, loss=math.nan)
    rec.close()
    _, got = _watch(rec.path)
    assert [e.status for e in got if isinstance(e, StatusEvent)][-1] is RunStatus.DIVERGED


def test_a_header_of_a_newer_version_says_so_and_shows_no_steps(tmp_path):
    path = _jsonl(tmp_path / "future.jsonl", "future", 5, {"version": 999})
    _, got = _watch(path)
    added = [e.info for e in got if isinstance(e, RunAdded)]
    assert "version 999 is newer" in added[-1].detail and "no header line" not in added[-1].detail
    assert _steps(got) == []
    assert [e.status for e in got if isinstance(e, StatusEvent)][-1] is RunStatus.ERROR


def test_export_of_a_newer_version_exports_no_steps_and_counts_the_file(tmp_path):
    """As `watch` shows none of its lines, `export` writes none of them: in a newer format a
    line may mean something else."""
    import io

    from lrtui.record.export import export_csv

    path = _jsonl(tmp_path / "future.jsonl", "future", 5, {"version": 999})
    out = io.StringIO()
    result = export_csv([path], out)
    assert (result.rows, result.corrupt) == (0, 1)
    assert out.getvalue().count("\n") == 1  # the header row only


# ---- 3. big and odd files stay bounded ------------------------------------------------------


def test_a_tensorboard_record_longer_than_the_read_chunk_is_read(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        for s in range(6):
            w.add_scalar("train/learning_rate", 0.1, s)
            w.add_scalar("train/loss", 1.0 - s / 10, s)
            if s == 2:
                w.add_scalar("x" * (5 << 20), 1.0, s)  # a 5 MB tag: one record past the 4 MiB chunk
    _, got = _watch(tmp_path, polls=20)  # before: the same chunk re-read for ever at step 2
    assert sorted(_steps(got)) == list(range(6))


def test_steps_going_back_cost_work_in_proportion_to_the_records(tmp_path):
    _tb(tmp_path, 2000)
    with SummaryWriter(str(tmp_path)) as w:  # then 300 records, all at the last step
        for _ in range(300):
            w.add_scalar("train/loss", 0.5, 1999)
    _, got = _watch(tmp_path)
    points = len(_steps(got))
    assert points < 3 * (2000 + 300)  # before: every record replayed the history, 600,000 points
    state = ExperimentState([], lambda: 0.0)
    state.apply(got)
    assert state.runs[0].step == 1999 and len(state.runs[0].loss_series) == 2000


def test_lines_without_a_newline_are_kept_only_up_to_their_bound():
    lines = Lines(max_line=4 << 20)
    for _ in range(100):  # 100 MB with no newline
        assert lines.feed(b"x" * (1 << 20)) == []
    assert lines.rest() == b"" and lines.dropped == 1
    assert lines.feed(b"xx\n{}\n{") == [b"{}"]  # the long line is passed over to its newline
    assert lines.rest() == b"{"


def test_a_log_ending_in_a_line_that_never_ends_is_read_in_bounded_memory(tmp_path):
    path = _jsonl(tmp_path / "long.jsonl", "long", 3)
    with path.open("ab") as f:
        for _ in range(80):
            f.write(b"y" * (1 << 20))  # 80 MB and no newline: past the 64 MiB bound
    tracemalloc.start()
    try:
        _, got = _watch(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert _steps(got) == [1, 2, 3]
    assert peak < 100 << 20  # before: the line and a copy of it per chunk, over 160 MB
    assert sum(e.count for e in got if isinstance(e, CorruptLines)) == 1
    assert main(["export", str(path), "--csv", str(tmp_path / "out.csv")]) == 0
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 4


def test_a_run_tree_a_thousand_folders_deep_hides_nothing(tmp_path):
    _jsonl(tmp_path / "top.jsonl", "top", 2)
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        for _ in range(1000):  # a folder at a time: pathlib's mkdir(parents=True) recurses too
            os.mkdir("d")
            os.chdir("d")
        _tb(Path("."), 3)
    finally:
        os.chdir(cwd)
    try:
        _, got = _watch(tmp_path)
    finally:
        _remove_deep(tmp_path / "d")  # shutil.rmtree recurses too: pytest could not clean it up
    assert not [e for e in got if isinstance(e, Notice) and "failed" in e.message]
    labels = [e.info.label for e in got if isinstance(e, RunAdded)]
    assert "top" in labels and any(label.startswith("d/d/d") for label in labels)


def _remove_deep(top: Path) -> None:
    """A deep chain of folders removed from the bottom up, a folder at a time."""
    folders = [Path(folder) for folder, _, _ in walk(top)]
    for folder in reversed(folders):
        for entry in folder.iterdir():
            if not entry.is_dir():
                entry.unlink()
        folder.rmdir()


def test_runs_past_the_cap_are_counted_once(tmp_path):
    for k in range(MAX_RUNS + 5):
        (tmp_path / f"r{k:04d}.jsonl").write_text(json.dumps({**HEADER, "run": f"r{k}"}) + "\n")
    got: list = []
    src = WatchSource(tmp_path, got.extend)
    for _ in range(3):
        src.poll_once()
    said = [e.message for e in got if isinstance(e, Notice) and e.message.startswith("showing")]
    assert said and all(f"showing {MAX_RUNS} runs; 5 more" in m for m in said)  # before: 5, then 10, then 15


def test_poll_has_a_floor(tmp_path):
    class Counting(WatchSource):
        polls = 0

        def poll_once(self) -> None:
            Counting.polls += 1
            if Counting.polls >= 1000:
                self._stop.set()
            super().poll_once()

    src = Counting(tmp_path, lambda events: None, poll=1e-9)
    import threading

    thread = threading.Thread(target=src.run)
    thread.start()
    thread.join(0.5)
    src._stop.set()
    thread.join(5)
    assert Counting.polls <= 0.5 / 0.02 + 5  # before: a thousand polls in a few milliseconds


# ---- 4. a file replaced by a larger one -----------------------------------------------------


def test_a_tensorboard_file_replaced_by_a_larger_one_is_a_new_generation(tmp_path):
    run = tmp_path / "run"
    _tb(run, 10)
    file = next(run.iterdir())
    got: list = []
    src = WatchSource(tmp_path, got.extend)
    src.poll_once()
    other = tmp_path / "other"
    _tb(other, 40, start=100)
    os.replace(next(other.iterdir()), file)  # atomically, as a sync tool writes it
    other.rmdir()
    got.clear()
    for _ in range(5):
        src.poll_once()
    mine = [e for e in got if getattr(e, "run", None) == 0]
    assert any(isinstance(e, StatusEvent) and "replaced" in e.message for e in mine)
    assert sorted(_steps(mine)) == list(range(100, 140))  # the new file's, from its start


# ---- 6. the recorder under races ----------------------------------------------------------


def _open_many(log_dir: str, barrier, errors) -> None:
    barrier.wait()
    for _ in range(20):
        try:
            RunRecorder(log_dir, name="x").close()
            LogDirSink(log_dir, [RunInfo("x")]).close()
        except Exception as exc:
            errors.put(repr(exc))


def test_recorders_opened_at_once_by_four_processes_never_raise(tmp_path):
    ctx = multiprocessing.get_context("fork")
    barrier, errors = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_open_many, args=(str(tmp_path), barrier, errors)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []
    assert len(list(tmp_path.glob("x*.jsonl"))) == 4 * 20 * 2  # every one a file of its own


def test_log_takes_numpy_numbers_and_refuses_steps_that_are_not_whole(tmp_path):
    rec = RunRecorder(tmp_path, "np")
    rec.log(np.int64(1), epoch=np.int32(1), lr=np.float32(0.1), loss=np.array(0.5))
    rec.log(2, lr=[np.float64(0.1), np.array(0.2)], loss=np.float16(0.25))
    for step, error in [(2.5, TypeError), ("3", TypeError), (True, TypeError), (2**63, ValueError)]:
        with pytest.raises(error, match="step"):
            rec.log(step, lr=0.1, loss=0.5)
    rec.close()
    lines = [json.loads(x) for x in rec.path.read_text().splitlines()[1:]]
    assert [(x["step"], x["lr"], x["loss"]) for x in lines] == [
        (1, [pytest.approx(0.1)], 0.5),
        (2, [0.1, 0.2], 0.25),
    ]


# ---- 1 and 5. a task's own text, and tasks that exit or never end -------------------------

CNN_TASK = '''
"""A conv net with BatchNorm on a shuffling DataLoader, whose loss() {does} at its call {at}."""
import sys
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

_gen = torch.Generator().manual_seed(0)
_x = torch.randn(256, 3, 8, 8, generator=_gen)
TRAIN = TensorDataset(_x, (_x[:, 0].mean(dim=(1, 2)) > 0).long())
CALLS = [0]


def model():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2),
    )


def batches(epoch):
    {batches}


def loss(model, batch):
    CALLS[0] += 1
    if CALLS[0] == {at}:
        {does}
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)
'''
LOADER = "return DataLoader(TRAIN, batch_size=16, shuffle=True)"
ENDLESS = "while True:  # a stream with no end, as some data pipelines are\n        yield TRAIN[:16]"


def _task(tmp_path: Path, does: str = "pass", at: int = 0, batches: str = LOADER) -> Path:
    path = tmp_path / "task.py"
    path.write_text(CNN_TASK.format(does=does, at=at, batches=batches))
    return path


def _lrtui(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lrtui", *argv], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def _log_lines(log_dir: Path) -> list[dict]:
    (path,) = log_dir.glob("*.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()[1:]]


@pytest.mark.parametrize("does", ["sys.exit(3)", "raise KeyboardInterrupt"])
def test_a_task_that_exits_keeps_its_steps_ends_its_log_and_fails(tmp_path, does):
    task, logs = _task(tmp_path, does, at=30), tmp_path / "logs"
    done = _lrtui(
        "--headless",
        "--task",
        str(task),
        "--epochs",
        "3",
        "-s",
        "StepLR(step_size=1)",
        "--log-dir",
        str(logs),
    )
    assert done.returncode == 1, done.stderr  # before: 3 (exit) or 130 (interrupt), or 0
    lines = _log_lines(logs)
    steps = [x["step"] for x in lines if "step" in x and "event" not in x]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) >= 25  # all trained before the exit
    assert lines[-1]["event"] == "status" and lines[-1]["status"] == "error"  # before: no final status
    assert ("SystemExit: 3" if "exit" in does else "KeyboardInterrupt") in lines[-1]["message"]


def test_a_tasks_error_text_is_shown_as_escapes(tmp_path):
    task, logs = _task(tmp_path, f"raise ValueError({OSC[1]!r})", at=5), tmp_path / "logs"
    done = _lrtui(
        "--headless",
        "--task",
        str(task),
        "--epochs",
        "1",
        "-s",
        "StepLR(step_size=1)",
        "--log-dir",
        str(logs),
    )
    assert done.returncode == 1
    assert (
        "\x1b" not in done.stdout + done.stderr
        and "Error: training step failed: ValueError: \\x1b]2;" in done.stdout
    )
    assert "\x1b" not in _log_lines(logs)[-1]["message"]  # what `watch` and the live panel show


def test_batches_that_never_end_are_read_only_batches_deep(tmp_path):
    task = _task(tmp_path, batches=ENDLESS)
    done = _lrtui(
        "--headless", "--task", str(task), "--epochs", "2", "--batches", "12", "-s", "StepLR(step_size=1)"
    )
    assert done.returncode == 0, done.stderr  # before: memory grew without bound, for ever
    assert "Epoch 2" in done.stdout
    unbounded = _lrtui("--headless", "--task", str(task), "--epochs", "1", "-s", "StepLR(step_size=1)")
    assert unbounded.returncode == 2
    assert unbounded.stderr.strip().splitlines()[-1].startswith("lrtui: error: ")
    assert "--batches N" in unbounded.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_headless_with_a_stuck_task_ends_it_in_time_with_logs_stopped(tmp_path, sig):
    stuck, logs = tmp_path / "stuck", tmp_path / "logs"
    does = f"open({str(stuck)!r}, 'w').close()\n        while True:\n            time.sleep(1)"
    task = _task(tmp_path, does, at=20)
    task.write_text("import time\n" + task.read_text())
    argv = [
        "--headless",
        "--task",
        str(task),
        "--epochs",
        "3",
        "-s",
        "StepLR(step_size=1)",
        "--log-dir",
        str(logs),
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "lrtui", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 90
        while not stuck.exists():  # the task is in its own endless code now
            assert time.monotonic() < deadline and proc.poll() is None, (
                proc.stderr.read() if proc.poll() else ""
            )
            time.sleep(0.05)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)  # the live app's deadline: a few seconds, not for ever
    finally:
        proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err
    assert _log_lines(logs)[-1]["status"] == "stopped"


# ---- 8. the app ends when its terminal does -------------------------------------------------

GUARDED = """
import os, sys, threading
from lrtui.modes.guard import TerminalWatch, run_guarded

class Source:
    done = threading.Event()
    def send(self, command):
        print("stop asked", flush=True)
        self.done.set()

class StuckApp:
    # an app whose event loop is blocked for good (Textual's writer queue full, its writer
    # thread dead on EIO): it never returns, and never runs a SIGHUP handler
    hung_up = threading.Event()
    source = Source()
    def run(self):
        threading.Event().wait()
    def stop_source(self):
        self.source.send(None)

slave = int(sys.argv[1])
print("running", flush=True)
run_guarded(StuckApp(), close=lambda: print("logs closed", flush=True), terminal=TerminalWatch((slave,)))
"""


# The pseudo-terminal is opened, handed over and closed by a driver process of its own: a process
# forked by anything else in pytest's process (a DataLoader's workers) while it held the
# terminal's descriptors would keep the terminal open, and no hang-up would come.
DRIVER = """
import os, subprocess, sys
master, slave = os.openpty()
proc = subprocess.Popen([sys.executable, sys.argv[1], str(slave)], stdout=subprocess.PIPE, text=True,
                        pass_fds=(slave,))
os.close(slave)
try:
    assert proc.stdout.readline().strip() == "running"
    os.close(master)  # the terminal goes: POLLHUP on its descriptors, and no SIGHUP sent
    out, _ = proc.communicate(timeout=30)  # before: never (the guard waited for a SIGHUP)
finally:
    proc.kill()
print(f"exit {proc.returncode}")
print(out, end="")
"""


def test_a_stuck_app_whose_terminal_hangs_up_without_sighup_still_exits(tmp_path):
    (tmp_path / "guarded.py").write_text(GUARDED)
    (tmp_path / "driver.py").write_text(DRIVER)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "driver.py"), str(tmp_path / "guarded.py")],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:3] == ["exit 0", "stop asked", "logs closed"]  # stopped, logs ended, exit


# ---- 7. small truths ------------------------------------------------------------------------


def test_plan_never_says_a_long_onecycle_follows_the_loss(capsys):
    code = main(["plan", "-s", "OneCycleLR(max_lr=0.1)@batch", "-s", "ReduceLROnPlateau", "--epochs", "2001"])
    out, err = capsys.readouterr()
    assert code == 0
    rows = {
        line.split()[0]: line
        for line in out.splitlines()
        if line.split()[:1] in (["OneCycleLR"], ["ReduceLROnPlateau"])
    }
    assert "follows the loss" not in rows["OneCycleLR"] and "over 2,000,000 steps" in rows["OneCycleLR"]
    assert "follows the loss" in rows["ReduceLROnPlateau"]
    assert "too long to plan" in err and "follows the loss" in err
