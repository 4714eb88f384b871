"""Checkpoints and `lrtui resume`: a comparison killed with `kill -9` at a random step and
resumed equals the uninterrupted one bit for bit (stacked and sequential engines, a task whose
DataLoader shuffles, dropout, BatchNorm), its logs continue in the same files, and damaged or
unreachable checkpoints fall back to the one before."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from lrtui.engine import checkpoint
from lrtui.engine.checkpoint import CheckpointPolicy
from lrtui.engine.resumable import RESUMED, CheckpointingTrainer
from lrtui.modes.config import build_ready
from lrtui.modes.resume import choose
from lrtui.record import continued
from lrtui.spec.commands import Command, Verb
from lrtui.spec.events import EvalEvent, MarkEvent, Notice, StatusEvent, StepBlock
from lrtui.spec.settings import Settings, parse_scheduler_flag

TASK = Path(__file__).parent / "data" / "shuffled_task.py"
SCHEDULES = (
    "ReduceLROnPlateau(patience=0)@batch",
    "OneCycleLR(max_lr=0.3)@batch",
    "StepLR(step_size=1)",
)


# ---- in one process: every kind of schedule state, both engines ------------------------------
def _ready(task: str, engine: str, schedules: tuple[str, ...], optimizer=None, epochs: int = 3):
    settings = Settings(
        runs=[parse_scheduler_flag(s) for s in schedules], epochs=epochs, task=task, engine=engine, lr=0.05
    )
    if optimizer is not None:
        from lrtui.schedule.optimizers import parse_optimizer

        settings.optimizer = parse_optimizer(optimizer)
    return build_ready(settings, None, default_task=None, dry_run=True)


def _record(events) -> list[tuple]:
    """Each run's steps (LR and loss, bit for bit), validation losses and regime marks."""
    out: list[tuple] = []
    for e in events:
        if isinstance(e, StepBlock):
            out += [(s.run, s.step, "step", s.lrs, s.loss) for s in e.steps()]
        elif isinstance(e, EvalEvent):
            out.append((e.run, e.step, "eval", e.loss))
        elif isinstance(e, MarkEvent) and e.kind != RESUMED:
            out.append((e.run, e.step, "mark", e.kind, e.label))
    return sorted(out, key=lambda t: (t[0], t[1], t[2]))


def _stopped_at(ready, policy: CheckpointPolicy, stop_step: int) -> list:
    """Train with checkpoints and stop once run 0 passed `stop_step` (a stop checkpoints)."""
    events: list = []
    trainer: list[CheckpointingTrainer] = []

    def sink(batch) -> None:
        events.extend(batch)
        done = sum(len(e) for e in events if isinstance(e, StepBlock) and e.run == 0)
        if done >= stop_step and trainer:
            trainer[0].send(Command(Verb.STOP))

    t = CheckpointingTrainer(ready.exp, sink, workload=ready.workload, checkpoints=policy, flush_interval=0.0)
    trainer.append(t)
    t.run()
    return events


