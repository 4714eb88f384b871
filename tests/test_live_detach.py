"""`d` and a hang-up in the live app of a recording comparison (`lrtui --log-dir DIR`, `lrtui
resume DIR`): it trains in a process of its own session from the start, this terminal
attached, so `d` and a hang-up only detach: the SAME trainer process goes on (its pid, read
from the control socket's peer credentials, never changes), a run paused before `d` is still
paused when `lrtui attach DIR` comes back, and the logs read as one run each with no step twice
and none missing (no checkpoint round-trip: no `resumed` mark). `q` in the app of the terminal
that started training stops it without a question; `lrtui attach`'s asks. Without `--log-dir`,
`d` says why it cannot detach. Journeys in a real terminal (tmux)."""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import time
from pathlib import Path

import pytest
from terminal import ROOT, Terminal, have_tmux, lrtui_command, marked_pids

from lrtui.engine.control import SOCKET
from lrtui.spec.errors import no_checkpoints

pytestmark = [pytest.mark.journey, pytest.mark.skipif(not have_tmux(), reason="tmux is not installed")]

TASK = ROOT / "examples" / "my_task.py"  # a conv net with BatchNorm, on a shuffling DataLoader
RUNS = ["-s", "OneCycleLR(max_lr=0.05)", "-s", "CosineAnnealingLR(T_max=3)", "--optimizer", "momentum"]
STEPS = re.compile(r"(\d[\d,]*) steps(?!/)")
POLL_SECONDS = 0.1


def _steps(screen: str) -> int:
    found = STEPS.search(screen.splitlines()[0] if screen else "")
    return int(found.group(1).replace(",", "")) if found else 0


def _trainer_pid(path: Path) -> int | None:
    """The pid of the process listening on the control socket (SO_PEERCRED), or None."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        if probe.connect_ex(str(path)) != 0:
            return None
        creds = probe.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return struct.unpack("3i", creds)[0]


def _until(test, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (found := test()):
        assert time.monotonic() < deadline, f"not in {timeout:.0f} s: {what}"
        time.sleep(POLL_SECONDS)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()[1:]]


def _step_count(path: Path) -> int:
    return sum(1 for e in _log(path) if "event" not in e)


def _one_run_each(logs: Path, final: str) -> None:
    """Every run's log: steps 1..N once each, no hand-over (`resumed`) mark, `final` last."""
    for path in sorted(logs.glob("*.jsonl")):
        events = _log(path)
        steps = [e["step"] for e in events if "event" not in e]
        assert steps == list(range(1, len(steps) + 1)), path.name  # no step twice, no gap
        assert not [e for e in events if e.get("event") == "mark" and e["kind"] == "resumed"]
        assert [e["status"] for e in events if e.get("event") == "status"][-1] == final


def _attach_and_see_run_1_paused(logs: Path, pid: int, paused_steps: int) -> Terminal:
    """`lrtui attach DIR`: run 1's panel says paused from the start, run 2 trains on, run 1's
    log does not grow; the same trainer process is on the other end."""
    term = Terminal(lrtui_command("attach", str(logs)), 120, 40)
    screen = term.wait_for(lambda s: "attached" in s.splitlines()[0] and _steps(s) > 0, timeout=120)
    panels = screen.splitlines()[2:]
    assert any(" paused " in line[:60] for line in panels), screen  # run 1, the left panel
    run2 = _step_count(logs / "CosineAnnealingLR.jsonl")
    _until(lambda: _step_count(logs / "CosineAnnealingLR.jsonl") > run2 + 100, 120, "run 2 trains on")
    assert _step_count(logs / "OneCycleLR.jsonl") == paused_steps  # run 1 still paused
    assert _trainer_pid(logs / SOCKET) == pid
    return term


