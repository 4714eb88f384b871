"""`lrtui serve`: the app in a real headless Chromium through textual-serve, with the same keys;
closing the tab detaches (training goes on), a second tab attaches again and can stop it. And
the command's one-line errors, every one before any training starts."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from browser import Browser, chromium
from terminal import ROOT, marked_pids

from lrtui.engine.control import SOCKET

TASK = ROOT / "examples" / "my_task.py"  # a conv net with BatchNorm, fed by a DataLoader
RUNS = ["-s", "OneCycleLR(max_lr=0.05)", "-s", "CosineAnnealingLR(T_max=3)", "--optimizer", "momentum"]
POLL_SECONDS = 0.1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _lrtui(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lrtui", *argv], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT
    )


def _until(test, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, f"not in {timeout:.0f} s: {what}"
        time.sleep(POLL_SECONDS)


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _runs_shown(screen: str) -> bool:
    return "OneCycleLR" in screen and "CosineAnnealingLR" in screen and " running " in screen


def _first_panel_paused(screen: str) -> bool:
    """The first panel's state, on the row of both panels' states: `┃  paused  ep 67/3000 · …`."""
    states = next((line for line in screen.splitlines() if " ep " in line and " step " in line), "")
    return "paused" in states.split(" ep ")[0]


@pytest.mark.journey
@pytest.mark.skipif(
    chromium() is None, reason="no chromium (Debian: apt-get install chromium; CI installs it)"
)
def test_a_served_comparison_in_a_browser_pauses_on_a_key_and_outlives_its_tab(tmp_path: Path):
    logs, port, marker = tmp_path / "runs", _free_port(), f"lrtui-serve-{uuid.uuid4().hex[:12]}"
    argv = [
        "serve",
        "--port",
        str(port),
        "--task",
        str(TASK),
        *RUNS,
        "--epochs",
        "3000",
        "--log-dir",
        str(logs),
    ]
    server = subprocess.Popen(
        [sys.executable, "-m", "lrtui", *argv], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env={**os.environ, "LRTUI_JOURNEY": marker},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/?fontsize=12"
    try:
        _until(lambda: _answers(port) or server.poll() is not None, 180, "the server listens")
        assert server.poll() is None, server.stdout.read()  # type: ignore[union-attr]
        with Browser(tmp_path / "chromium-1") as page:
            page.open(url)
            page.wait_for(_runs_shown, timeout=120)  # the panels, training
            page.press("p")  # the focused panel (the first) pauses
            screen = page.wait_for(_first_panel_paused, timeout=30)
            assert " running " in screen  # the other run trains on
        # the tab is closed: its app detaches, training goes on without it
        going = logs / "CosineAnnealingLR.jsonl"
        before = _lines(going)
        _until(lambda: _lines(going) > before + 50, 60, "training goes on after the tab closed")
        assert (logs / SOCKET).exists()
        with Browser(tmp_path / "chromium-2") as page:  # a second tab: attached again, every key
            page.open(url)
            page.wait_for(lambda s: _runs_shown(s) and _first_panel_paused(s), timeout=120)
            page.press("q")
            page.wait_for("stop training, or only detach?", timeout=30)
            page.press("s")
            _until(lambda: not (logs / SOCKET).exists(), 60, "training stopped from the page")
        server.send_signal(signal.SIGINT)  # Ctrl-C: serving ends
        assert server.wait(timeout=30) == 0
        out = server.stdout.read()  # type: ignore[union-attr]
        assert f"ssh -L {port}:127.0.0.1:{port} " in out and "Traceback" not in out
        _until(lambda: marked_pids(marker) == [], 30, "no process left behind")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        for pid in marked_pids(marker):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    statuses = (logs / "OneCycleLR.jsonl").read_text()
    assert '"paused"' in statuses and '"stopped"' in statuses


def test_serve_attach_to_nothing_says_so_in_one_line(tmp_path: Path):
    done = _lrtui("serve", "--port", str(_free_port()), "--attach", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr == (
        f"lrtui: error: attach {tmp_path}: nothing trains there now (no {SOCKET}; lrtui watch {tmp_path} "
        "shows what was recorded)\n"
    )


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--port", "70000"], "argument --port: 70000 is not between 1 and 65535"),
        (["--port", "http"], "argument --port: 'http' is not a port number"),
        (
            ["--attach", "DIR", "-s", "StepLR(step_size=1)"],
            "lrtui serve --attach DIR takes no comparison options",
        ),
        (["--headless"], "lrtui serve runs the comparison in the background itself"),
        (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_serve_refuses_bad_options_in_one_line(argv: list[str], said: str, tmp_path: Path):
    done = (
        _lrtui("serve", *argv, "--log-dir", str(tmp_path / "runs"))
        if "--attach" not in argv
        else _lrtui("serve", *argv)
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("lrtui: error: ") and said in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "runs").exists()  # nothing started


def test_a_taken_port_is_said_before_training_starts(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = _lrtui("serve", "--port", str(port), "--task", str(TASK), "--log-dir", str(tmp_path / "runs"))
    assert done.returncode == 2
    assert done.stderr.startswith(f"lrtui: error: --port {port}: ") and "choose another" in done.stderr
    assert not (tmp_path / "runs").exists()


def test_without_textual_serve_the_error_names_the_extra(tmp_path: Path):
    code = (
        "import sys; sys.modules['textual_serve'] = None\n"  # as if the extra were not installed
        "from lrtui.commands.main import main_exit; main_exit()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "serve", "--attach", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == "lrtui: error: lrtui serve needs textual-serve: pip install 'lrtui[serve]'\n"


def test_serving_stays_quiet_about_tabs_collected_after_their_loop_closed_only():
    from types import SimpleNamespace

    from lrtui.modes.serve import _quiet_about_closed_loops

    told: list = []
    quiet = _quiet_about_closed_loops(told.append)
    closed = SimpleNamespace(exc_value=RuntimeError("Event loop is closed"))
    other = SimpleNamespace(exc_value=RuntimeError("something else"))
    quiet(closed)
    quiet(other)
    assert told == [other]  # only asyncio's note on a closed loop is left out
