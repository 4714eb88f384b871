"""The `lrtui` command's way in: the first word picks a subcommand from one table, anything
else is the comparison's own flags; and the console script's exit.

User errors end as one `lrtui: error: ...` line and exit code 2, before any training starts.
Nothing here imports torch or textual at import time: `lrtui --help`, `lrtui watch` and
`lrtui export` start at once, and run where torch is not installed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Sequence

from lrtui.commands.attach import attach
from lrtui.commands.compare import compare
from lrtui.commands.find import find
from lrtui.commands.forecast import forecast
from lrtui.commands.logs import export, watch
from lrtui.commands.plan import plan
from lrtui.commands.resume import resume
from lrtui.commands.serve import serve

Command = Callable[[list[str]], int]  # the arguments after the subcommand's name -> exit code
SUBCOMMANDS: dict[str, Command] = {
    "watch": watch, "export": export, "plan": plan, "find": find, "forecast": forecast,
    "resume": resume, "attach": attach, "serve": serve,
}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        return SUBCOMMANDS[argv[0]](argv[1:])
    return compare(argv)


def main_exit() -> None:
    """Console-script entry point: exit with `main`'s code; Ctrl-C before the app or the table
    has the terminal (while torch loads, say) ends quietly with 130."""
    try:
        code = main()
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        code = 130
    _leave(code)


LINGER_SECONDS = 2.0  # after the work is done, how long a library's thread may take to end
# lrtui's own daemon threads that compute in native code with the GIL released: one of them in
# such a call when Python finalizes is ended by a forced unwind that a C++ frame turns into
# "terminate called without an active exception" and an abort (exit 134); seen on `q` in an
# attached app while a forecast refitted, 3 times in 16 in a scratch reproduction
COMPUTING = ("lrtui-forecast", "lrtui-trainer")


def _leave(code: int) -> None:
    """Exit with `code`, even when a library's thread will not end: a terminal that hangs up
    while the app is closing leaves Textual's input thread reading EOF forever, and Python
    would wait on it at exit (seen: a process orphaned at 50% CPU); and without finalizing
    while one of lrtui's computing threads (`COMPUTING`) is still at work. Everything of
    lrtui's own (logs, the trainer) has been closed by now."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join(LINGER_SECONDS)
            if thread.is_alive():
                _now(code)
    if any(t.name in COMPUTING and t.is_alive() for t in threading.enumerate()):
        _now(code)
    sys.exit(code)


def _now(code: int) -> None:
    """Exit at once, the standard streams flushed, Python not finalized."""
    with contextlib.suppress(OSError, ValueError):  # the terminal may be gone
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)
