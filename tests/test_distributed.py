"""Beyond one machine: torchrun spreading a comparison (2 CPU processes, gloo), the machine's
figures, and the ranks of a DDP run side by side."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from appkit import settle
from rich.text import Text

from lrtui import RunRecorder
from lrtui.commands.main import main
from lrtui.record.format import decode
from lrtui.record.system import SystemSampler
from lrtui.record.watch import WatchSource
from lrtui.spec.events import SystemFigures
from lrtui.state.ranks import rank_groups
from lrtui.state.runs import ExperimentState
from lrtui.ui.app import LrTuiApp
from lrtui.ui.widgets.machine import machine_line

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--epochs", "2", "--batches", "30"]


def _torchrun(n: int, *argv: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={n}"]
    return subprocess.run([*cmd, "-m", "lrtui", *argv], capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_torchrun_spreads_the_runs_and_prints_once(tmp_path):
    done = _torchrun(2, *FLAGS, "--log-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Leaderboard") == 1 and done.stdout.splitlines().count("StepLR") == 1
    files = sorted(p.name for p in tmp_path.glob("*.jsonl"))
    assert len(files) == 6 and not any("-2" in f for f in files)  # every run recorded once
    single = subprocess.run(
        [sys.executable, "-m", "lrtui", *FLAGS], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.stdout == single.stdout  # the same numbers as one process, table and leaderboard


def test_more_ranks_than_runs(tmp_path):
    done = _torchrun(3, *FLAGS, "-s", "StepLR(step_size=1)", "-s", "ExponentialLR(gamma=0.9)")
    assert done.returncode == 0, done.stderr
    assert "rank 2 has no runs (2 runs over 3 ranks)" in done.stderr
    assert done.stdout.count("Leaderboard") == 1


def test_under_torchrun_the_app_is_not_started(monkeypatch, capsys):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(SystemExit) as exit_info:
        main(["--epochs", "1", "--batches", "5"])
    assert exit_info.value.code == 2 and "use --headless --log-dir DIR" in capsys.readouterr().err


def test_the_machine_is_sampled_and_says_what_it_cannot_read(monkeypatch):
    figures = SystemSampler(lambda events: None).sample()
    assert figures.ram_total > 0 and 0 <= figures.cpu <= 100
    if not figures.gpus:
        assert "GPUs:" in figures.note  # no NVIDIA driver here: the view says why
    sampler = SystemSampler(lambda events: None)
    sampler._psutil = None
    assert "psutil not installed (pip install 'lrtui[system]')" in sampler.sample().note
    line = machine_line(figures).plain
    assert figures.host in line and "cpu" in line and "GiB" in line


def test_a_recorder_records_the_machine_for_watch(tmp_path):
    with RunRecorder(tmp_path, "remote", system=True) as rec:
        rec.log(1, lr=0.1, loss=1.0)
    events = [decode(line, 0, 0) for line in rec.path.read_text().splitlines()[1:]]
    systems = [e for e in events if isinstance(e, SystemFigures)]
    assert systems and systems[0].ram_total > 0
    got: list = []
    WatchSource(rec.path, got.extend).poll_once()
    state = ExperimentState([], lambda: 0.0)
    state.apply(got)
    assert list(state.machines) == [systems[0].host]


def _rank_files(tmp_path, monkeypatch, step_seconds: dict[int, float]) -> None:
    for rank, seconds in step_seconds.items():
        monkeypatch.setenv("RANK", str(rank))
        now = [0.0]
        rec = RunRecorder(tmp_path, "ddp", all_ranks=True, clock=lambda now=now: now[0])
        for step in range(1, 121):
            now[0] += seconds
            rec.log(step, lr=0.1, loss=1.0)
        rec.finish()


def test_a_straggler_is_flagged_with_its_figure(tmp_path, monkeypatch):
    _rank_files(tmp_path, monkeypatch, {0: 0.010, 1: 0.010, 2: 0.015, 3: 0.0105})
    got: list = []
    WatchSource(tmp_path, got.extend).poll_once()
    state = ExperimentState([], lambda: 0.0)
    state.apply(got)
    (group,) = rank_groups(state.runs)
    assert group.name == "ddp" and [r.rank for r in group.rows] == [0, 1, 2, 3]
    assert [r.step_ms for r in group.rows] == pytest.approx([10, 10, 15, 10.5])
    assert [bool(r.flag) for r in group.rows] == [False, False, True, False]
    assert group.rows[2].flag == "straggler: 1.46x the median step time"


async def test_the_ranks_screen(tmp_path, monkeypatch):
    _rank_files(tmp_path, monkeypatch, {0: 0.010, 1: 0.020})

    def source(sink):
        src = WatchSource(tmp_path, sink)
        src.run = src.poll_once
        return src

    app = LrTuiApp([], source, source_label="watching", clock=lambda: 0.0)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("k")
        await pilot.pause()
        table = app.screen.query_one("#ranks")
        assert table.row_count == 2
        flags = [Text.from_markup(str(table.get_row_at(i)[-1])).plain for i in range(2)]
        assert flags[0] == "" and flags[1].startswith("straggler: 1.33x")
