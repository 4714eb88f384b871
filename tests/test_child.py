"""The live app's trainer in a process of its own: same numbers, same keys, a clean quit."""

import threading

import pytest
import torch
from helpers import steps_of, train

from lrtui.engine import child as child_module
from lrtui.engine.child import ChildTrainer, TrainerRecipe
from lrtui.modes.config import Settings, build_experiment, build_ready, parse_scheduler_flag
from lrtui.modes.live import build_app
from lrtui.spec.commands import Command, Verb
from lrtui.spec.describe import run_infos
from lrtui.spec.events import RunStatus
from lrtui.ui.app import LrTuiApp


def _child_app(exp, linger: bool = False) -> tuple[LrTuiApp, ChildTrainer]:
    child = ChildTrainer(TrainerRecipe(exp, linger=linger))
    return LrTuiApp(run_infos(exp), child.attach, source_label="cpu"), child


async def test_a_child_trains_the_same_numbers_as_a_thread():
    exp = build_experiment(Settings(preset="seed", epochs=2, batches=30, task="teacher"))
    app, child = _child_app(exp)
    async with app.run_test(size=(100, 30)) as pilot:
        while not child.done.is_set():  # the child's last events handed over (bounded by the test timeout)
            await pilot.pause(0.05)
        await pilot.pause()
        app.drain()
        assert [r.status for r in app.state.runs] == [RunStatus.DONE] * 6
    expected = train(exp)
    for i, run in enumerate(app.state.runs):
        last = steps_of(expected, i)[-1]
        assert (run.step, run.loss) == (last.step, last.loss)  # bit for bit
    assert child.done.is_set() and child.train_seconds > 0 and not child._process.is_alive()


async def test_keys_reach_the_child_and_quitting_ends_it():
    exp = build_experiment(Settings(preset="seed", epochs=1000, batches=1000))
    app, child = _child_app(exp, linger=True)
    async with app.run_test(size=(100, 30)) as pilot:
        while app.state.total_steps == 0:  # training has started (bounded by the test timeout)
            await pilot.pause(0.05)
            app.drain()
        await pilot.press("space")
        while any(r.status is not RunStatus.PAUSED for r in app.state.runs):
            await pilot.pause(0.05)  # the child's own status events confirm it
            app.drain()
        steps = [r.step for r in app.state.runs]
        await pilot.press("q")
    assert app.return_code == 0 and child.stopped
    assert child.done.wait(10)  # the child's last events were handed over
    assert not child._process.is_alive()
    assert all(s > 0 for s in steps)


def test_the_live_app_trains_in_a_child_on_the_cpu_only():
    ready = build_ready(Settings(preset="seed", epochs=1, batches=5, device="cpu"))
    app = build_app(ready)
    source = app._source_factory(lambda _: None)
    assert isinstance(source, ChildTrainer)
    source.send_stop = source.send

    source.send(Command(Verb.STOP))
    source.run()
    assert source.done.is_set()
    assert not isinstance(build_app(ready, isolate=False)._source_factory(lambda _: None), ChildTrainer)


def test_a_child_whose_app_is_gone_stops_by_itself():
    """The app's end of the command pipe closing (the app killed) is the child's signal to stop;
    it must hold no copy of that end itself, or it would train on, orphaned."""
    exp = build_experiment(Settings(preset="seed", epochs=1000, batches=1000))
    child = ChildTrainer(TrainerRecipe(exp, linger=True))
    child.attach(lambda _: None)
    worker = threading.Thread(target=child.run, daemon=True)
    worker.start()
    child._commands.close()  # as when the app's process dies
    worker.join(30)
    assert not worker.is_alive() and child.done.is_set()
    assert not child._process.is_alive()


async def test_a_spec_torch_refuses_in_the_child_ends_the_app_with_one_line(capsys):
    """Live, torch's own checks run in the trainer's process after the first screen: a refusal
    ends the app with code 2 and the same one-line error the command gives before a UI."""
    from lrtui.modes.config import parse_scheduler_flag
    from lrtui.ui.exitcode import exit_code

    flags = Settings(runs=[parse_scheduler_flag("ConstantLR(factor=2.0)")], epochs=1, batches=5)
    ready = build_ready(flags, dry_run=False)  # lrtui's own checks pass; torch's are left to the child
    child = ChildTrainer(TrainerRecipe(ready.exp, checked=False))
    app = LrTuiApp(run_infos(ready.exp), child.attach, source_label="cpu")
    async with app.run_test(size=(100, 30)) as pilot:
        while app.is_running:  # bounded by the test timeout
            await pilot.pause(0.05)
    assert exit_code(app) == 2
    err = capsys.readouterr().err.strip()
    assert err == "lrtui: error: ConstantLR: Constant multiplicative factor expected to be between 0 and 1."


class _Stuck:
    """A trainer stuck in the user's code: it never looks at its commands."""

    train_seconds = 0.0

    def __init__(self, sink) -> None:
        pass

    def send(self, command) -> None:
        pass

    def run(self) -> None:
        threading.Event().wait()


