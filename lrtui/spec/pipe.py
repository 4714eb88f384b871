"""The rules for the standard streams: a closed standard output (`lrtui plan --csv - | head`)
means the reader has all it wanted, so lrtui ends quietly, as a success; and an app needs a
terminal on both standard input and output."""

from __future__ import annotations

import os
import sys


def reader_gone() -> None:
    """Call on BrokenPipeError from standard output: point it at /dev/null, so that nothing
    written later, Python's own flush at exit included, raises the error again (Python would
    print "Exception ignored ... BrokenPipeError" and exit 120)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


WEB_DRIVER = "textual.drivers.web_driver:WebDriver"  # what textual-serve sets TEXTUAL_DRIVER to


def on_a_terminal() -> bool:
    """Whether an app can take the screen and the keys (it would otherwise draw escape codes
    into a file, a pipe or a notebook, and wait for keys that never come). An app that
    textual-serve runs for a browser (`lrtui serve`) has pipes, not a terminal, and a driver
    that speaks textual-serve's protocol over them: it can."""
    return (sys.stdin.isatty() and sys.stdout.isatty()) or os.environ.get("TEXTUAL_DRIVER") == WEB_DRIVER
