"""Training in a process of its own, for the live app on the CPU.

In one interpreter the trainer and the UI take turns with one lock: every key the UI handles
is time the trainer waits, and every step the trainer takes is time a key waits. A trainer
forked off before the app starts has an interpreter to itself. The app's shape stays: its
worker thread reads the child's event batches from a pipe and hands them to the app's queue
as a trainer in a thread would, and commands go down another pipe. Nothing is pickled but
events and commands (the child inherits the ready experiment, its own task included).

Forking is the one way a user's task object (a DataLoader, a model in memory) can cross over
without being pickled; it is used on Linux and the CPU only (a process that has touched CUDA
must not fork), and before the app's own threads exist.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection

from lrtui.spec.commands import Command, Steerable, Verb
from lrtui.spec.errors import SpecError
from lrtui.spec.events import Event, Fatal, Notice, Sink

JOIN_SECONDS = 5.0  # after the last events, how long the child may take to exit
STOP_SECONDS = 10.0  # after STOP, how long the child may take to stop before it is killed


def can_fork(device: str) -> bool:
    return sys.platform.startswith("linux") and device == "cpu"


class ChildTrainer(Steerable):
    """A trainer in a forked process, steered as one in a thread: `run` (on the app's worker
    thread) hands each event batch to the sink `attach` gave; `send` passes commands on."""

    def __init__(self, make_trainer: Callable[[Sink], object]) -> None:
        ctx = mp.get_context("fork")
        self._events, events_end = ctx.Pipe(duplex=False)
        commands_end, self._commands = ctx.Pipe(duplex=False)
        theirs = (self._events, self._commands)  # the child closes its copies: EOF must reach it
        self._process = ctx.Process(
            target=_child, args=(make_trainer, events_end, commands_end, theirs), daemon=True
        )
        self._process.start()
        events_end.close()
        commands_end.close()
        self._sink: Sink = lambda _: None
        self.done = threading.Event()  # set once the child's last events are handed over
        self.train_seconds = 0.0
        self.stopped = False

    def attach(self, sink: Sink) -> ChildTrainer:
        """The source factory's answer: events from now on go to `sink`."""
        self._sink = sink
        return self

    def run(self) -> None:
        try:
            while True:
                try:
                    kind, payload = self._events.recv()
                except (EOFError, OSError):
                    self._sink([Notice("training ended without a word (its process exited)")])
                    break
                if kind == "events":
                    self._sink(payload)
                    continue
                if kind == "spec":
                    self._sink([Fatal(payload)])
                elif kind == "error":
                    self._sink([Notice(f"training failed: {payload}")])
                else:
                    self.train_seconds = payload
                break
        finally:
            self.done.set()
            self._process.join(JOIN_SECONDS)
            if self._process.is_alive():
                self._process.kill()

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


def _child(
    make_trainer: Callable[[Sink], object],
    events: Connection,
    commands: Connection,
    theirs: tuple[Connection, ...],
) -> None:
    """The child: quiet (the app owns the terminal), deaf to the terminal's signals (the app
    quits it, with every run's last status), stopping when the app's end of the pipe closes
    (so it holds no copy of the app's ends)."""
    for end in theirs:
        end.close()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
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
        reply = ("error", f"{type(exc).__name__}: {exc}")
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
