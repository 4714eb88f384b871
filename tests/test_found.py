"""What a new user's trial found, each pinned by a test that failed before its fix: an app that
fails and then cannot close, a spawned trainer that dies at start-up, the LR a schedule-free
run reports per epoch, optimizer spec errors, corrupt JSONL lines taken as data, and export's
counts in words."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from terminal import Terminal, have_tmux

# An app that fails (an action raises) and whose closing then never completes, as a widget's
# removal that never finishes leaves Textual's shutdown waiting: the process must still end.
STUCK_AFTER_FAILING = """
import asyncio
import sys

from lrtui.ui.app import LrTuiApp


def broken_help(self):
    raise RuntimeError("the help key broke")


async def never_unmounts(self):  # a closing that never completes
    await asyncio.Event().wait()


LrTuiApp.action_help = broken_help
LrTuiApp.on_unmount = never_unmounts

if __name__ == "__main__":
    from lrtui.commands.main import main_exit

    sys.argv = ["lrtui", *sys.argv[1:]]
    main_exit()
"""


@pytest.mark.journey
@pytest.mark.skipif(not have_tmux(), reason="journeys run in tmux: apt-get install tmux")
def test_an_app_that_fails_and_cannot_close_still_ends_with_the_error_in_one_line(tmp_path: Path):
    script = tmp_path / "stuck.py"
    script.write_text(STUCK_AFTER_FAILING)
    command = shlex.join(
        [sys.executable, str(script), "--task", "charlm", "--log-dir", str(tmp_path / "logs")]
    )
    with Terminal(command, 120, 40) as term:
        term.wait_for(lambda s: re.search(r"step [1-9]\d*/", s) is not None, 120)  # training live
        term.press("?")
        assert term.exit_status(30) == 1
        screen = term.screen()
        assert "lrtui: error: the viewer failed: RuntimeError: the help key broke" in screen
        assert "Traceback" not in screen
        assert term.restored()
        assert term.leftovers() == []


# ---- 2. a spawned trainer that fails at start-up says why -----------------------------------

SMALL_CNN = """
def model():
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(288, 4))


def batches(epoch):
    gen = torch.Generator().manual_seed(epoch)
    x = torch.randn(64, 3, 8, 8, generator=gen)
    return list(zip(x.split(16), torch.randint(0, 4, (64,), generator=gen).split(16)))
"""  # a task file's model and data: a conv net with BatchNorm on 8x8 images, 4 batches an epoch

CHILD_ONLY_FAILURE = (
    """
import multiprocessing

import torch
from torch import nn

if multiprocessing.parent_process() is not None:  # imports in the parent, fails in the trainer's process
    raise RuntimeError("CUDA_VISIBLE_DEVICES names no device here")

"""
    + SMALL_CNN
    + """

def loss(model, batch):
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)
"""
)


async def test_a_task_that_fails_to_import_in_the_trainers_process_names_the_error_and_its_line(tmp_path):
    from lrtui.modes.config import Settings, build_ready, parse_scheduler_flag
    from lrtui.modes.live import build_app
    from lrtui.spec.events import RunStatus

    path = tmp_path / "child_only_task.py"
    path.write_text(CHILD_ONLY_FAILURE)
    flags = Settings(
        runs=[parse_scheduler_flag("StepLR(step_size=1)")], epochs=1, task=str(path), device="cpu"
    )
    app = build_app(build_ready(flags, dry_run=False))
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 60
        while "CUDA_VISIBLE_DEVICES" not in app.state.notice and time.monotonic() < deadline:
            await pilot.pause(0.05)
            app.drain()
        said = app.state.notice
        assert "RuntimeError: CUDA_VISIBLE_DEVICES names no device here" in said
        assert f"{path}:8" in said  # where in the user's own file
        assert app.state.runs[0].status is not RunStatus.DONE
        await pilot.press("q")


class _LostOnTheWay:
    """A trainer recipe that cannot be unpickled in the spawned process: its start-up fails
    (as an import that only the parent can do) before any of lrtui's code runs there."""

    def __init__(self) -> None:
        self.name = "only_in_the_parent"

    def __setstate__(self, state: dict) -> None:
        raise ModuleNotFoundError(f"No module named {state['name']!r}")

    def __call__(self, sink):  # never reached: the child dies unpickling this
        raise AssertionError


def test_a_trainer_process_that_dies_before_it_can_speak_is_explained_by_its_last_error_line():
    import threading

    from lrtui.engine.child import ChildTrainer
    from lrtui.spec.events import Notice

    seen: list = []
    child = ChildTrainer(_LostOnTheWay()).attach(seen.extend)
    worker = threading.Thread(target=child.run)
    worker.start()
    assert child.done.wait(60)
    worker.join(10)
    notices = [ev.message for ev in seen if isinstance(ev, Notice)]
    assert notices == [
        "the training process exited with code 1: ModuleNotFoundError: No module named 'only_in_the_parent'"
    ]
    assert not child._folder.exists()  # its standard error's file, gone with it


