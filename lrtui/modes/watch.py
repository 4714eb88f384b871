"""Watching logs: the app with a folder of events files as its source instead of a trainer.
No torch: the app and the readers need none."""

from __future__ import annotations

from lrtui.modes.guard import run_guarded
from lrtui.record.watch import WatchSource
from lrtui.spec.events import Sink
from lrtui.spec.text import clean
from lrtui.ui.app import WatchApp
from lrtui.ui.exitcode import exit_code


def run_watch(path: str, poll: float, lr_tag: str | None, loss_tag: str | None, debug: bool = False) -> int:
    """The viewer until quit; its exit code."""

    def source(sink: Sink) -> WatchSource:
        return WatchSource(path, sink, poll=poll, lr_tag=lr_tag, loss_tag=loss_tag)

    app = WatchApp([], source, source_label=f"watching {clean(path, 120)}", show_tracebacks=debug)
    run_guarded(app)
    return exit_code(app)
