"""The app's run with a deadline once its terminal is gone (no torch: `lrtui watch` uses it too).

Why a deadline is needed: with the terminal gone, a write to it fails (EIO), which ends
Textual's writer thread; the app's next 30 writes fill that thread's queue and the 31st blocks
the event loop for good, in the middle of a frame or in `LinuxDriver.close`. A blocked loop
never runs the SIGHUP or SIGTERM handlers it registered, so the app could neither quit nor be
told to. The guard therefore asks the kernel, not the loop: a thread of its own polls the
terminal's file descriptors, and a hang-up shows as POLLHUP there, whether or not SIGHUP ever
arrived (a `setsid` launch, a signal lost while the loop was stuck) or was handled.

The same deadline serves an app that failed: Textual records an unhandled error and starts to
close, but its shutdown can then wait on a part of the app that never finishes closing (an
unmount handler, a removal), with the loop idle, the terminal still in the app's modes and the
trainer running on. Past the grace the guard ends it as a hang-up is ended, then restores the
terminal itself and says the error in one line (exit code 1).
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
import threading
import traceback
from collections.abc import Callable

from lrtui.ui.app import LrTuiApp
from lrtui.ui.exitcode import exit_code

HANGUP_GRACE_SECONDS = 5.0  # after a hang-up or a failure, how long the app may take to return by itself
FINAL_EVENTS_SECONDS = 5.0  # after quitting, how long the trainer may take to write its last events
LOOK_SECONDS = 0.5  # how often the guard looks at the terminal
_HUNG_UP = select.POLLHUP | select.POLLERR | select.POLLNVAL
# what Textual's driver turns on, turned off: mouse reports, bracketed paste, focus events, the
# keyboard protocol, the alternate screen; and the cursor shown again
_LEAVE_APP_MODES = (
    b"\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l\x1b[?2004l\x1b[?1004l\x1b[<u\x1b[?1049l\x1b[?25h"
)


class TerminalWatch:
    """The terminal the app draws on, as the file descriptors that were terminals when it
    started (after a hang-up `isatty` says no: they are remembered, not asked again)."""

    def __init__(self, fds: tuple[int, ...] = (0, 1, 2)) -> None:
        self.fds = tuple(fd for fd in fds if _is_tty(fd))

    def gone(self) -> bool:
        """Whether the terminal hung up: POLLHUP (or an error) on any of its descriptors."""
        if not self.fds:
            return False
        poller = select.poll()
        for fd in self.fds:
            poller.register(fd, 0)  # no events asked: a hang-up and errors are always told
        return any(events & _HUNG_UP for _, events in poller.poll(0))


def _is_tty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def run_guarded(
    app: LrTuiApp,
    close: Callable[[], None] | None = None,
    final_seconds: float = FINAL_EVENTS_SECONDS,
    terminal: TerminalWatch | None = None,
) -> None:
    """`app.run()`, with a deadline once the terminal is gone (a SIGHUP the app heard, or a
    hang-up seen on the terminal itself). Past the grace the app had to return by itself, its
    sources are told to stop, their last events are awaited, `close` runs (the logs get every
    run's final status) and the process exits: nobody is looking."""
    returned = threading.Event()
    watch = terminal or TerminalWatch()

    def guard() -> None:
        while not (app.hung_up.wait(LOOK_SECONDS) or watch.gone() or _failure(app) is not None):
            if returned.is_set():  # ends with the app
                return
        if returned.wait(HANGUP_GRACE_SECONDS):
            return
        app.stop_source()  # the loop may never have run its own quit: stopped from here
        done = getattr(app.source, "done", None)
        if done is not None:
            done.wait(final_seconds)
        if close is not None:
            close()
        failed = _failure(app) is not None and not watch.gone()
        if failed:  # somebody is looking: the terminal back as it was, and the error said
            restore_terminal(app, watch)
            say_failure(app)
        os._exit(1 if failed else 0)

    threading.Thread(target=guard, name="lrtui-hangup", daemon=True).start()
    try:
        app.run()
    finally:
        returned.set()


def restore_terminal(app: LrTuiApp, watch: TerminalWatch) -> None:
    """The terminal as Textual found it, written straight to its descriptor: the app's writer
    thread may be the one that is stuck. Its line settings come back from the driver's copy."""
    driver = app._driver  # Textual's own: no public way to the settings it saved
    with contextlib.suppress(OSError):
        for fd in watch.fds[1:2] or watch.fds[:1]:
            os.write(fd, _LEAVE_APP_MODES)
        attrs, fileno = getattr(driver, "attrs_before", None), getattr(driver, "fileno", None)
        if attrs is not None and fileno is not None:
            termios.tcsetattr(fileno, termios.TCSANOW, attrs)


def say_failure(app: LrTuiApp) -> None:
    """The error in one line, as an app that returned says it (its traceback first with
    `--debug`)."""
    failure = _failure(app)
    with contextlib.suppress(OSError, ValueError):
        if getattr(app, "show_tracebacks", False) and failure is not None:
            sys.stderr.write("".join(traceback.format_exception(failure)))
        exit_code(app)
        sys.stderr.flush()


def _failure(app: LrTuiApp) -> BaseException | None:
    """The error that ended the app, if one did (None for an app that keeps none)."""
    return getattr(app, "failure", None)
