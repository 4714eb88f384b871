"""Hostile logs, signals, full disks and misuse: nothing reaches the terminal, nothing is lost.

One section per kind of trouble; the next adversarial pass adds its cases here.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import torch
from appkit import replay_app, settle, stream
from rich.text import Text

from lrtui import RunRecorder
from lrtui.commands.main import main
from lrtui.modes.config import Settings, build_experiment, parse_scheduler_flag
from lrtui.record.format import decode, decode_header
from lrtui.record.watch import WatchSource
from lrtui.record.writer import LogDirSink
from lrtui.spec.describe import run_infos
from lrtui.spec.events import Notice, RunAdded, RunStatus, StatusEvent, StepEvent
from lrtui.ui.app import LrTuiApp

ROOT = Path(__file__).resolve().parent.parent
ESCAPES = "\x1b]0;PWNED\x07\x1b[2J\x1b[?1049l"
HEADER = {"format": "lrtui-events", "version": 1}


def _log(path: Path, run: str, lines: list[dict], header: dict | None = None) -> Path:
    head = {**HEADER, "run": run, **(header or {})}
    path.write_text("\n".join(json.dumps(x) for x in [head, *lines]) + "\n")
    return path


def _steps(n: int, first: int = 1, **extra) -> list[dict]:
    return [{"step": s, "epoch": 1, "lr": 0.1, "loss": 1.0 / s, **extra} for s in range(first, first + n)]


def _run(*argv: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lrtui", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        **kw,
    )


def _error(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    assert exit_info.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("lrtui: error: ")
    return line


async def _watch_app(path: Path) -> LrTuiApp:
    def source(sink):
        src = WatchSource(path, sink)
        src.run = src.poll_once  # one read, then the worker ends: a deterministic test
        return src

    app = LrTuiApp([], source, source_label="watching", clock=lambda: 0.0)
    app.animation_level = "none"
    return app


# ---- 1. nothing from a file reaches the terminal or Textual's markup ----------------------
def test_control_characters_in_a_log_are_shown_as_escapes(tmp_path):
    line = json.dumps({**HEADER, "run": ESCAPES, "detail": "a\rb", "config": {"k\x07": "v\x1b"}})
    info = decode_header(line)
    assert "\x1b" not in info.label and "\\x1b]0;PWNED\\x07" in info.label
    assert info.detail == "a\\x0db" and info.config == (("k\\x07", "v\\x1b"),)
    status = decode(json.dumps({"event": "status", "status": "error", "message": "\x9b31m"}), 0, 0)
    mark = decode(json.dumps({"event": "mark", "step": 1, "kind": "drop", "label": "\u202eevil"}), 0, 0)
    assert status.message == "\\x9b31m" and mark.label == "\\u202eevil"


async def test_names_from_files_are_never_markup(tmp_path):
    for i, name in enumerate(["[/x]", "[@click=app.screenshot('/tmp/pwn')]boom", ESCAPES]):
        _log(tmp_path / f"r{i}.jsonl", name, _steps(5))
    app = await _watch_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        titles = [Text.from_markup(str(p.border_title)).plain for p in app.panels()]  # as shown
        assert titles[0] == "1 [/x]" and titles[1] == "2 [@click=app.screenshot('/tmp/pwn')]boom"
        assert "\x1b" not in titles[2]
        for key in ("enter", "escape", "c", "escape", "b", "escape"):
            await pilot.press(key)
            await pilot.pause()
        assert app.failure is None and app.is_running


def test_headless_and_export_print_no_control_characters(tmp_path, capsys):
    config = tmp_path / "c.toml"
    name = "".join(f"\\u{ord(c):04x}" if ord(c) < 32 else c for c in ESCAPES)  # TOML's own escapes
    config.write_text(
        f'epochs = 1\nbatches = 5\n[[run]]\nscheduler = "StepLR(step_size=1)"\nname = "{name}"\n'
    )
    assert main(["--headless", "--config", str(config), "--no-summary"]) == 0
    assert "\x1b" not in capsys.readouterr().out
    _log(tmp_path / "run.jsonl", ESCAPES, _steps(3))
    assert main(["export", str(tmp_path / "run.jsonl"), "--csv", str(tmp_path / "out.csv")]) == 0
    assert "\x1b" not in (tmp_path / "out.csv").read_text()
    assert "\x1b" not in _error(capsys, "-s", "StepLR(step_size=\x1b[2J)")


# ---- 2. no line that parses can stop the viewer ---------------------------------------------
async def test_no_line_that_parses_stops_the_viewer(tmp_path):
    _log(
        tmp_path / "a.jsonl",
        "[/x]",
        [{"event": "plan", "lr": [], "interval": "epoch", "batches": 1}, *_steps(3)],
    )
    _log(
        tmp_path / "b.jsonl",
        "b",
        [{"event": "plan", "lr": [0.1, 0.2], "interval": "epoch", "batches": 0}, *_steps(3)],
    )
    _log(
        tmp_path / "c.jsonl",
        "c",
        [{"step": 1, "lr": 0.1, "loss": 1e308}, {"step": 2, "lr": 0.1, "loss": -1e308}],
    )
    _log(
        tmp_path / "d.jsonl", "d", [{"step": 1, "lr": 5e-324, "loss": 1}, {"step": 2, "lr": 1e300, "loss": 2}]
    )
    app = await _watch_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert app.state.corrupt_lines == 2  # the empty plan and the plan of 0 batches
        for run in range(4):
            await pilot.press(str(run + 1), "enter", "x", "x", "l", "l", "e", "escape")
        await pilot.press("c", "l", "x", "escape", "b", "escape")
        await pilot.pause()
        assert app.failure is None and app.is_running


async def test_an_infinite_planned_lr_is_drawn_without_crashing():
    exp = build_experiment(
        Settings(
            runs=[parse_scheduler_flag("ExponentialLR(gamma=2.0)")], epochs=1100, batches=1, device="cpu"
        )
    )
    events = stream(exp)
    assert any(
        lr == float("inf")
        for e in events
        if hasattr(e, "lrs") and e.__class__.__name__ == "PlanEvent"
        for lr in e.lrs
    )
    app = replay_app(exp, events)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("enter", "l", "x", "escape", "c", "l")
        await pilot.pause()
        assert app.failure is None and app.is_running


# ---- 3. a failing source is shown, not silent -----------------------------------------------
def test_an_unreadable_file_fails_alone(tmp_path, monkeypatch):
    good, bad = (
        _log(tmp_path / "good.jsonl", "good", _steps(3)),
        _log(tmp_path / "bad.jsonl", "bad", _steps(3)),
    )
    real_open = Path.open

    def refuse(self, *a, **kw):
        if self == bad:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(self, *a, **kw)

    monkeypatch.setattr(Path, "open", refuse)
    got: list = []
    WatchSource(tmp_path, got.extend).poll_once()
    errors = [e for e in got if isinstance(e, StatusEvent) and e.status is RunStatus.ERROR]
    assert len(errors) == 1 and "cannot read bad.jsonl: Permission denied" in errors[0].message
    assert any(isinstance(e, StepEvent) for e in got)  # the good file still reads
    assert good.exists()


def test_a_directory_named_like_a_log_and_a_failing_watcher_are_shown(tmp_path, monkeypatch):
    (tmp_path / "x.jsonl").mkdir()
    got: list = []
    WatchSource(tmp_path / "x.jsonl", got.extend).poll_once()
    assert any(isinstance(e, StatusEvent) and e.status is RunStatus.ERROR for e in got)
    notices: list = []
    arrived = threading.Event()

    def sink(events):
        notices.extend(e for e in events if isinstance(e, Notice))
        arrived.set()

    src = WatchSource(tmp_path, sink, poll=0.01)
    monkeypatch.setattr(src, "poll_once", lambda: (_ for _ in ()).throw(RuntimeError("disk on fire")))
    thread = threading.Thread(target=src.run)
    thread.start()
    assert arrived.wait(10)
    src.stop()
    thread.join(10)
    assert notices and "disk on fire" in notices[0].message


def test_poll_is_bounded(capsys):
    assert "--poll must be at most 60 seconds" in _error(capsys, "watch", ".", "--poll", "1e10")


def _full_disk(monkeypatch, fds: set[int]):
    real_write = os.write

    def write(fd, data):
        if fd in fds:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


def test_a_full_disk_stops_recording_not_training(tmp_path, monkeypatch, capsys):
    from lrtui.modes.headless import run_headless

    exp = build_experiment(
        Settings(runs=[parse_scheduler_flag("StepLR(step_size=1)")] * 2, epochs=3, batches=20)
    )
    sink = LogDirSink(tmp_path, run_infos(exp))
    _full_disk(monkeypatch, {w._fd for w in sink._writers})
    assert run_headless(exp, sys.stdout, sink) == 0
    captured = capsys.readouterr()
    assert captured.out.count("Epoch 3") == 2  # the table is whole
    assert captured.err.count("No space left on device") == 1
    for file in tmp_path.glob("*.jsonl"):  # what was written ends in a whole line
        assert file.read_text().endswith("\n")
    sink.close()  # never raises


# ---- 4. export never destroys its input --------------------------------------------------------
def test_export_refuses_to_write_over_its_input(tmp_path, capsys):
    log = _log(tmp_path / "run.jsonl", "r", _steps(50))
    before = log.read_bytes()
    assert "one of the files being exported" in _error(capsys, "export", str(log), "--csv", str(log))
    assert "one of the files being exported" in _error(capsys, "export", str(tmp_path), "--csv", str(log))
    assert log.read_bytes() == before
    (tmp_path / "empty").mkdir()
    assert "no events files" in _error(capsys, "export", str(tmp_path / "empty"), "--csv", "-")


def test_a_failed_export_leaves_no_file(tmp_path, monkeypatch, capsys):
    from lrtui.record import export

    log = _log(tmp_path / "run.jsonl", "r", _steps(5))

    def broken(inputs, out, options=None):
        out.write("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export, "export_csv", broken)
    _error(capsys, "export", str(log), "--csv", str(tmp_path / "out.csv"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.jsonl"]


def test_export_takes_the_last_generation_and_every_param_group(tmp_path, capsys):
    lines = [*_steps(5), {"event": "status", "status": "running", "message": "", "step": 0, "gen": 1}]
    lines += [{"step": s, "epoch": 1, "lr": [0.1, 0.01], "loss": 0.5} for s in (1, 2, 3)]
    log = _log(tmp_path / "run.jsonl", "r", lines)
    assert main(["export", str(log), "--csv", "-"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0] == "run,step,epoch,lr,loss,time"
    assert [r.split(",")[1] for r in rows[1:]] == ["1", "2", "3"]
    assert rows[1].split(",")[3] == "0.1;0.01"


def test_export_into_a_closed_pipe_ends_quietly(tmp_path):
    log = _log(tmp_path / "run.jsonl", "r", _steps(20000))
    with subprocess.Popen(
        [sys.executable, "-m", "lrtui", "export", str(log), "--csv", "-"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    ) as proc:  # fmt: skip
        assert proc.stdout.readline().startswith(b"run,step")
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(60) == 0
    assert "Traceback" not in err and "Error" not in err


# ---- 5. a replaced file is noticed, also in the same inode ----------------------------------
def test_a_file_rewritten_in_its_own_inode_is_read_as_new(tmp_path):
    path = _log(tmp_path / "run.jsonl", "old", _steps(300))
    inode = path.stat().st_ino
    got: list = []
    src = WatchSource(path, got.extend)
    src.poll_once()
    with path.open("w") as f:  # truncated and rewritten: the same inode on ext4 and tmpfs
        f.write("\n".join(json.dumps(x) for x in [{**HEADER, "run": "new"}, *_steps(1000, loss=7.0)]) + "\n")
    assert path.stat().st_ino == inode
    got.clear()
    src.poll_once()
    assert any(isinstance(e, StatusEvent) and "replaced" in e.message for e in got)
    assert [e.info.label for e in got if isinstance(e, RunAdded)] == ["new"]
    steps = [e for e in got if isinstance(e, StepEvent)]
    assert [s.step for s in steps] == list(range(1, 1001)) and {s.gen for s in steps} == {1}


# ---- 6. RunRecorder never loses good steps -----------------------------------------------------
@pytest.mark.parametrize(
    "bad",
    [
        "0.5",
        {"loss": 1},
        1 + 2j,
        torch.ones(3),
        torch.empty(0),
        torch.ones(1, device="meta"),
        torch.tensor(1 + 1j),
    ],
    ids=["str", "dict", "complex", "many", "empty", "meta", "complex-tensor"],
)
def test_a_bad_value_raises_at_log_and_good_steps_stay(tmp_path, bad):
    rec = RunRecorder(tmp_path, "r", flush_steps=10**6)
    for step in (1, 2):
        rec.log(step, lr=0.1, loss=0.5)
    with pytest.raises((TypeError, ValueError)):
        rec.log(3, lr=0.1, loss=bad)
    rec.log(3, lr=0.1, loss=0.4)
    rec.finish("done")
    lines = rec.path.read_text().splitlines()[1:]
    assert [decode(x, 0, 0).step for x in lines[:-1]] == [1, 2, 3]


def test_recorder_misuse_is_refused_plainly(tmp_path):
    rec = RunRecorder(tmp_path, "r")
    with pytest.raises(ValueError, match="unknown status 'finished'"):
        rec.finish("finished")
    rec.log(1, lr=0.1, loss=0.5)  # still open
    rec.close()
    with pytest.raises(RuntimeError, match="after close"):
        rec.log(2, lr=0.1, loss=0.5)
    long = RunRecorder(tmp_path, "x" * 500)
    assert len(long.path.name) <= 100
    long.close()
    with pytest.raises(KeyboardInterrupt), RunRecorder(tmp_path, "ctrl-c") as rec:
        rec.log(1, lr=0.1, loss=0.5)
        raise KeyboardInterrupt
    last = decode(rec.path.read_text().splitlines()[-1], 0, 0)
    assert last.status is RunStatus.STOPPED


def test_threads_logging_together_write_each_step_once(tmp_path):
    rec = RunRecorder(tmp_path, "threads", flush_steps=7)
    threads = [
        threading.Thread(target=lambda k=k: [rec.log(k * 1000 + i, lr=0.1, loss=0.5) for i in range(1, 301)])
        for k in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rec.finish()
    steps = [decode(x, 0, 0).step for x in rec.path.read_text().splitlines()[1:-1]]
    assert sorted(steps) == sorted(k * 1000 + i for k in range(4) for i in range(1, 301))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_write_the_parents_steps(tmp_path):
    rec = RunRecorder(tmp_path, "fork", flush_steps=10**6, flush_seconds=10**6)
    for step in range(1, 11):
        rec.log(step, lr=0.1, loss=0.5)
    pid = os.fork()
    if pid == 0:  # the child: as a DataLoader worker would, it exits through the recorder
        try:
            rec.close()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    rec.finish()
    steps = [decode(x, 0, 0).step for x in rec.path.read_text().splitlines()[1:-1]]
    assert steps == list(range(1, 11))


# ---- 7. signals ------------------------------------------------------------------------------
def _wait_for(check, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_sigterm_ends_headless_with_every_log_closed(tmp_path):
    logs = tmp_path / "logs"
    argv = ["--headless", "--epochs", "200", "--batches", "500", "--log-dir", str(logs)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "lrtui", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    _wait_for(
        lambda: (
            len(list(logs.glob("*.jsonl"))) == 6
            and all(f.stat().st_size > 2000 for f in logs.glob("*.jsonl"))
        )
    )
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err
    assert "Interrupted" in out
    for file in logs.glob("*.jsonl"):
        last = decode(file.read_text().splitlines()[-1], 0, 0)
        assert isinstance(last, StatusEvent) and last.status.finished


async def test_sigterm_ends_the_app_like_q():
    exp = build_experiment(Settings(epochs=2, batches=10))
    app = replay_app(exp, stream(exp))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None)  # else this would kill pytest
        os.kill(os.getpid(), signal.SIGTERM)
        await pilot.pause(0.2)
    assert app.return_code == 0 and app.source._stopped.is_set()


def test_ctrl_c_while_starting_ends_quietly(tmp_path):
    marker = tmp_path / "loading"
    task = tmp_path / "slow.py"
    task.write_text(
        textwrap.dedent(f"""
        import pathlib, time
        pathlib.Path({str(marker)!r}).write_text("x")
        time.sleep(60)
    """)
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "lrtui", "--headless", "--task", str(task), "-s", "StepLR(step_size=1)"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        # Ctrl-C as a terminal sends it: a test run started in the background by a shell (`... &`)
        # ignores SIGINT, and Python keeps an ignored SIGINT ignored in what it starts
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    _wait_for(marker.exists)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in err


# ---- 8. bounds on everything a user types --------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--batch-size", "1e11"], "--batch-size must be a whole number"),
        (["--batch-size", "100000000000"], "--batch-size must be at most 1,000,000"),
        (["--seed", "18446744073709551616"], "--seed must be at most"),
        (["--batches", "1000000", "--batch-size", "1000"], "more than the built-in task makes"),
        (["-s", "StepLR(milestones=" + "[" * 3000 + "]" * 3000 + ")"], "nested"),
        (["-s", "StepLR(gamma=" + "1" * 40000 + ")"], "at most 10,000"),
        (["--optimizer", "Adam(betas=[0.9])"], "--optimizer: Adam: betas=(0.9,): IndexError"),
        (["-s", "CosineAnnealing"], "did you mean CosineAnnealingLR"),
    ],
)
def test_bounds_are_one_line_errors_at_once(capsys, argv, expected):
    start = time.perf_counter()
    line = _error(capsys, "--headless", *argv)
    assert expected in line and len(line) < 600
    assert time.perf_counter() - start < 1.0


def test_config_files_that_never_end_or_nest_forever(tmp_path, capsys):
    huge = tmp_path / "huge.toml"
    huge.write_text("batches = 9223372036854775807\n")
    assert "must be at most" in _error(capsys, "--config", str(huge))
    assert "not a regular file" in _error(capsys, "--config", "/dev/zero")
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    assert "not a regular file" in _error(capsys, "--config", str(fifo))
    nested = tmp_path / "nested.toml"
    nested.write_text("a = " + "[" * 1000 + "]" * 1000 + "\n")
    assert "config" in _error(capsys, "--config", str(nested))


def test_optimizers_by_any_case_and_names_kept_apart(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(
        textwrap.dedent("""
        epochs = 1
        batches = 5
        optimizer = "adam(eps=1)"
        log_dir = "LOGDIR"
        loss_threshold = 0.6
        [[run]]
        scheduler = "StepLR(step_size=1)"
        name = "same"
        [[run]]
        scheduler = "ExponentialLR(gamma=0.9)"
        name = "same"
    """).replace("LOGDIR", str(tmp_path / "logs"))
    )
    assert main(["--headless", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("same\n") and "\nsame #2\n" in out and "threshold 0.6000" in out
    assert len(list((tmp_path / "logs").glob("*.jsonl"))) == 2


def test_the_app_hears_once_that_recording_stopped(tmp_path, monkeypatch):
    from lrtui.modes.live import recording_tee

    exp = build_experiment(Settings(runs=[parse_scheduler_flag("StepLR(step_size=1)")], epochs=1, batches=5))
    sink = LogDirSink(tmp_path, run_infos(exp))
    _full_disk(monkeypatch, {w._fd for w in sink._writers})
    seen: list = []
    both = recording_tee(sink, seen.extend)
    events = stream(exp)
    both(events)
    both(events)
    notices = [e for e in seen if isinstance(e, Notice)]
    assert len(notices) == 1 and "No space left on device" in notices[0].message
    assert len(seen) == 2 * len(events) + 1  # the app still gets every event


def test_export_to_a_device_writes_to_it_and_leaves_it_a_device(tmp_path):
    log = _log(tmp_path / "run.jsonl", "r", _steps(5))
    assert main(["export", str(log), "--csv", os.devnull]) == 0
    assert Path(os.devnull).is_char_device()  # never replaced by a renamed temporary file
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE, text=True)
    assert main(["export", str(log), "--csv", str(fifo)]) == 0
    assert reader.communicate(timeout=30)[0].count("\n") == 6 and fifo.is_fifo()


def test_headless_into_a_closed_pipe_ends_quietly():
    argv = [sys.executable, "-m", "lrtui", "--headless", "--epochs", "30", "--batches", "200"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT) as proc:
        assert proc.stdout.readline() == b"StepLR\n"
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(120) == 0
    assert "Traceback" not in err and "Error" not in err
