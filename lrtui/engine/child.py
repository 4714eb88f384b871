"""Training in a process of its own, for the live app on the CPU.

In one interpreter the trainer and the UI take turns with one lock: every key the UI handles
is time the trainer waits, and every step the trainer takes is time a key waits. A trainer in a
process of its own has an interpreter to itself. The app's shape stays: its worker thread reads
the child's event batches from a pipe and hands them to the app's queue as a trainer in a
thread would, and commands go down another pipe.

Why spawned, not forked: by the time the app starts, the parent has run a real training step
(the task's trial, which picks the engine and finds the user's errors before the UI takes the
terminal). That step starts torch's OpenMP thread pool, and GNU OpenMP does not survive a
fork: a forked child's first parallel op (any conv, any large matmul) waits forever on pool
threads that were never copied. A spawned child is a fresh interpreter with a pool of its own,
so it trains on all cores. What crosses over is data: the experiment (a spec) and the recipe
that loads the task again by its name (`TrainerRecipe`), never the parent's objects. A task
given as Python objects (`lrtui.compare`) cannot be loaded again by name: it trains in a
thread of the app's process (`trains_apart`).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import shutil
import signal
import sysconfig
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from lrtui.spec.commands import Command, Steerable, Verb
from lrtui.spec.errors import SpecError
from lrtui.spec.events import Event, Fatal, Notice, RunStatus, Sink, StatusEvent, StepBlock
from lrtui.spec.experiment import ExperimentSpec
from lrtui.spec.text import clean

if TYPE_CHECKING:  # torch comes with it: the child imports it when it builds the trainer
    from lrtui.engine.checkpoint import CheckpointPolicy

JOIN_SECONDS = 5.0  # after the last events, how long the child may take to exit
STOP_SECONDS = 3.0  # after STOP, how long the child may take to stop before it is killed
STOPPED_STUCK = f"stopped (the task's code did not return within {STOP_SECONDS:.0f} s)"
STDERR_TAIL_CHARS = 4000  # of a dead child's standard error, how much is read for its last line
_NOT_USERS = tuple(
    str(Path(p).resolve()) for p in {*sysconfig.get_paths().values(), str(Path(__file__).parents[1])}
)  # the standard library, site-packages and lrtui itself: the user's code is anywhere else


def trains_apart(device: str, loadable: bool) -> bool:
    """Whether the live app's trainer gets a process of its own: on the CPU, where the UI and
    the trainer would share one interpreter's lock, and only for a task the child can load
    again by name. On CUDA the trainer mostly waits on the device: a thread serves."""
    return device == "cpu" and loadable


@dataclass(frozen=True)
class TrainerRecipe:
    """What the child needs to build the trainer: plain data, pickled across the spawn.
    `checked`: torch's own checks of the runs were done where the comparison was prepared."""

    exp: ExperimentSpec
    checked: bool = True
    plans: bool = True
    linger: bool = True
    flush_interval: float = 0.1
    checkpoints: CheckpointPolicy | None = None

    def __call__(self, sink: Sink) -> object:
        from lrtui.engine.resumable import make_trainer
        from lrtui.schedule.build import check_runs

        if not self.checked:
            check_runs(self.exp)  # a refusal is a SpecError: the app ends with one line
        exp = self.exp
        return make_trainer(
            exp, sink, plans=self.plans,  # the trainer's own default loads the task by its name
            linger=self.linger, flush_interval=self.flush_interval, checkpoints=self.checkpoints,
        )  # fmt: skip


class FinalStatuses:
    """Each run's newest generation, step and whether it finished, read from the events that
    pass by: when the child dies, every unfinished run gets a final status from the app's side."""

    def __init__(self) -> None:
        self.runs: dict[int, tuple[int, int, bool]] = {}  # run -> (gen, step, finished)
        self.paused: set[int] = set()

    def see(self, events: Iterable[Event]) -> None:
        for ev in events:
            if isinstance(ev, StatusEvent):
                self.runs[ev.run] = (ev.gen, ev.step, ev.status.finished)
                (self.paused.add if ev.status is RunStatus.PAUSED else self.paused.discard)(ev.run)
            elif isinstance(ev, StepBlock) and len(ev):
                gen, _, finished = self.runs.get(ev.run, (ev.gen, 0, False))
                if ev.gen >= gen:
                    self.runs[ev.run] = (ev.gen, ev.step_numbers()[-1], finished and ev.gen == gen)

    def idle(self) -> bool:
        """Whether every run is known and none should be stepping (each finished or paused): a
        silent trainer is then waiting for a command (an attached app's), not stuck."""
        return bool(self.runs) and all(done or run in self.paused for run, (_, _, done) in self.runs.items())

    def failed(self, why: str, status: RunStatus = RunStatus.ERROR) -> list[Event]:
        return [
            StatusEvent(run, gen, status, why, step)
            for run, (gen, step, finished) in sorted(self.runs.items())
            if not finished
        ]


def how_it_ended(exitcode: int | None, stderr: Path | None = None) -> str:
    """A dead process's exit in words: its code, or the signal that killed it, and the last
    line it wrote to its standard error (`stderr`, a file), which is usually the reason: an
    error in the spawn's own start-up, before the child could say anything over the pipe."""
    if exitcode is None:
        said = "the training process stopped answering"
    elif exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        said = f"the training process was killed by {name}"
    else:
        said = f"the training process exited with code {exitcode}"
    last = last_line(stderr) if stderr is not None else ""
    return f"{said}: {last}" if last else said


def last_line(path: Path) -> str:
    """The last non-blank line of a file's tail, cleaned for the terminal ('' if none)."""
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - STDERR_TAIL_CHARS))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    said = [line.strip() for line in lines if line.strip()]
    return clean(said[-1], 300) if said else ""


