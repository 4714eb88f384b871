"""The control socket behind `lrtui attach`: only its owner gets in, and an attached app sees
every step once, from the files up to its greeting and live after it."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lrtui.engine import checkpoint, checkpoint_files
from lrtui.engine.control import REFUSED, SOCKET, AttachedSource, ControlServer
from lrtui.modes.attach import ControlledLog
from lrtui.record import continued
from lrtui.record.writer import LogDirSink
from lrtui.spec.commands import Command, Verb
from lrtui.spec.describe import run_infos
from lrtui.spec.errors import SpecError
from lrtui.spec.events import RunStatus, StatusEvent, StepBlock, StepEvent
from lrtui.spec.experiment import Call, ExperimentSpec, RunSpec


def _exp() -> ExperimentSpec:
    return ExperimentSpec(runs=(RunSpec(Call("StepLR", (("step_size", 1),)), "epoch", "StepLR"),), epochs=1)


def _steps(first: int, last: int) -> list:
    return [StepBlock.of(StepEvent(0, 0, k, 1, (0.1,), 1.0 / k, 0.0)) for k in range(first, last + 1)]


def _until(test, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.01)


def test_the_socket_is_its_owners_alone(tmp_path: Path):
    server = ControlServer(tmp_path, lambda: {})
    try:
        mode = (tmp_path / SOCKET).stat().st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    finally:
        server.close()
    assert not (tmp_path / SOCKET).exists()


def test_a_peer_of_another_user_is_refused_with_one_line(tmp_path: Path):
    server = ControlServer(tmp_path, lambda: {}, owner=os.getuid() + 1)  # as if another user's
    try:
        with pytest.raises(SpecError, match=REFUSED):
            AttachedSource(tmp_path)
    finally:
        server.close()


def test_nothing_to_attach_to_and_a_dead_server_say_so(tmp_path: Path):
    with pytest.raises(SpecError, match="nothing trains there now"):
        AttachedSource(tmp_path)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(tmp_path / SOCKET))  # a socket file whose server was killed
    stale.close()
    with pytest.raises(SpecError, match="its training process has gone"):
        AttachedSource(tmp_path)
    ControlServer(tmp_path, lambda: {}).close()  # a new server replaces the stale file


def test_an_app_attached_twice_sees_every_step_once_and_steers(tmp_path: Path):
    log = ControlledLog(LogDirSink(tmp_path, run_infos(_exp())), _exp(), "test", None)
    heard: list[Command] = []

    class Trainer:
        def send(self, command: Command) -> None:
            heard.append(command)

    log.server.steer(Trainer())  # type: ignore[arg-type]
    try:
        log(_steps(1, 40))
        for cycle in range(2):
            source = AttachedSource(tmp_path)
            hello = source.hello
            past = continued.history(tmp_path / hello["files"][0], 0, upto=hello["offsets"][0])
            live: list = []
            source.attach(live.extend)
            reader = threading.Thread(target=source.run)
            reader.start()
            first = 41 + 30 * cycle
            log(_steps(first, first + 29))
            _until(lambda live=live: sum(len(e) for e in live if isinstance(e, StepBlock)) == 30)
            seen = [s.step for e in past + live if isinstance(e, StepBlock) for s in e.steps()]
            assert seen == list(range(1, first + 30))  # from the files, then live: each step once
            source.send(Command(Verb.PAUSE))
            _until(lambda n=cycle + 1: len(heard) == n)
            source.detach()
            reader.join(5)
            assert not reader.is_alive()
    finally:
        log.close()
    assert [c.verb for c in heard] == [Verb.PAUSE, Verb.PAUSE]


def test_resume_is_refused_while_the_comparison_still_trains(tmp_path: Path):
    from lrtui.modes.resume import resume

    server = ControlServer(tmp_path, lambda: {})
    try:
        with pytest.raises(SpecError, match="it is still training: attach with lrtui attach"):
            resume(str(tmp_path))
    finally:
        server.close()


@pytest.mark.parametrize("linger", [True, False])
def test_a_lingering_trainer_stops_once_every_run_ended_and_no_app_is_attached(tmp_path: Path, linger: bool):
    """The trainer of a live app started in the background (`--for-app`) lingers after every
    run has ended while an app is attached (`r` may restart one), and is told to stop as the
    last app leaves; a plain headless one is never told anything (it ends by itself)."""
    log = ControlledLog(LogDirSink(tmp_path, run_infos(_exp())), _exp(), "test", None, linger=linger)
    heard: list[Command] = []

    class Trainer:
        def send(self, command: Command) -> None:
            heard.append(command)

    log.steer(Trainer())  # type: ignore[arg-type]
    try:
        source = AttachedSource(tmp_path)
        source.attach(lambda _: None)
        reader = threading.Thread(target=source.run)
        reader.start()
        log(_steps(1, 5))
        log([StatusEvent(0, 0, RunStatus.DONE, "", 5)])  # every run has ended, an app is attached
        assert heard == []
        source.detach()
        reader.join(5)
        if linger:
            _until(lambda: [c.verb for c in heard] == [Verb.STOP])
        else:
            _until(lambda: log.server.attached() == 0)
            assert heard == []
    finally:
        log.close()


TRAINS_THEN_DIES = """
import sys
from pathlib import Path