# ---- 5. a step below 1 is a corrupt line, not data ------------------------------------------

GARBAGE_STEP = '{"step": -5, "lr": [1e308], "loss": -Infinity}\n'


def _log_with_a_garbage_step(tmp_path: Path, bulk_line: bool) -> Path:
    from lrtui import RunRecorder

    rec = RunRecorder(tmp_path, "good")
    for step in range(1, 101):
        rec.log(step, epoch=(step - 1) // 20, lr=0.1 / step, loss=1.0 / step)
    rec.close()
    with rec.path.open("a") as f:  # as lrtui writes a step, but for its number; or the tester's line
        f.write(
            '{"step": 0, "epoch": 5, "lr": [0.1], "loss": 0.5, "time": 1.0}\n' if bulk_line else GARBAGE_STEP
        )
    return rec.path


@pytest.mark.parametrize("bulk_line", [False, True])
def test_a_step_below_1_is_counted_corrupt_when_watched(tmp_path: Path, bulk_line: bool):
    from lrtui.record.watch import WatchSource
    from lrtui.spec.events import CorruptLines, RunStatus, StatusEvent, StepBlock, StepEvent

    got: list = []
    src = WatchSource(_log_with_a_garbage_step(tmp_path, bulk_line), got.extend)
    for _ in range(20):
        src.poll_once()
    steps = [s.step for e in got if isinstance(e, StepBlock) for s in e.steps()]
    steps += [e.step for e in got if isinstance(e, StepEvent)]
    assert sorted(steps) == list(range(1, 101))
    assert not any(isinstance(e, StatusEvent) and e.status is RunStatus.DIVERGED for e in got)
    assert sum(e.count for e in got if isinstance(e, CorruptLines)) == 1


@pytest.mark.parametrize("bulk_line", [False, True])
def test_a_step_below_1_is_counted_corrupt_when_exported(tmp_path: Path, bulk_line: bool):
    import io

    from lrtui.record.export import export_csv

    out = io.StringIO()
    result = export_csv([_log_with_a_garbage_step(tmp_path, bulk_line)], out)
    steps = [int(row.split(",")[1]) for row in out.getvalue().splitlines()[1:]]
    assert steps == list(range(1, 101))
    assert (result.rows, result.corrupt) == (100, 1)


# ---- 3. a schedule-free run's epoch says the LR it applied ------------------------------------


def test_a_schedule_free_epoch_reports_the_lr_its_last_step_applied():
    pytest.importorskip("schedulefree")
    from helpers import epochs_of, steps_of, train

    from lrtui.modes.config import Settings, build_experiment, parse_scheduler_flag

    spec = parse_scheduler_flag("AdamWScheduleFree(lr=0.01, warmup_steps=20)")
    exp = build_experiment(Settings(epochs=2, batches=16, task="charlm", runs=[spec]))
    events = train(exp)
    steps, epochs = steps_of(events, 0), epochs_of(events, 0)
    assert [e.step for e in epochs] == [16, 32]
    for epoch in epochs:
        last = steps[epoch.step - 1]
        assert last.step == epoch.step and epoch.lrs == last.lrs  # as its last step line says
    assert epochs[0].lrs[0] == pytest.approx(0.01 * 16 / 20) and epochs[1].lrs[0] == pytest.approx(0.01)


# ---- 4. optimizer spec errors: one line, naming what was wrong --------------------------------


def _one_line_error(capsys, *argv: str) -> str:
    from lrtui.commands.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--headless", "--epochs", "1", "--batches", "2", *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    return err.strip()


def test_an_optimizer_torch_refuses_is_named_with_the_parameter(capsys):
    said = _one_line_error(capsys, "-s", "Adam(betas=[0.9])")
    assert said == "lrtui: error: Adam: betas=(0.9,): IndexError: list index out of range"


def test_a_name_that_is_neither_scheduler_nor_optimizer_lists_the_optimizers(capsys):
    said = _one_line_error(capsys, "-s", "Lion(lr=1e-4)")
    assert "unknown scheduler 'Lion', nor an optimizer lrtui knows (SGD, Adam, AdamW," in said
    assert "lrtui --list-schedulers" in said


def test_an_unknown_optimizer_lists_each_optimizer_once(capsys):
    said = _one_line_error(capsys, "--optimizer", "Lion")
    listed = said.split("choose from ")[1].rstrip(")").split(", ")
    assert "AdamW" in listed and "SGD" in listed
    assert len({name.lower() for name in listed}) == len(listed)  # no `sgd` beside `SGD`


def test_a_schedule_on_a_schedule_free_optimizer_is_warned_about_once(capsys):
    pytest.importorskip("schedulefree")
    from lrtui.spec.settings import parse_scheduler_flag

    parse_scheduler_flag("AdamWScheduleFree(lr=0.01, warmup_steps=5) | CosineAnnealingLR(T_max=2)")
    parse_scheduler_flag("AdamWScheduleFree(lr=0.01, warmup_steps=5)")  # no schedule: no warning
    parse_scheduler_flag("AdamW | CosineAnnealingLR(T_max=2)")
    warned = capsys.readouterr().err.splitlines()
    assert warned == [
        "lrtui: warning: AdamWScheduleFree is schedule-free and needs no schedule; "
        "CosineAnnealingLR will scale its LR as well"
    ]


# ---- 6. export counts in words ------------------------------------------------------------------


def test_export_says_one_run_in_the_singular(tmp_path: Path, capsys):
    from lrtui import RunRecorder
    from lrtui.commands.main import main

    rec = RunRecorder(tmp_path / "logs", "only")
    for step in range(1, 25):
        rec.log(step, epoch=0, lr=0.1, loss=1.0 / step)
    rec.close()
    assert main(["export", str(tmp_path / "logs"), "--csv", str(tmp_path / "out.csv")]) == 0
    assert (
        f"lrtui: wrote 24 rows from 1 run to {tmp_path / 'out.csv'}" in capsys.readouterr().err.splitlines()
    )


# ---- 5. a --log-dir that is a file (it once spun for ever at 100% CPU) -------------------------
@pytest.mark.parametrize("under", ["", "sub"])
def test_a_log_dir_that_is_a_file_or_under_one_is_one_line(tmp_path: Path, under: str):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine\n")
    log_dir = a_file / under if under else a_file
    argv = ["--headless", "--epochs", "1", "--batches", "2", "--log-dir", str(log_dir)]
    done = subprocess.run([sys.executable, "-m", "lrtui", *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr == (
        f"lrtui: error: --log-dir {log_dir}: cannot write there "
        "(a file stands where a folder of that path should be)\n"
    )
    assert a_file.read_text() == "mine\n"  # nothing of the user's touched


# ---- 6. one run's exception, where runs train one after another, is that run's alone -----------
ONE_RUN_FAILS = (
    """
import torch
from torch import nn

CALLS = [0]

"""
    + SMALL_CNN
    + """

def loss(model, batch):
    CALLS[0] += 1
    if CALLS[0] == 10:  # a step of one run, mid-way: runs take their turns, one after another
        raise RuntimeError("late failure")
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)
"""
)


def test_an_exception_in_one_runs_step_stops_that_run_alone(tmp_path: Path):
    task = tmp_path / "late.py"
    task.write_text(ONE_RUN_FAILS)
    argv = ["--headless", "--task", str(task), "--engine", "sequential", "--epochs", "3", "--no-summary"]
    argv += ["-s", "StepLR(step_size=1)", "-s", "ConstantLR(factor=0.5)", "--log-dir", str(tmp_path / "logs")]
    done = subprocess.run([sys.executable, "-m", "lrtui", *argv], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr  # a run trained to the end: not every run failed
    ends = {}
    for path in (tmp_path / "logs").glob("*.jsonl"):
        lines = [json.loads(line) for line in path.read_text().splitlines()[1:]]
        status = [d for d in lines if d.get("event") == "status"][-1]
        ends[path.stem] = (status["status"], max(d["step"] for d in lines if "event" not in d))
    assert sorted(ends.values()) == [("done", 12), ("error", 4)]  # the other run trained on to the end


# ---- 7. a run logged with no setup at all has none (it said "differs in: ={}") ---------------
def test_a_run_with_no_setup_has_no_setup_pairs_and_an_empty_part_keeps_its_name():
    from lrtui.record.readers.metric_tail import config_pairs

    assert config_pairs({}) == ()
    assert config_pairs({"optim": {}, "sched": {"name": "cosine"}}) == (
        ("optim", "{}"),
        ("sched.name", "cosine"),
    )


# ---- 8. a trainer waiting for an attached app's command is not said to be stuck ---------------
def test_a_trainer_whose_runs_all_ended_or_paused_is_idle_not_stuck():
    from lrtui.engine.child import FinalStatuses
    from lrtui.spec.events import RunStatus, StatusEvent

    finals = FinalStatuses()
    assert not finals.idle()  # nothing heard yet: a silent start may be a stuck task
    finals.see([StatusEvent(0, 0, RunStatus.RUNNING, "", 0), StatusEvent(1, 0, RunStatus.RUNNING, "", 0)])
    assert not finals.idle()
    finals.see([StatusEvent(0, 0, RunStatus.DONE, "", 9), StatusEvent(1, 0, RunStatus.PAUSED, "", 4)])
    assert finals.idle()  # waiting for a command: no "no step for 30 s"
    finals.see([StatusEvent(1, 0, RunStatus.RUNNING, "", 4)])
    assert not finals.idle()
