"""The signals the app answers: SIGTERM and SIGHUP end it as `q` does (the source stops, its
last events are written, the terminal is restored). A hang-up is also told (`hung_up`): with
the terminal gone, Textual's own shutdown can block on writing to it (`modes.guard`)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable


def listen_for_signals(
    loop: asyncio.AbstractEventLoop,
    quit_: Callable[[], object],
    call_next: Callable[[Callable[[], object]], object],
    hung_up: threading.Event,
) -> None:
    def hang_up() -> None:
        hung_up.set()
        call_next(quit_)

    handlers = {signal.SIGTERM: lambda: call_next(quit_), signal.SIGHUP: hang_up}
    for sig, handler in handlers.items():
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, handler)