def test_a_child_that_will_not_stop_is_killed_after_a_deadline(monkeypatch):
    monkeypatch.setattr(child_module, "STOP_SECONDS", 0.2)
    child = ChildTrainer(_Stuck)
    child.attach(lambda _: None)
    worker = threading.Thread(target=child.run, daemon=True)
    worker.start()
    child.send(Command(Verb.STOP))
    worker.join(30)
    assert not worker.is_alive() and not child._process.is_alive()


# ---- a real-sized task: the journey that hung, and a child that dies -----------------------

CNN_TASK = """
import os
import signal
import multiprocessing

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

gen = torch.Generator().manual_seed(0)
DATA = TensorDataset(torch.randn(512, 3, 32, 32, generator=gen), torch.randint(0, 10, (512,), generator=gen))
DIE = {die!r}  # in the trainer's own process only, after a few steps


def model():
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(64, 10),
    )


def batches(epoch):
    return DataLoader(DATA, batch_size=64, shuffle=True, num_workers={workers})


calls = 0


def loss(model, batch):
    global calls
    calls += 1
    if DIE and calls == 8 and multiprocessing.parent_process() is not None:
        if DIE == "exit":
            os._exit(3)
        os.kill(os.getpid(), getattr(signal, DIE))
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)
"""


def _task_ready(tmp_path, die: str = "", epochs: int = 1, workers: int = 0):
    path = tmp_path / "cnn_task.py"
    path.write_text(CNN_TASK.format(die=die, workers=workers))
    flags = Settings(
        runs=[parse_scheduler_flag(s) for s in ("StepLR(step_size=1)", "CosineAnnealingLR(T_max=2)")],
        epochs=epochs, task=str(path), device="cpu", lr=0.05,
    )  # fmt: skip
    return build_ready(flags, dry_run=False)


async def _until(app, pilot, done) -> None:
    while not done(app):  # bounded by the test's timeout
        await pilot.pause(0.05)
        app.drain()


@pytest.mark.parametrize("workers", [0, 2])
async def test_a_conv_net_with_batchnorm_trains_live_after_the_parent_ran_its_thread_pool(tmp_path, workers):
    """The journey that hung: the parent's trial ran a conv step (torch's OpenMP pool started),
    then the app's trainer sat at step 0 forever in a forked child. Spawned, it trains; and a
    DataLoader with workers (the child's own children: it is not daemonic) trains too."""
    torch.set_num_threads(max(2, torch.get_num_threads()))
    torch.nn.functional.conv2d(torch.randn(64, 16, 32, 32), torch.randn(16, 16, 3, 3))  # the pool, started
    ready = _task_ready(tmp_path, workers=workers)
    app = build_app(ready)
    async with app.run_test(size=(100, 30)) as pilot:
        await _until(app, pilot, lambda a: all(r.status is RunStatus.DONE for r in a.state.runs))
        assert [r.step for r in app.state.runs] == [8, 8]
        await pilot.press("q")
    assert isinstance(app.source, ChildTrainer) and app.source.done.wait(10)


@pytest.mark.parametrize(
    ("die", "said"),
    [
        ("SIGKILL", "killed by SIGKILL"),
        ("SIGSEGV", "killed by SIGSEGV"),
        ("exit", "exited with code 3"),
    ],
)
async def test_a_child_that_dies_is_named_and_every_run_and_log_gets_a_final_status(tmp_path, die, said):
    from lrtui.record.format import decode
    from lrtui.record.writer import LogDirSink

    ready = _task_ready(tmp_path, die, epochs=3)
    log_sink = LogDirSink(str(tmp_path / "logs"), run_infos(ready.exp))
    app = build_app(ready, log_sink)
    async with app.run_test(size=(100, 30)) as pilot:
        await _until(app, pilot, lambda a: all(r.status.finished for r in a.state.runs))
        assert said in app.state.notice and app.state.overall() == "failed"
        assert {r.status for r in app.state.runs} == {RunStatus.ERROR}
        assert all(said in r.message for r in app.state.runs)
        await pilot.press("q")
    log_sink.close()
    for path in sorted((tmp_path / "logs").glob("*.jsonl")):
        last = decode(path.read_text().splitlines()[-1], 0, 0)
        assert last.status is RunStatus.ERROR and said in last.message


def test_a_trainer_silent_for_30_s_is_said_to_be_stuck():
    """The status bar's word for a silent `step 0`: seconds without a step while runs train."""
    from lrtui.spec.events import StatusEvent
    from lrtui.state.runs import ExperimentState
    from lrtui.ui.widgets.statusbar import status_line

    now = [0.0]
    state = ExperimentState(run_infos(build_experiment(Settings(preset="seed"))), clock=lambda: now[0])
    state.apply([StatusEvent(i, 0, RunStatus.RUNNING) for i in range(6)])
    texts = []
    for t, viewing in ((29.0, False), (31.0, False), (31.0, True)):
        now[0] = t
        texts.append(status_line(state, "cpu", viewing=viewing).plain)
    assert "no step" not in texts[0]
    assert "no step for 31 s — still in batches()/loss()?" in texts[1]
    assert "no step" not in texts[2]  # a viewer's logs may rest: not a stuck trainer
    state.apply([StatusEvent(i, 0, RunStatus.PAUSED) for i in range(6)])
    assert state.stalled() == 0.0  # paused runs are not stuck
