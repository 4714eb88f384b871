"""W&B offline runs under `lrtui watch` and `export`: files written by `wandb.init(mode="offline")`
itself, read while the run logs, then broken every way a live file can be."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lrtui.record.export import export_csv, input_files
from lrtui.record.readers import ReadOptions, found_under
from lrtui.record.watch import WatchSource
from lrtui.spec.events import CorruptLines, RunAdded, RunStatus, ScalarBlock, StatusEvent, StepBlock

wandb = pytest.importorskip("wandb")


class Collect(list):
    def __call__(self, batch):
        self.extend(batch)

    def steps(self, gen: int | None = None) -> list[tuple[int, float, float]]:
        """(step, lr, loss) of every step block, of one generation if given."""
        return [
            (s.step, s.lrs[0], s.loss)
            for e in self
            if isinstance(e, StepBlock) and (gen is None or e.gen == gen)
            for s in e.steps()
        ]

    def of(self, kind):
        return [e for e in self if isinstance(e, kind)]


def poll_until(src: WatchSource, done: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll the watcher until `done`, or fail at the deadline (wandb writes from its own process)."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the watcher never saw it"
        src.poll_once()
        time.sleep(0.05)


def _log(run, steps: range) -> None:
    for i in steps:
        run.log({"lr": 0.1 / i, "loss": 1.0 / i, "train/acc": i / 100}, step=i)


@pytest.fixture(scope="module")
def offline(tmp_path_factory) -> Path:
    """One finished offline run of 300 steps (its records fill several 32 KiB blocks)."""
    where = tmp_path_factory.mktemp("wb")
    run = wandb.init(mode="offline", dir=where, project="sched", name="cosine", config={"lr": 0.1})
    _log(run, range(1, 301))
    run.finish()
    file = next(where.glob("wandb/offline-run-*/run-*.wandb"))
    got = Collect()
    poll_until(WatchSource(file, got), lambda: len(got.steps()) == 300)  # finish() may return
    return file  # before wandb's core has written the last records


def test_an_offline_run_is_watched_live_as_it_logs(tmp_path):
    """wandb's core writes the file a 32 KiB block at a time: steps appear as blocks fill."""
    run = wandb.init(
        mode="offline", dir=tmp_path, project="p", name="one\x1b]0;pwned\x07cycle",
        config={"scheduler": "OneCycleLR", "opt": {"momentum": 0.9}},
    )  # fmt: skip
    got = Collect()
    src = WatchSource(tmp_path, got)
    try:
        _log(run, range(1, 401))
        poll_until(src, lambda: len(got.steps()) > 0)
        first = len(got.steps())
        assert got.steps() == [(i, 0.1 / i, 1.0 / i) for i in range(1, first + 1)]
        _log(run, range(401, 801))
        poll_until(src, lambda: len(got.steps()) > first)
        assert first < len(got.steps()) < 800  # seen while the run logs, before it ends
    finally:
        run.finish()
    poll_until(src, lambda: len(got.steps()) >= 800)
    assert [s for s, _, _ in got.steps()] == list(range(1, 801))
    info = got.of(RunAdded)[-1].info
    assert info.label == "one\\x1b]0;pwned\\x07cycle"  # the name, its escapes shown, not obeyed
    assert ("scheduler", "OneCycleLR") in info.config and ("opt.momentum", "0.9") in info.config
    assert "lr lr · loss loss" in info.detail
    acc = [v for e in got.of(ScalarBlock) if e.tag == "train/acc" for v in e.values]
    assert acc == [i / 100 for i in range(1, 801)]
    assert len({e.run for e in got.of(RunAdded)}) == 1  # `latest-run` is the same run, not a second


def test_export_reads_every_step_of_an_offline_run(offline):
    out = io.StringIO()
    folder = offline.parent.parent
    logs = input_files(folder)
    assert [log.reader.name for log in logs] == ["wandb"]
    result = export_csv(logs, out, ReadOptions(extra=("train/acc",), root=folder))
    lines = out.getvalue().splitlines()
    assert lines[0] == "run,step,epoch,lr,loss,time,train/acc"
    assert result.rows == 300 and result.corrupt == 0
    first = lines[1].split(",")
    assert first[:5] == ["cosine", "1", "1", "0.1", "1.0"] and first[6] == "0.01"
    assert lines[-1].split(",")[1] == "300"


def _read(file: Path) -> tuple[Collect, WatchSource]:
    got = Collect()
    src = WatchSource(file, got)
    src.poll_once()
    return got, src