@pytest.mark.parametrize("how", ["d", "hang-up"])
def test_a_recording_live_app_detaches_and_its_trainer_process_goes_on(how: str, tmp_path: Path):
    logs = tmp_path / "runs"
    command = lrtui_command("--task", str(TASK), *RUNS, "--epochs", "3000", "--log-dir", str(logs))
    first = Terminal(command, 120, 40)  # closed last: closing kills what it started
    try:
        first.wait_for(lambda s: _steps(s) > 100, timeout=180)
        pid = _trainer_pid(logs / SOCKET)
        assert pid is not None and pid in marked_pids(first.marker)
        first.press("1")  # run 1 focused, then paused alone
        first.press("p")
        first.wait_for(lambda s: any(" paused " in line[:60] for line in s.splitlines()[2:]), timeout=30)
        if how == "d":
            first.press("d")
            assert first.exit_status(timeout=60) == 0 and first.restored()
            said = "".join(first.screen().split())  # a line longer than the terminal is wrapped
            assert f"detached;traininggoeson:attachagainwith:lrtuiattach{logs}" in said
        else:
            first.hang_up()  # the SSH connection drops: training goes on all the same
        _until(lambda: marked_pids(first.marker) == [pid], 30, "the trainer alone left, no new process")
        paused = _step_count(logs / "OneCycleLR.jsonl")
        with _attach_and_see_run_1_paused(logs, pid, paused) as term:
            term.press("d")  # detach again: still the same process
            assert term.exit_status(timeout=30) == 0 and term.restored()
        assert _alive(pid) and _trainer_pid(logs / SOCKET) == pid
        with _attach_and_see_run_1_paused(logs, pid, paused) as term:
            term.press("C-c")  # Ctrl-C quits nothing: it says which keys leave, and how
            term.wait_for("q: stop training or only", timeout=30)
            term.press("q")  # attached later: q asks
            term.wait_for("stop training, or only detach?")
            term.press("s")
            assert term.exit_status(timeout=30) == 0 and term.restored()
        assert first.leftovers(timeout=30) == []  # the trainer has ended, nothing else was left
    finally:
        first.close()
    _one_run_each(logs, "stopped")
    statuses = [e["status"] for e in _log(logs / "OneCycleLR.jsonl") if e.get("event") == "status"]
    assert statuses.count("paused") == 1  # paused once, before d, and never resumed


def test_lrtui_resume_live_detaches_too_and_q_stops_without_a_question(tmp_path: Path):
    """A comparison stopped with `q` is resumed live (`lrtui resume DIR`): `d` leaves the
    resumed trainer running; attached again, the app of a later terminal asks at `q`, while
    the terminal that started training stops it at `q` at once."""
    logs = tmp_path / "runs"
    command = lrtui_command("--task", str(TASK), *RUNS, "--epochs", "3000", "--log-dir", str(logs))
    with Terminal(command, 120, 40) as term:
        term.wait_for(lambda s: _steps(s) > 50, timeout=180)
        term.press("q")  # started here: stops at once, no question
        assert term.exit_status(timeout=60) == 0 and term.restored()
        assert term.leftovers(timeout=30) == []
    _one_run_each(logs, "stopped")
    stopped = {path.name: _step_count(path) for path in logs.glob("*.jsonl")}
    first = Terminal(lrtui_command("resume", str(logs)), 120, 40)
    try:
        run1, at = logs / "OneCycleLR.jsonl", stopped["OneCycleLR.jsonl"]
        first.wait_for(lambda s: _steps(s) > 0 and "attached" not in s.splitlines()[0], timeout=180)
        _until(lambda: _step_count(run1) > at + 50, 120, "the resumed runs train")
        pid = _trainer_pid(logs / SOCKET)
        first.press("d")
        assert first.exit_status(timeout=60) == 0 and first.restored()
        assert pid is not None and _alive(pid) and marked_pids(first.marker) == [pid]
        with Terminal(lrtui_command("attach", str(logs)), 120, 40) as term:
            term.wait_for(lambda s: "attached" in s.splitlines()[0] and _steps(s) > 0, timeout=120)
            _until(lambda: _step_count(run1) > at + 100, 120, "the resumed runs train on")
            term.press("q")
            term.wait_for("stop training, or only detach?")
            term.press("s")
            assert term.exit_status(timeout=30) == 0 and term.restored()
        assert first.leftovers(timeout=30) == []
    finally:
        first.close()
    for path in sorted(logs.glob("*.jsonl")):
        events = _log(path)
        steps = [e["step"] for e in events if "event" not in e]
        at = stopped[path.name]
        assert steps == list(range(1, len(steps) + 1)) and len(steps) > at + 100  # one run, on
        marks = [e["step"] for e in events if e.get("event") == "mark" and e["kind"] == "resumed"]
        assert len(marks) == 1 and marks[0] <= at  # resumed once: at its checkpoint
        assert [e["status"] for e in events if e.get("event") == "status"][-1] == "stopped"