from lrtui.engine.control import ControlServer
from lrtui.spec.events import RunStatus, StatusEvent, StepBlock, StepEvent

server = ControlServer(Path(sys.argv[1]), lambda: {"files": [], "offsets": []})
print("listening", flush=True)
sys.stdin.readline()  # the app is attached
server.publish([StepBlock.of(StepEvent(run, 0, 7, 1, (0.1,), 0.5, 0.0)) for run in (0, 1)])
server.publish([StatusEvent(0, 0, RunStatus.DONE, "", 7)])
print("published", flush=True)
sys.stdin.readline()  # killed here, without a word
"""


@pytest.mark.parametrize("checkpointed", [True, False])
def test_an_app_whose_training_process_is_killed_ends_its_unfinished_runs_saying_how_to_go_on(
    tmp_path: Path, checkpointed: bool
):
    """Killed, a comparison goes on with `lrtui resume` from its last checkpoint; killed before
    its first, there is nothing to resume, and the app says so rather than point at resume."""
    if checkpointed:
        checkpoint.write(tmp_path / checkpoint_files.FOLDER, 5, {"runs": []})
    proc = subprocess.Popen(
        [sys.executable, "-c", TRAINS_THEN_DIES, str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout.readline() == "listening\n"
        source = AttachedSource(tmp_path)
        got: list = []
        source.attach(got.extend, [])
        reader = threading.Thread(target=source.run)
        reader.start()
        proc.stdin.write("attached\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == "published\n"
        _until(lambda: any(isinstance(e, StatusEvent) for e in got))
        proc.send_signal(signal.SIGKILL)
        reader.join(10)
        assert not reader.is_alive()
    finally:
        proc.kill()
        proc.wait()
    assert source.gone and not source.ended
    ends = [e for e in got if isinstance(e, StatusEvent)]
    assert [(e.run, e.status) for e in ends] == [(0, RunStatus.DONE), (1, RunStatus.ERROR)]
    assert ends[-1].step == 7
    if checkpointed:
        assert (
            ends[-1].message == f"the training process has gone: lrtui resume {tmp_path} goes on from there"
        )
    else:
        assert (
            ends[-1].message == "the training process has gone before its first checkpoint: nothing to resume"
        )


class _Over:
    """An attached app's source whose training process is no more: nothing to stop or leave."""

    def __init__(self, gone: bool) -> None:
        self.ended, self.gone, self.stopped, self.detached = not gone, gone, False, False
        self.sent: list[Command] = []

    def run(self) -> None:
        pass

    def send(self, command: Command) -> None:  # as `AttachedSource`: nothing once detached
        if not self.detached:
            self.sent.append(command)

    def detach(self) -> None:
        self.detached = True


@pytest.mark.parametrize("gone", [True, False])
async def test_q_in_an_app_whose_training_is_over_quits_without_asking(gone: bool):
    from lrtui.ui.attached import AttachedApp, StopOrDetach

    source = _Over(gone)
    app = AttachedApp(run_infos(_exp()), lambda sink: source, source_label="attached · test")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, StopOrDetach)
    assert app.return_code == 0
    assert source.sent == []  # nothing told to a process that is not there


def test_the_attached_apps_modules_do_not_import_torch():
    """An attached app (`lrtui attach`, the terminal of a `--log-dir` comparison, `lrtui
    resume`'s check) trains nothing: looking for checkpoints must not import torch, seconds of
    a cold start before its first screen (`engine.checkpoint_files`)."""
    code = "import sys, lrtui.modes.attach, lrtui.commands.resume; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr


async def test_q_once_every_run_has_finished_quits_without_asking():
    """The trainer of a finished comparison only waits for attached apps: `q` has no training
    to stop or to leave going (a new user was asked "stop training, or only detach?", then
    told "training goes on" where nothing did)."""
    from lrtui.ui.attached import AttachedApp, StopOrDetach

    source = _Over(gone=False)
    source.ended = False  # the trainer is there, waiting
    sinks = []
    infos = run_infos(_exp())
    app = AttachedApp(infos, lambda sink: sinks.append(sink) or source, source_label="attached · test")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        sinks[0]([StatusEvent(run, 0, RunStatus.DONE) for run in range(len(infos))])
        deadline = time.monotonic() + 10
        while not app.all_finished and time.monotonic() < deadline:  # the batch reaches the app
            await pilot.pause(0.05)
            app.drain()
        assert app.all_finished
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, StopOrDetach)
    assert app.return_code == 0 and source.sent == [] and source.detached