def test_a_torn_record_waits_and_a_corrupt_one_is_skipped_and_counted(offline, tmp_path):
    data = offline.read_bytes()
    torn = tmp_path / "torn" / "run-torn.wandb"
    torn.parent.mkdir()
    torn.write_bytes(data[: len(data) // 2 + 3])  # cut inside a record
    got, src = _read(torn)
    seen = len(got.steps())
    assert 0 < seen < 300 and not got.of(CorruptLines)
    torn.write_bytes(data)  # the rest arrives
    src.poll_once()
    assert [s for s, _, _ in got.steps()] == list(range(1, 301)) and not got.of(CorruptLines)

    broken = bytearray(data)
    middle = len(data) // 2
    broken[middle : middle + 40] = b"\xff" * 40  # garbage inside one block
    bad = tmp_path / "bad" / "run-bad.wandb"
    bad.parent.mkdir()
    bad.write_bytes(bytes(broken) + b"\x00garbage at the end\x13\x37" * 3)
    got, _ = _read(bad)
    steps = [s for s, _, _ in got.steps()]
    assert sum(e.count for e in got.of(CorruptLines)) >= 1
    assert steps[0] == 1 and steps[-1] == 300 and 200 < len(steps) < 300  # the block's records lost


def test_a_replaced_file_is_read_again_as_a_new_generation(offline, tmp_path):
    file = tmp_path / "run-x.wandb"
    shutil.copy(offline, file)
    got, src = _read(file)
    assert len(got.steps(0)) == 300
    replaced = tmp_path / "new.tmp"
    replaced.write_bytes(offline.read_bytes()[: 32768 * 2])
    replaced.replace(file)
    src.poll_once()
    assert any(isinstance(e, StatusEvent) and e.gen == 1 and "replaced" in e.message for e in got)
    assert 0 < len(got.steps(1)) < 300


def test_a_file_that_is_not_a_wandb_run_says_so_in_its_panel(tmp_path):
    fake = tmp_path / "run-fake.wandb"
    fake.write_bytes(b"\x1b[2J not a run at all\n" * 10)
    got, _ = _read(fake)
    errors = [e for e in got.of(StatusEvent) if e.status is RunStatus.ERROR]
    assert errors and "not a W&B run file" in errors[0].message and "\x1b" not in errors[0].message
    assert [log.reader.name for log in found_under(tmp_path)] == ["wandb"]


def test_without_the_wandb_extra_the_panel_names_it(offline, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.delitem(sys.modules, "wandb")
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a)
    )
    got, _ = _read(offline)
    errors = [e.message for e in got.of(StatusEvent) if e.status is RunStatus.ERROR]
    assert errors and "needs the wandb extra: pip install 'lrtui[wandb]'" in errors[0]


# ---- a user's journey: a run logging offline, watched in a real terminal, then exported ----------

WB_SCRIPT = """
import math, sys, time
from pathlib import Path
import wandb

where, gate = Path(sys.argv[1]), Path(sys.argv[2])
run = wandb.init(mode="offline", dir=where, project="sched", name="cosine-live",
                 config={"scheduler": "CosineAnnealingLR", "T_max": 2000})


def log(steps):
    for i in steps:
        run.log({"lr": 0.025 * (1 + math.cos(math.pi * i / 2000)), "loss": 2.0 / i}, step=i)


log(range(1, 1001))
deadline = time.monotonic() + 120
while not gate.exists() and time.monotonic() < deadline:  # held open until the test saw it live
    time.sleep(0.05)
log(range(1001, 2001))
run.finish()
"""


@pytest.mark.journey
@pytest.mark.skipif(shutil.which("tmux") is None, reason="journeys run in tmux: apt-get install tmux")
def test_an_offline_run_watched_live_in_a_terminal_then_exported(tmp_path):
    from terminal import Terminal, lrtui_command

    script, gate, where = tmp_path / "train_wb.py", tmp_path / "seen", tmp_path / "logs"
    script.write_text(WB_SCRIPT)
    where.mkdir()
    (where / "notes.txt").write_text("a file no reader reads")
    writer = subprocess.Popen([sys.executable, str(script), str(where), str(gate)], stdout=subprocess.DEVNULL)
    try:
        with Terminal(lrtui_command("watch", str(where)), 120, 40) as term:
            live = term.wait_for(re.compile(r"cosine-live[\s\S]*step \d").search, timeout=120)
            assert writer.poll() is None, "the run ended before it was seen live"
            assert "1 wandb run; not read: notes.txt" in " ".join(live.split())
            gate.touch()
            assert writer.wait(timeout=120) == 0
            term.wait_for("step 2,000", timeout=60)
            term.press("q")
            assert term.exit_status(timeout=15) == 0, term.screen()
    finally:
        gate.touch()
        writer.kill()
        writer.wait(timeout=30)
    out = tmp_path / "wb.csv"
    exported = subprocess.run(
        [sys.executable, "-m", "lrtui", "export", str(where), "--csv", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert f"lrtui: {where}: 1 wandb run; not read: notes.txt" in exported.stderr
    rows = out.read_text().splitlines()
    assert len(rows) == 2001 and rows[-1].startswith("cosine-live,2000,1,")