@pytest.mark.parametrize(
    "task, engine, schedules, optimizer",
    [
        (str(TASK), "stacked", SCHEDULES, None),
        (f"{TASK}:Norm", "sequential", SCHEDULES, None),
        (
            str(TASK),
            "stacked",
            (
                "SequentialLR(schedulers=[LinearLR(start_factor=0.1, total_iters=5), "
                "ReduceLROnPlateau(patience=1)], milestones=[5])@batch",
                "CosineAnnealingWarmRestarts(T_0=7)@batch",
                "ChainedScheduler(schedulers=[ExponentialLR(gamma=0.99), "
                "ConstantLR(factor=0.5, total_iters=9)])@batch",
            ),
            "AdamW(weight_decay=0.01)",
        ),
    ],
    ids=["stacked", "sequential-batchnorm", "composites-adamw"],
)
def test_stop_and_resume_in_process_equals_uninterrupted(task, engine, schedules, optimizer, tmp_path):
    ready = _ready(task, engine, schedules, optimizer)
    whole: list = []
    CheckpointingTrainer(
        ready.exp, whole.extend, workload=ready.workload, checkpoints=CheckpointPolicy(str(tmp_path / "w"))
    ).run()
    policy = CheckpointPolicy(str(tmp_path / "c"), every_steps=7, every_seconds=None)
    first = _stopped_at(ready, policy, stop_step=random.Random(7).randint(9, 30))
    newest = checkpoint.listed(tmp_path / "c")[0]
    state = checkpoint.read(newest)
    at = state["runs"][0]["place"]["step"]
    second: list = []
    resumed = CheckpointingTrainer(
        ready.exp,
        second.extend,
        workload=ready.workload,
        checkpoints=replace(policy, resume_from=str(newest)),
    )
    resumed.run()
    before = [r for r in _record(first) if r[1] <= at]
    assert sorted(before + _record(second), key=lambda t: (t[0], t[1], t[2])) == _record(whole)
    marks = [e for e in second if isinstance(e, MarkEvent) and e.kind == RESUMED]
    assert [(m.run, m.step) for m in marks] == [(i, at) for i in range(len(schedules))]
    assert min(s[1] for s in _record(second) if s[2] == "step") == at + 1  # no step twice, no gap
    assert checkpoint.listed(tmp_path / "c") == []  # every run finished: nothing left to resume


def test_checkpoint_files_are_atomic_two_kept_and_checked(tmp_path):
    for steps in (10, 20, 30):
        checkpoint.write(tmp_path, steps, {"steps": steps, "w": torch.arange(3.0)})
    assert [p.name for p in checkpoint.listed(tmp_path)] == ["ckpt-000000030.pt", "ckpt-000000020.pt"]
    (tmp_path / "ckpt-000000040.tmp").write_bytes(b"cut short by kill -9")  # never renamed: never read
    newest = tmp_path / "ckpt-000000030.pt"
    data = bytearray(newest.read_bytes())
    data[-5] ^= 0xFF  # one flipped byte
    newest.write_bytes(bytes(data))
    found = list(checkpoint.readable(tmp_path))
    assert found[0][1] is None and "digest" in found[0][2]
    assert found[1][1]["steps"] == 20


def test_a_disk_that_refuses_the_checkpoint_is_told_once_and_training_goes_on(tmp_path):
    ready = _ready(str(TASK), "stacked", SCHEDULES[:1], epochs=2)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    events: list = []
    policy = CheckpointPolicy(str(blocker / "checkpoints"), every_steps=3, every_seconds=None)
    CheckpointingTrainer(ready.exp, events.extend, workload=ready.workload, checkpoints=policy).run()
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert len(notices) == 1 and "not written" in notices[0] and "training goes on" in notices[0]
    assert sum(len(e) for e in events if isinstance(e, StepBlock)) == 2 * ready.exp.batches


def _log(path: Path, lines: list[dict]) -> Path:
    head = {"format": "lrtui-events", "version": 1, "run": "r"}
    path.write_text("".join(json.dumps(d) + "\n" for d in [head, *lines]))
    return path


def test_a_log_is_cut_right_after_the_checkpoints_step(tmp_path):
    lines = [
        {"event": "status", "status": "running", "message": "", "step": 0, "gen": 0},
        *({"step": k, "epoch": 1, "lr": [0.1], "loss": 1.0, "time": 0.0} for k in range(1, 5)),
        {"event": "epoch", "epoch": 1, "step": 4, "lr": [0.1], "loss": 1.0},
        {"event": "eval", "epoch": 1, "step": 4, "loss": 0.9},
        {"event": "status", "status": "stopped", "message": "", "step": 4, "gen": 0},
    ]
    path = _log(tmp_path / "r.jsonl", lines)
    kept = path.read_bytes().split(b"\n")
    at = continued.cut_point(path, 0, 4)
    assert at is not None
    continued.cut(path, at)
    assert path.read_bytes().split(b"\n")[:-1] == kept[: 1 + 5 + 2]  # the stop goes, the eval stays
    assert continued.cut_point(path, 0, 2) is not None
    assert continued.cut_point(path, 0, 5) is None  # the log never reached step 5: unusable
    assert continued.cut_point(path, 1, 2) is None  # no such generation