def where_in_users_code(exc: BaseException) -> str:
    """' (file:line)' of the innermost frame of the user's own code (the task file) in an
    error's traceback, or '': the place to look is theirs, not lrtui's or a library's."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        name = frame.filename
        if not name.startswith("<") and not str(Path(name).resolve()).startswith(_NOT_USERS):
            return f" ({name}:{frame.lineno})"
    return ""


class ChildTrainer(Steerable):
    """A trainer in a spawned process, steered as one in a thread: `run` (on the app's worker
    thread) hands each event batch to the sink `attach` gave; `send` passes commands on.
    `make_trainer` is pickled into the child: a `TrainerRecipe`, or any module-level callable."""

    adds_runs = True  # `Verb.ADD` goes on to the child's trainer as every command does

    def __init__(self, make_trainer: Callable[[Sink], object]) -> None:
        ctx = mp.get_context("spawn")
        # the child's standard error, where an error before it can use the pipe is written
        self._folder = Path(tempfile.mkdtemp(prefix="lrtui-trainer-"))
        self._stderr = self._folder / "stderr.txt"
        self._events, events_end = ctx.Pipe(duplex=False)
        commands_end, self._commands = ctx.Pipe(duplex=False)
        # not daemonic: the user's DataLoader workers are the child's own children; the child
        # still ends with the app (the pipe closes, or it is killed after STOP_SECONDS)
        self._process = ctx.Process(target=_child, args=(make_trainer, events_end, commands_end))
        with _stderr_into(self._stderr):  # inherited: an error in the spawn's own start-up lands there
            self._process.start()
        events_end.close()  # the child holds the only copies of its ends: EOF reaches each side
        commands_end.close()
        self._sink: Sink = lambda _: None
        self._finals = FinalStatuses()
        self.done = threading.Event()  # set once the child's last events are handed over
        self.train_seconds = 0.0
        self.stopped = False

    def attach(self, sink: Sink) -> ChildTrainer:
        """The source factory's answer: events from now on go to `sink`."""
        self._sink = sink
        return self

    def run(self) -> None:
        why = ""
        try:
            why = self._relay()
        finally:
            self._process.join(JOIN_SECONDS)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(JOIN_SECONDS)
            status = RunStatus.ERROR
            if why is None and self.stopped:  # quit while the task's code held on: stopped
                why, status = (
                    f"stopped (the task's code did not return within {STOP_SECONDS:.0f} s)",
                    RunStatus.STOPPED,
                )
            elif why is None:  # the pipe closed without a last word: the process died
                why = how_it_ended(self._process.exitcode, self._stderr)
            shutil.rmtree(self._folder, ignore_errors=True)
            if why:  # every unfinished run gets a final status, in the panels and the logs
                self._sink([*self._finals.failed(why, status), Notice(why)])
            self.done.set()

    def _relay(self) -> str | None:
        """Batches to the sink until the child's last word: '' when it ended as it should,
        a reason when training failed, None when the pipe closed without a word."""
        while True:
            try:
                kind, payload = self._events.recv()
            except (EOFError, OSError):
                return None
            if kind == "events":
                self._finals.see(payload)
                self._sink(payload)
                continue
            if kind == "spec":
                self._sink([Fatal(payload)])
                return ""
            if kind == "error":
                return f"training failed: {payload}"
            self.train_seconds = payload
            return ""

    def send(self, command: Command) -> None:
        if command.verb is Verb.STOP and not self.stopped:
            self.stopped = True
            # a child stuck in the user's code (a `batches` that never returns) must not keep
            # the app from exiting: killed, its pipe closes and `run` ends
            deadline = threading.Timer(STOP_SECONDS, self._kill)
            deadline.daemon = True
            deadline.start()
        with contextlib.suppress(OSError, ValueError):  # the child has gone: nothing to steer
            self._commands.send(command)

    def _kill(self) -> None:
        if self._process.is_alive():
            self._process.kill()


@contextlib.contextmanager
def _stderr_into(path: Path) -> Iterator[None]:
    """This process's standard error (descriptor 2) into `path` while a child is started: the
    child inherits it from its first instruction on, before any of lrtui's code runs in it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    saved = os.dup(2)
    os.dup2(fd, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)


def _child(make_trainer: Callable[[Sink], object], events: Connection, commands: Connection) -> None:
    """The child: quiet (the app owns the terminal: its standard error is a file the app reads
    should it die without a word), deaf to the terminal's signals (the app quits it, with every
    run's last status), stopping when the app's end of the pipe closes."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)

    def sink(batch: list[Event]) -> None:
        with contextlib.suppress(OSError):
            events.send(("events", batch))

    try:
        trainer = make_trainer(sink)  # may check the runs first: a SpecError ends the app
        threading.Thread(target=_steer, args=(trainer, commands), daemon=True).start()
        trainer.run()  # type: ignore[attr-defined]
        reply = ("end", trainer.train_seconds)  # type: ignore[attr-defined]
    except SpecError as exc:
        reply = ("spec", str(exc))
    except BaseException as exc:  # told to the app in one line, whatever it was
        from lrtui.schedule.build import describe_error

        reply = (
            "error",
            clean(describe_error(exc) + where_in_users_code(exc), 300),
        )  # the task's text never steers the terminal
    with contextlib.suppress(OSError):
        events.send(reply)
    os._exit(0)


def _steer(trainer: object, commands: Connection) -> None:
    while True:
        try:
            command = commands.recv()
        except (EOFError, OSError):  # the app has gone: stop
            trainer.send(Command(Verb.STOP))  # type: ignore[attr-defined]
            return
        trainer.send(command)  # type: ignore[attr-defined]
