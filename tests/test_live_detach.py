"""`d` and a hang-up in the plain live app (`lrtui --log-dir DIR`, not `--background`): training
is handed over to the background from its checkpoint, `lrtui attach DIR` sees the runs go on
and can stop them, and the logs read as one run each. Without `--log-dir`, `d` says why it
cannot detach. Journeys in a real terminal (tmux)."""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path

import pytest
from terminal import ROOT, Terminal, have_tmux, lrtui_command

from lrtui.engine.control import SOCKET

pytestmark = [pytest.mark.journey, pytest.mark.skipif(not have_tmux(), reason="tmux is not installed")]

TASK = ROOT / "examples" / "my_task.py"  # a conv net with BatchNorm, on a shuffling DataLoader
RUNS = ["-s", "OneCycleLR(max_lr=0.05)", "-s", "CosineAnnealingLR(T_max=3)", "--optimizer", "momentum"]
STEPS = re.compile(r"(\d[\d,]*) steps(?!/)")
POLL_SECONDS = 0.1


def _steps(screen: str) -> int:
    found = STEPS.search(screen.splitlines()[0] if screen else "")
    return int(found.group(1).replace(",", "")) if found else 0


def _listening(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(str(path)) == 0


def _until(test, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, f"not in {timeout:.0f} s: {what}"
        time.sleep(POLL_SECONDS)


@pytest.mark.parametrize("how", ["d", "hang-up"])
def test_a_recording_live_app_detaches_and_attach_sees_training_go_on(how: str, tmp_path: Path):
    logs = tmp_path / "runs"
    command = lrtui_command("--task", str(TASK), *RUNS, "--epochs", "3000", "--log-dir", str(logs))
    first = Terminal(command, 120, 40)  # closed last: closing kills what it started
    try:
        handed = _steps(first.wait_for(lambda s: _steps(s) > 100, timeout=180))
        if how == "d":
            first.press("d")
            assert first.exit_status(timeout=120) == 0 and first.restored()
            assert f"detached; attach again with: lrtui attach {logs}" in first.screen()
        else:
            first.hang_up()  # the SSH connection drops: training goes on all the same
        _until(lambda: _listening(logs / SOCKET), 120, "the background trainer listens")
        with Terminal(lrtui_command("attach", str(logs)), 120, 40) as term:
            term.wait_for(lambda s: "attached" in s.splitlines()[0] and _steps(s) > handed + 200, timeout=120)
            term.press("q")
            term.wait_for("stop training, or only detach?")
            term.press("s")
            assert term.exit_status(timeout=30) == 0 and term.restored()
        assert first.leftovers(timeout=30) == []  # the background trainer has ended too
    finally:
        first.close()
    for path in sorted(logs.glob("*.jsonl")):
        events = [json.loads(line) for line in path.read_text().splitlines()[1:]]
        steps = [e["step"] for e in events if "event" not in e]
        assert steps == list(range(1, len(steps) + 1))  # no step twice, no gap
        marks = [e["step"] for e in events if e.get("event") == "mark" and e["kind"] == "resumed"]
        assert len(marks) == 1 and 0 < marks[0] < len(steps) - 100  # handed over there, then on
        assert [e["status"] for e in events if e.get("event") == "status"][-1] == "stopped"


def test_without_a_log_dir_d_says_why_it_cannot_detach():
    command = lrtui_command("--task", str(TASK), *RUNS, "--epochs", "3000")
    with Terminal(command, 120, 40) as term:
        term.wait_for(lambda s: _steps(s) > 0, timeout=180)
        term.press("d")
        term.wait_for("d detaches only a comparison that records", timeout=30)
        assert (
            _steps(term.wait_for(lambda s: _steps(s) > 0)) > 0
            and " running " in term.screen().splitlines()[0]
        )
        term.press("q")
        assert term.exit_status(timeout=30) == 0 and term.restored()
        assert term.leftovers() == []
