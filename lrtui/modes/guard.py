"""The app's run with a deadline after a hang-up (no torch: `lrtui watch` uses it too)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from lrtui.ui.app import LrTuiApp

HANGUP_GRACE_SECONDS = 5.0  # after a hang-up, how long the app may take to return by itself
FINAL_EVENTS_SECONDS = 5.0  # after quitting, how long the trainer may take to write its last events


def run_guarded(
    app: LrTuiApp, close: Callable[[], None] | None = None, final_seconds: float = FINAL_EVENTS_SECONDS
) -> None:
    """`app.run()`, with a deadline after a hang-up: with its terminal gone, Textual's shutdown
    can block for ever on writing to it (seen: `lrtui watch` left running after its tmux pane
    closed, one try in three). Past the deadline the source's last events are awaited, `close`
    runs (the logs get every run's final status) and the process exits: nobody is looking."""
    returned = threading.Event()

    def guard() -> None:
        while not app.hung_up.wait(0.5):  # ends with the app, hung up or not (no thread kept)
            if returned.is_set():
                return
        if returned.wait(HANGUP_GRACE_SECONDS):
            return
        done = getattr(app.source, "done", None)
        if done is not None:
            done.wait(final_seconds)
        if close is not None:
            close()
        os._exit(0)

    threading.Thread(target=guard, name="lrtui-hangup", daemon=True).start()
    try:
        app.run()
    finally:
        returned.set()
