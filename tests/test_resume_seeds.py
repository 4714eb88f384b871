"""`lrtui resume DIR` of a comparison trained under several seeds (`--seeds K`): killed with
`kill -9` at a random step and resumed, it equals the uninterrupted comparison bit for bit,
every schedule under every seed (each from its own initial weights), on the CPU."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TASK = Path(__file__).parent / "data" / "shuffled_task.py"  # a shuffling DataLoader, dropout
SCHEDULES = ("ReduceLROnPlateau(patience=0)@batch", "OneCycleLR(max_lr=0.3)@batch")
SEEDS = 2
STEPS = 24 * 16  # of a run: 24 epochs of 16 batches


def _lrtui(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lrtui", *args], capture_output=True, text=True, timeout=300)


def _args(engine: str) -> list[str]:
    flags = ["--task", f"{TASK}:Slow", "--epochs", "24", "--lr", "0.05", "--engine", engine, "--no-summary"]
    return [a for s in SCHEDULES for a in ("-s", s)] + ["--seeds", str(SEEDS), *flags]


def _steps_logged(path: Path) -> int:
    try:
        return path.read_bytes().count(b'\n{"step"')
    except FileNotFoundError:
        return 0


def _lines(path: Path) -> list[dict]:
    """A file's lines but what differs between any two runs of one comparison: the time a
    step took, when the plateau counters were sampled, the statuses (compared apart)."""
    out = []
    for line in path.read_text().splitlines()[1:]:
        data = json.loads(line)
        data.pop("time", None)
        if data.get("event") not in ("plateau", "status"):
            out.append(data)
    return out


@pytest.mark.parametrize("engine", ["stacked", "sequential"])
def test_a_comparison_under_seeds_killed_and_resumed_equals_the_uninterrupted_one(
    engine: str, tmp_path: Path
):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    expected = _lrtui("--headless", *_args(engine), "--log-dir", str(whole))
    assert expected.returncode == 0, expected.stderr
    files = sorted(p.name for p in whole.glob("*.jsonl"))
    assert len(files) == len(SCHEDULES) * SEEDS  # a file for each schedule under each seed
    kill_at = random.randint(20, STEPS - 24)  # checkpoints every 25 steps
    with open(os.devnull, "w") as quiet:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lrtui", "--headless", *_args(engine), "--log-dir", str(cut),
             "--checkpoint-every", "25"], stdout=quiet, stderr=quiet,
        )  # fmt: skip
    last = cut / files[-1]
    deadline = time.monotonic() + 240
    while _steps_logged(last) < kill_at and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"training ended before step {kill_at}"
    resumed = _lrtui("resume", str(cut), "--headless", "--no-summary")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == expected.stdout, f"killed at step {kill_at}"  # the table, from step 1
    for name in files:
        mine = _lines(cut / name)
        assert len([d for d in mine if d.get("kind") == "resumed"]) == 1, f"{name}, killed at step {kill_at}"
        steps = [d["step"] for d in mine if "event" not in d]
        assert steps == list(range(1, STEPS + 1))  # no step twice, no gap
        assert [d for d in mine if d.get("kind") != "resumed"] == _lines(whole / name), (
            f"{name}, killed at step {kill_at}"
        )
    assert not (cut / "checkpoints").exists()  # finished: nothing left to resume
