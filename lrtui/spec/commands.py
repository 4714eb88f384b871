"""The command vocabulary: what a user asks of a source of events, and the one toggle rule.

Commands flow the other way from events: the UI sends them, a source (the trainer, a file
watcher) applies them, and the UI's state shows the expected outcome at once. All three
decide a toggle with `toggle_verb`, so a key never means pause in one place and resume in
another.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol


class Verb(str, Enum):
    PAUSE = "pause"
    RESUME = "resume"
    TOGGLE = "toggle"
    RESTART = "restart"
    STOP = "stop"
    ADD = "add"  # a new run, `text` its spec as `--scheduler` takes one (the app's `N`)


@dataclass(frozen=True, slots=True)
class Command:
    """`verb` for run `run`, or for every run when `run` is None; for `ADD`, the new run's
    spec as text (data: parsed by whoever trains it, never evaluated)."""

    verb: Verb
    run: int | None = None
    text: str = ""


def toggle_verb(running: Iterable[bool]) -> Verb:
    """What a toggle means for a set of runs: if any of them is running, the running ones
    pause; otherwise the paused ones resume. Finished runs count as not running."""
    return Verb.PAUSE if any(running) else Verb.RESUME


class Source(Protocol):
    """Anything that produces events for the app: run it in a worker thread, steer it from any."""

    def run(self) -> None:
        """Produce events into the sink until finished or stopped."""

    def send(self, command: Command) -> None:
        """Queue a command; the source applies it between steps (thread-safe)."""


class Steerable:
    """Spelled-out commands for a class that implements `send` (for code and tests that steer
    a source directly)."""

    def send(self, command: Command) -> None:  # pragma: no cover - implemented by subclasses
        raise NotImplementedError

    def pause(self, run: int | None = None) -> None:
        self.send(Command(Verb.PAUSE, run))

    def resume(self, run: int | None = None) -> None:
        self.send(Command(Verb.RESUME, run))

    def toggle_pause(self, run: int | None = None) -> None:
        self.send(Command(Verb.TOGGLE, run))

    def restart(self, run: int | None = None) -> None:
        self.send(Command(Verb.RESTART, run))

    def stop(self) -> None:
        self.send(Command(Verb.STOP))


STALL_SECONDS = 30.0  # a trainer this long without a step is said to be stuck (live and headless)