def test_resume_skips_a_checkpoint_ahead_of_the_logs_with_one_line(tmp_path):
    path = _log(
        tmp_path / "r.jsonl", [{"step": k, "epoch": 1, "lr": [0.1], "loss": 1.0} for k in range(1, 8)]
    )
    policy = CheckpointPolicy(str(tmp_path / "checkpoints"), files=(path.name,))
    for step in (5, 10):
        run = {"place": {"gen": 0, "step": step}, "status": "running"}
        checkpoint.write(tmp_path / "checkpoints", step, {"policy": policy, "runs": [run]})
    said = io.StringIO()
    chosen = choose(tmp_path, said)
    assert chosen.path.name == "ckpt-000000005.pt"
    assert said.getvalue() == (
        "lrtui: checkpoint ckpt-000000010.pt is ahead of the logs (r.jsonl does not reach step 10); "
        "trying the one before\n"
    )


def _lrtui(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lrtui", *args], capture_output=True, text=True, timeout=300, **kw
    )


def test_bad_resume_and_checkpoint_input_is_one_line(tmp_path):
    gone = _lrtui("resume", str(tmp_path / "nowhere"), "--headless")
    assert (
        gone.returncode == 2
        and gone.stderr == f"lrtui: error: resume {tmp_path / 'nowhere'}: no such directory\n"
    )
    empty = _lrtui("resume", str(tmp_path), "--headless")
    assert empty.returncode == 2 and empty.stderr.startswith(
        f"lrtui: error: resume {tmp_path}: no checkpoints"
    )
    bad = _lrtui("--headless", "--checkpoint-every", "0m", "--log-dir", str(tmp_path))
    assert bad.returncode == 2
    assert bad.stderr == (
        "lrtui: error: argument --checkpoint-every: --checkpoint-every must be a number of steps (500) "
        "or of minutes (10m), not '0m'\n"
    )


# ---- kill -9 at a random step, then `lrtui resume` -------------------------------------------
def _args(task: str, engine: str, seeds: int = 1) -> list[str]:
    flags = ["--task", f"{TASK}:{task}", "--epochs", "24", "--lr", "0.05", "--engine", engine, "--no-summary"]
    return [a for s in SCHEDULES for a in ("-s", s)] + flags + (["--seeds", str(seeds)] if seeds > 1 else [])


def _steps_logged(path: Path) -> int:
    try:
        return path.read_bytes().count(b'\n{"step"')
    except FileNotFoundError:
        return 0


def _lines(path: Path) -> list[dict]:
    """A file's lines, but for what differs between any two runs: the time a step took, and
    when the plateau's counters were sampled (at each hand-over of events, a moment of the
    clock's choosing); statuses are compared apart."""
    out = []
    for line in path.read_text().splitlines()[1:]:
        data = json.loads(line)
        data.pop("time", None)
        if data.get("event") not in ("plateau", "status"):
            out.append(data)
    return out