def test_after_every_run_ended_r_restarts_one_and_d_leaves_nothing_running(tmp_path: Path):
    """The trainer of a live app that records waits after every run has ended while the app
    is attached, as the live app's own does: `r` restarts a run (a new generation in its
    log). Detached then, it ends by itself: nothing is left running, and every run is done."""
    logs = tmp_path / "runs"
    command = lrtui_command("--task", str(TASK), *RUNS, "--epochs", "20", "--log-dir", str(logs))
    with Terminal(command, 120, 40) as term:
        term.wait_for(lambda s: " finished " in s.splitlines()[0], timeout=240)
        pid = _trainer_pid(logs / SOCKET)
        assert pid is not None and _alive(pid)  # waiting: an app is attached
        term.press("1")
        term.press("r")
        _until(lambda: any(e.get("gen") == 1 for e in _log(logs / "OneCycleLR.jsonl")), 60, "run 1 restarted")
        term.wait_for(lambda s: " finished " in s.splitlines()[0], timeout=240)
        term.press("d")
        assert term.exit_status(timeout=60) == 0 and term.restored()
        assert term.leftovers(timeout=30) == []  # every run had ended: the trainer ended too
    for path in sorted(logs.glob("*.jsonl")):
        assert [e["status"] for e in _log(path) if e.get("event") == "status"][-1] == "done"
    assert _log(logs / "OneCycleLR.jsonl")[-1].get("gen") == 1  # the restarted run, to its end


def test_a_bad_task_file_is_still_one_line_naming_its_file_and_line(tmp_path: Path):
    """The trainer process loads the task: its error comes back to this terminal as the same
    one line the live app says, with the file and line, and nothing is left running."""
    task = tmp_path / "bad_task.py"
    task.write_text(
        "import torch\n\ndef model():\n    return torch.nn.Linear(2, 2)\n\n"
        "def batches(epoch):\n    raise ValueError('no data here')\n"
    )
    with Terminal(lrtui_command("--task", str(task), "--log-dir", str(tmp_path / "runs")), 200, 20) as term:
        assert term.exit_status(timeout=120) == 2
        lines = [line for line in term.screen().splitlines() if line.startswith("lrtui: error:")]
        assert lines == [f"lrtui: error: {task}:7: ValueError: no data here"]
        assert term.leftovers() == []


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


def test_a_live_resume_of_a_finished_comparison_says_so_before_starting_anything(tmp_path: Path):
    """A comparison whose runs all finished left no checkpoint: `lrtui resume DIR` says so in
    one line, and no training process is started ("starting training…" is not said)."""
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "StepLR.jsonl").write_text("")
    with Terminal(lrtui_command("resume", str(runs)), 200, 20) as term:
        assert term.exit_status(timeout=60) == 2
        screen = term.screen()
        said = f"lrtui: error: {no_checkpoints(runs)}"  # one line, wrapped by the terminal
        assert screen.count("lrtui:") == 1 and "".join(said.split()) in "".join(screen.split())
        assert term.leftovers() == []
    assert sorted(p.name for p in runs.iterdir()) == ["StepLR.jsonl"]  # nothing written there
