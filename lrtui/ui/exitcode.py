"""What the command returns once an app has run: its exit code, and an error as one line."""

from __future__ import annotations

import sys

from textual.app import App

from lrtui.spec.text import clean


def exit_code(app: App) -> int:
    """The app's exit code once it has run; an error that ended it becomes one line on
    standard error (the traceback only with `show_tracebacks`)."""
    failure = failure_of(app)
    if failure is not None:
        name, text = type(failure).__name__, clean(str(failure), 300)
        sys.stderr.write(f"lrtui: error: the viewer failed: {name}: {text}\n")
        return 1
    fatal = getattr(app, "fatal", "")
    if fatal:
        sys.stderr.write(f"lrtui: error: {clean(fatal, 2000)}\n")
    return 0 if app.return_code in (None, 0) else app.return_code


def failure_of(app: App) -> BaseException | None:
    """The unhandled error that ended `app`, if one did."""
    return app._exception  # Textual keeps it only here (`run_test` re-raises it): no public API