@pytest.mark.parametrize(
    "engine, task, seeds",
    [
        ("stacked", "Slow", 1),
        ("sequential", "SlowNorm", 1),
        ("stacked", "Slow", 2),
        ("sequential", "Slow", 2),
    ],
)
def test_kill_9_at_a_random_step_and_resume_equals_the_uninterrupted_run(engine, task, seeds, tmp_path):
    """Under `--seeds 2` too: every schedule under every seed, each from its own weights."""
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    expected = _lrtui("--headless", *_args(task, engine, seeds), "--log-dir", str(whole))
    assert expected.returncode == 0, expected.stderr
    files = sorted(p.name for p in whole.glob("*.jsonl"))
    assert len(files) == len(SCHEDULES) * seeds  # a file for each schedule under each seed
    kill_at = random.randint(20, 360)  # of 384 steps a run; checkpoints every 25
    with open(os.devnull, "w") as quiet:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lrtui", "--headless", *_args(task, engine, seeds), "--log-dir", str(cut),
             "--checkpoint-every", "25"], stdout=quiet, stderr=quiet,
        )  # fmt: skip
    deadline = time.monotonic() + 240
    while _steps_logged(cut / files[-1]) < kill_at and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"training ended before step {kill_at}"
    resumed = _lrtui("resume", str(cut), "--headless", "--no-summary")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == expected.stdout, f"killed at step {kill_at}"  # the table, from step 1
    for path in sorted(whole.glob("*.jsonl")):
        mine = _lines(cut / path.name)
        resumed_at = [d["step"] for d in mine if d.get("kind") == RESUMED]
        assert len(resumed_at) == 1, f"killed at step {kill_at}"
        steps = [d["step"] for d in mine if "event" not in d]
        assert steps == list(range(1, len(steps) + 1))  # no step twice, no gap
        assert [d for d in mine if d.get("kind") != RESUMED] == _lines(path), f"killed at step {kill_at}"
    assert not (cut / "checkpoints").exists()  # finished: nothing left to resume
    export_whole = _lrtui("export", str(whole), "--csv", "-")
    export_cut = _lrtui("export", str(cut), "--csv", "-")

    def rows(text: str) -> list[list[str]]:  # run, step, epoch, lr, loss: the time column aside
        return [line.split(",")[:5] for line in text.splitlines()]

    cut_rows, whole_rows = rows(export_cut.stdout), rows(export_whole.stdout)
    assert len(cut_rows) == len(whole_rows) == 1 + len(files) * 24 * 16
    assert [(a, b) for a, b in zip(cut_rows, whole_rows, strict=True) if a != b] == []


def test_a_new_comparison_refuses_a_directory_waiting_to_be_resumed(tmp_path):
    checkpoint.write(tmp_path / "checkpoints", 5, {"steps": 5})
    done = _lrtui("--headless", "-s", "StepLR(step_size=1)", "--epochs", "1", "--log-dir", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr == (
        f"lrtui: error: --log-dir {tmp_path}: holds checkpoints of a comparison that did not finish: "
        f"continue it with lrtui resume {tmp_path}, or record to another directory\n"
    )
    assert not list(tmp_path.glob("*.jsonl"))


def test_a_trainer_kept_for_an_app_drops_its_checkpoints_once_every_run_has_finished(tmp_path):
    """Killed while it waits for the app's next command (every run done), the comparison is
    finished: no checkpoint is left for `lrtui resume` to train it again from."""
    ready = _ready(str(TASK), "stacked", SCHEDULES[:2], epochs=2)
    folder = tmp_path / "c"
    seen: list[bool] = []  # whether checkpoints were there when the last run had finished

    def sink(batch) -> None:
        for e in batch:
            if isinstance(e, StatusEvent) and e.status.finished and e.run == 1:
                seen.append(bool(checkpoint.listed(folder)))

    policy = CheckpointPolicy(str(folder), every_steps=5, every_seconds=None)
    t = CheckpointingTrainer(
        ready.exp, sink, workload=ready.workload, checkpoints=policy, flush_interval=0.0, linger=True
    )
    worker = threading.Thread(target=t.run, daemon=True)
    worker.start()
    deadline = time.monotonic() + 120
    while (not seen or checkpoint.listed(folder)) and time.monotonic() < deadline and worker.is_alive():
        time.sleep(0.02)
    waiting = worker.is_alive()  # still kept for the app: not stopped
    left = checkpoint.listed(folder)
    t.send(Command(Verb.STOP))
    worker.join(30)
    assert seen == [True]  # checkpoints were written while training
    assert waiting and left == []
