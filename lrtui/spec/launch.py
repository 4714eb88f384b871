"""How lrtui starts itself in another process (the live app's trainer, each `lrtui serve` tab):
as the `lrtui` console script runs, this Python, and never with the working folder first on
`sys.path`. `python -m lrtui` puts it there, and run from a folder that holds a clone named
`lrtui/` (`git clone ... && lrtui ...` from its parent), that folder is imported as an empty
namespace package in place of the installed lrtui: "cannot import name '__version__'"."""

from __future__ import annotations

import shlex
import sys

BOOT = "import sys; sys.path.pop(0); from lrtui.commands.main import main_exit; main_exit()"


def self_argv(*args: str) -> list[str]:
    """The argv of `lrtui ARGS` in a new process."""
    return [sys.executable, "-c", BOOT, *args]


def self_command(*args: str) -> str:
    """The same as one shell command line."""
    return shlex.join(self_argv(*args))
