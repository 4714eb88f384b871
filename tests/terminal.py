"""A real terminal for journey tests: lrtui in a tmux pane, driven by keys, read off the screen.

Each pane runs a shell that runs one command with a marker in its environment, then prints the
command's exit status and stays: the status, the terminal modes the command left behind (as
the shell sees them) and any process it left running (found by the marker, wherever it was
reparented) can all be checked. Every wait has a deadline and fails with the screen as it was.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXIT_SAID = "journey-exit="  # what the pane's shell prints, with the status, once the command exits
POLL_SECONDS = 0.1  # how often a wait reads the screen again (each read is a check, not a sleep)


def have_tmux() -> bool:
    return shutil.which("tmux") is not None


def lrtui_command(*argv: str) -> str:
    """`lrtui ARGS` as a shell command, with this interpreter's lrtui."""
    return shlex.join([sys.executable, "-m", "lrtui", *argv])


class Terminal:
    """One tmux session of `cols` x `rows` running one command."""

    def __init__(self, command: str, cols: int = 120, rows: int = 40, cwd: Path = ROOT) -> None:
        self.marker = f"lrtui-journey-{uuid.uuid4().hex[:12]}"
        self.name = self.marker
        env = f"LRTUI_JOURNEY={self.marker} TERM=xterm-256color COLORTERM=truecolor"
        # COLUMNS and LINES from whichever process started the tmux server (pytest's 80x24)
        # would override the pane's size: the app must measure the pane itself
        script = f'env -u COLUMNS -u LINES {env} {command}; echo "{EXIT_SAID}$?."; exec sleep 3600'
        self._tmux(
            "new-session", "-d", "-s", self.name, "-x", str(cols), "-y", str(rows), "-c", str(cwd),
            shlex.join(["bash", "--norc", "--noprofile", "-c", script]),
        )  # fmt: skip
        self.shell = int(self.display("#{pane_pid}"))

    # ---- reading -------------------------------------------------------------------------
    def _tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"tmux {args[0]}: {done.stderr.strip()}")
        return done.stdout

    def display(self, fmt: str) -> str:
        return self._tmux("display-message", "-p", "-t", self.name, fmt).strip()

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def wait_for(self, what: str | Callable[[str], bool], timeout: float = 60.0) -> str:
        """The screen once it shows `what` (text, or a test of the whole screen)."""
        test = what if callable(what) else (lambda s: what in s)
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if test(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"not on screen after {timeout:.0f} s: {what!r}\n{text}")
            time.sleep(POLL_SECONDS)

    # ---- acting --------------------------------------------------------------------------
    def press(self, *keys: str) -> None:
        for key in keys:
            self._tmux("send-keys", "-t", self.name, key)

    @property
    def pid(self) -> int:
        """The command's own process (the shell's child: `env` execs it)."""
        children = Path(f"/proc/{self.shell}/task/{self.shell}/children").read_text().split()
        if not children:
            raise AssertionError(f"the command is not running\n{self.screen()}")
        return int(children[0])

    def signal(self, sig: signal.Signals) -> None:
        os.kill(self.pid, sig)

    def hang_up(self) -> None:
        """The terminal goes away, as when an SSH connection drops: the pane's pty closes."""
        self._tmux("kill-session", "-t", self.name)

    # ---- the end -------------------------------------------------------------------------
    def exit_status(self, timeout: float = 30.0) -> int:
        """The command's exit status once it has exited (a signal's death as 128 + signal)."""
        said = re.compile(re.escape(EXIT_SAID) + r"(\d+)\.")
        found = said.search(self.wait_for(said.search, timeout))
        assert found is not None
        return int(found.group(1))

    def restored(self) -> bool:
        """The terminal as the app found it: main screen, cursor shown, no mouse reporting."""
        return self.display("#{alternate_on} #{cursor_flag} #{mouse_any_flag}") == "0 1 0"

    def leftovers(self, timeout: float = 15.0) -> list[str]:
        """Processes still alive with this terminal's marker, once `timeout` has passed
        without them all going (an empty list as soon as none is left)."""
        deadline = time.monotonic() + timeout
        while True:
            found = marked_processes(self.marker)
            if not found or time.monotonic() > deadline:
                return found
            time.sleep(POLL_SECONDS)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True, timeout=30)
        for pid in marked_pids(self.marker):  # a failed test leaves nothing behind either
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def marked_pids(marker: str) -> list[int]:
    needle = f"LRTUI_JOURNEY={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes() and (entry / "stat").read_text().split()[2] != "Z":
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def marked_processes(marker: str) -> list[str]:
    out = []
    for pid in marked_pids(marker):
        try:
            cmd = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        out.append(f"{pid}: {cmd[:120]}")
    return out
