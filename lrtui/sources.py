"""Where the app's events come from, seen from the app: something it can run and steer.

The live trainer is one source; a fixed list of events (for tests and snapshots) is another;
watched files are a third. The app imports none of torch through this protocol.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from lrtui.events import Event

Sink = Callable[[list[Event]], None]


class Source(Protocol):
    def run(self) -> None:
        """Produce events into the sink until finished or stopped (runs in a worker thread)."""

    def toggle_pause(self, run: int | None = None) -> None: ...

    def restart(self, run: int | None = None) -> None: ...

    def stop(self) -> None: ...


SourceFactory = Callable[[Sink], Source]


class ReplaySource:
    """Hands over a fixed list of events in one batch and records the commands it is given."""

    def __init__(self, events: Sequence[Event], sink: Sink) -> None:
        self._events = list(events)
        self._sink = sink
        self.commands: list[tuple[str, int | None]] = []
        self._stopped = threading.Event()

    def run(self) -> None:
        if self._events:
            self._sink(self._events)

    def toggle_pause(self, run: int | None = None) -> None:
        self.commands.append(("toggle", run))

    def restart(self, run: int | None = None) -> None:
        self.commands.append(("restart", run))

    def stop(self) -> None:
        self._stopped.set()
