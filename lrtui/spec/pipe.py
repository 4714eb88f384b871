"""The one rule for a closed standard output (`lrtui plan --csv - | head`): the reader has all
it wanted, so lrtui ends quietly, as a success."""

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
