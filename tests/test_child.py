"""The live app's trainer in a process of its own: same numbers, same keys, a clean quit."""

import threading

import pytest
from helpers import steps_of, train

from lrtui import child as child_module
from lrtui.child import ChildTrainer, can_fork
from lrtui.config import Settings, build_experiment, build_ready
from lrtui.engine.trainer import Trainer
from lrtui.live import build_app
from lrtui.spec.commands import Command, Verb
from lrtui.spec.describe import run_infos
from lrtui.spec.events import RunStatus
from lrtui.ui.app import LrTuiApp

pytestmark = pytest.mark.skipif(not can_fork("cpu"), reason="the child trainer is forked: Linux only")


def _child_app(exp, **kw) -> tuple[LrTuiApp, ChildTrainer]:
    child = ChildTrainer(lambda sink: Trainer(exp, sink, plans=True, **kw))
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
    child = ChildTrainer(lambda sink: Trainer(exp, sink, linger=True))
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
    from lrtui.config import parse_scheduler_flag
    from lrtui.schedule.build import check_runs
    from lrtui.ui.exitcode import exit_code

    flags = Settings(runs=[parse_scheduler_flag("ConstantLR(factor=2.0)")], epochs=1, batches=5)
    ready = build_ready(flags, dry_run=False)  # lrtui's own checks pass; torch's are left to the child

    def trainer(sink):
        check_runs(ready.exp)
        return Trainer(ready.exp, sink)

    child = ChildTrainer(trainer)
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
