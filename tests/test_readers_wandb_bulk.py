"""W&B runs read in bulk (numpy framing and decoding, `wandb_frames`/`wandb_history`) give the
same events as the exact path (wandb's protobuf classes, a record at a time) on files written by
`wandb.init(mode="offline")` with awkward content; and a run's end is read from its file: a
finished run shows finished, a failed one failed, one still open running."""

from __future__ import annotations

import os
import random
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lrtui.record.readers import wandb as wandb_reader
from lrtui.record.readers.metric_tail import MetricTail
from lrtui.record.readers.tags import tag_map
from lrtui.record.readers.wandb import WandbSource
from lrtui.record.readers.wandb_values import numbers
from lrtui.record.watch import WatchSource
from lrtui.spec.events import CorruptLines, RunStatus, ScalarBlock, StatusEvent, StepBlock
from lrtui.spec.text import clean

wandb = pytest.importorskip("wandb")

NEVER = 1 << 40  # a `bulk_from` no read reaches: the exact path alone


def _row(i: int) -> dict:
    """One step of an awkward run: nested keys, NaN and ±Infinity, -0, escapes and non-ASCII in
    names, text among numbers, and many metrics."""
    row = {
        "lr": 0.1 / i,
        "loss": float("nan") if i == 77 else 1.0 / i,
        "train/acc": i / 100,
        "nested": {"a": i, "b": {"c": -i}},
        'quote"key': float("inf") if i % 50 == 0 else float("-inf") if i % 51 == 0 else i,
        "back\\slash\x1b[31m": -0.0 if i == 5 else i * 1.5,
        "ünïcode/ключ": i * 1e-300,
        "text": f"step {i}",
        "flag": i % 2 == 0,
        **{f"m{k:02d}": i * k + 0.25 for k in range(40)},
    }
    if i == 100:
        row["huge"] = "x" * 40_000  # one record over a 32 KiB block: a FIRST, MIDDLE, LAST
    if i % 9 == 0:
        del row["lr"]  # the LR logged on some steps only: carried forward
    return row


@pytest.fixture(scope="module")
def awkward(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("awkward")
    run = wandb.init(mode="offline", dir=where, project="p", name='we"ird\\ name ✓', config={"lr": 0.1})
    for i in range(1, 401):
        run.log(_row(i), step=i if i < 200 else i + 7)  # a gap after step 199
    run.finish()
    file = next(where.glob("wandb/offline-run-*/run-*.wandb"))
    _until_finished(file.parent)
    return file.parent


def _until_finished(folder: Path, timeout: float = 60.0) -> None:
    """`finish()` may return before wandb's core has written the exit record."""
    deadline = time.monotonic() + timeout
    while not any(isinstance(e, StatusEvent) and e.status.finished for e in _events(folder, NEVER)):
        assert time.monotonic() < deadline, "wandb never wrote the exit record"
        time.sleep(0.1)


def _events(folder: Path, bulk_from: int) -> list:
    tail = MetricTail(WandbSource(folder, folder.parent, bulk_from), 0, tag_map(None, None), "wandb")
    events: list = []
    tail.read(events)
    while tail.backlog:
        tail.read(events)
    return events


@pytest.mark.parametrize("chunk", [1 << 20, 70_001, 32_775])  # a read holds a block or more
def test_the_bulk_path_gives_the_exact_paths_events(awkward, monkeypatch, chunk):
    """Read in reads of `chunk` bytes, so records in pieces span reads; compared as text, so NaN
    equals NaN and -0.0 differs from 0.0."""
    monkeypatch.setattr(wandb_reader, "READ_FIRST", chunk)
    monkeypatch.setattr(wandb_reader, "READ_CHUNK", chunk)
    exact, bulk = _events(awkward, NEVER), _events(awkward, 0)
    assert repr(bulk) == repr(exact)
    steps = [s for e in exact if isinstance(e, StepBlock) for s in e.step_numbers()]
    assert steps == [*range(1, 200), *range(207, 408)]
    scalars = {e.tag for e in bulk if isinstance(e, ScalarBlock)}
    assert {"nested/a", "nested/b/c", 'quote"key', clean("back\\slash\x1b[31m", 80), "m39"} <= scalars
    assert "text" not in scalars and "huge" not in scalars


def test_the_bulk_path_takes_the_history_records_itself(awkward, monkeypatch):
    """Without this the test above could pass with every record left to the exact path."""
    seen = []
    real = wandb_reader.decode
    monkeypatch.setattr(
        wandb_reader, "decode", lambda spans, keys: seen.append(real(spans, keys)) or seen[-1]
    )
    _events(awkward, 0)
    taken = sum(len(h.rows) for h in seen)
    assert taken == 399, taken  # all but the step with 40 KB of text (a value's length past 127)


def test_a_growing_file_reads_the_same_both_ways(awkward, tmp_path, monkeypatch):
    """The file as it grows, cut anywhere (inside a record, inside a record in pieces), read
    after each growth: big reads in bulk, small ones exact (`bulk_from`), a record in pieces
    handed from one way to the other."""
    monkeypatch.setattr(wandb_reader, "READ_CHUNK", 70_001)
    data = next(awkward.glob("run-*.wandb")).read_bytes()
    cuts = sorted({*random.Random(3).sample(range(8, len(data)), 40), len(data)})
    events = {}
    for bulk_from in (NEVER, 0, 30_000):
        folder = tmp_path / str(bulk_from) / "grow"
        folder.mkdir(parents=True)
        file = folder / "run-grow.wandb"
        tail = MetricTail(WandbSource(folder, folder.parent, bulk_from), 0, tag_map(None, None), "wandb")
        got: list = []
        for cut in cuts:
            with file.open("ab") as f:
                f.write(data[file.stat().st_size if file.exists() else 0 : cut])
            tail.read(got)
            while tail.backlog:
                tail.read(got)
        events[bulk_from] = repr([e for e in got if not isinstance(e, StepBlock)]).replace(str(folder), "")
        events[bulk_from, "steps"] = [s for e in got if isinstance(e, StepBlock) for s in e.steps()]
    assert events[0] == events[NEVER] and events[30_000] == events[NEVER]
    steps = events[NEVER, "steps"]
    assert repr(events[0, "steps"]) == repr(steps) and repr(events[30_000, "steps"]) == repr(steps)
    assert [s.step for s in steps] == [*range(1, 200), *range(207, 408)]


def test_a_corrupt_file_reads_the_same_both_ways(awkward, tmp_path):
    data = bytearray(next(awkward.glob("run-*.wandb")).read_bytes())
    for at in (len(data) // 3, len(data) // 2, 2 * len(data) // 3):
        data[at : at + 30] = b"\xff" * 30
    bad = tmp_path / "run-bad.wandb"
    bad.write_bytes(bytes(data))
    exact, bulk = _events(tmp_path, NEVER), _events(tmp_path, 0)
    assert repr(bulk) == repr(exact)
    assert sum(e.count for e in bulk if isinstance(e, CorruptLines)) >= 3


def test_numbers_are_read_as_float_reads_them():
    """The bulk reading of values (orjson where installed) against Python's `float`, bit for bit."""
    rng = random.Random(7)
    texts = [repr(struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]) for _ in range(3000)]
    texts = [t for t in texts if t not in ("nan", "inf", "-inf")]
    texts += [f"{rng.randint(1, 10**17)}e{rng.randint(-330, 310)}" for _ in range(2000)]
    texts += [
        "0",
        "-0",
        "-0.0",
        "1",
        "NaN",
        "Infinity",
        "-Infinity",
        '"text"',
        "true",
        "null",
        "1.",
        "01",
        " 7",
    ]
    texts += [
        "1e999",
        "1_0",
        "[1]",
        "{}",
        "5e-324",
        "1.7976931348623157e308",
        "9007199254740993",
        "\u0661",
    ]  # an Arabic-Indic 1: `float` reads it
    raw = [t.encode() for t in texts] + [b"\xff\xfe"]
    buf = np.frombuffer(b"\x0a" + b"\x0a".join(raw) + bytes(200), np.uint8)
    lengths = np.array([len(r) for r in raw])
    starts = 1 + np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    for take in (slice(None), slice(0, 100)):  # with and without values orjson refuses
        values, ok, valid = numbers(buf, starts[take], lengths[take])
        for text, value, is_number, utf8 in zip(raw[take], values, ok, valid, strict=True):
            try:
                expected = float(text.decode())
            except UnicodeDecodeError:
                assert not utf8
                continue
            except ValueError:
                assert utf8 and not is_number, text
                continue
            assert is_number and struct.pack("<d", value) == struct.pack("<d", expected), text


# ---- a run's end, from its exit record -----------------------------------------------------------


def _statuses(folder: Path) -> list[tuple[RunStatus, str]]:
    return [(e.status, e.message) for e in _events(folder, 0) if isinstance(e, StatusEvent)]


def test_a_finished_run_shows_finished(awkward):
    statuses = _statuses(awkward)
    assert statuses[0] == (RunStatus.RUNNING, "")
    assert statuses[-1][0] is RunStatus.DONE and statuses[-1][1].startswith("finished: exit code 0")


def test_a_run_finished_with_an_exit_code_shows_failed(tmp_path):
    run = wandb.init(mode="offline", dir=tmp_path, project="p", name="failing")
    run.log({"lr": 0.1, "loss": 2.0}, step=1)
    run.finish(exit_code=3)
    folder = next(tmp_path.glob("wandb/offline-run-*"))
    _until_finished(folder)
    status, message = _statuses(folder)[-1]
    assert status is RunStatus.ERROR and message.startswith("failed: exit code 3")


RAISES = """
import sys
import wandb
run = wandb.init(mode="offline", dir=sys.argv[1], project="p", name="raises")
for i in range(1, 4):
    run.log({"lr": 0.1 / i, "loss": 1.0 / i}, step=i)
raise RuntimeError("the training loop broke")
"""


def test_a_run_whose_script_raised_shows_failed_and_one_still_open_running(tmp_path):
    script = tmp_path / "raises.py"
    script.write_text(RAISES)
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}  # its own wandb core, not ours
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, timeout=120, env=env
    )
    assert done.returncode != 0 and b"the training loop broke" in done.stderr
    folder = next(tmp_path.glob("wandb/offline-run-*"))
    _until_finished(folder)
    assert _statuses(folder)[-1][0] is RunStatus.ERROR

    live = tmp_path / "live"
    run = wandb.init(mode="offline", dir=live, project="p", name="open")
    try:
        for i in range(1, 2001):
            run.log({"lr": 0.1 / i, "loss": 1.0 / i}, step=i)
        got: list = []
        src = WatchSource(live, got.extend)
        deadline = time.monotonic() + 60
        while not any(isinstance(e, StepBlock) for e in got):
            assert time.monotonic() < deadline
            src.poll_once()
            time.sleep(0.05)
        statuses = [e.status for e in got if isinstance(e, StatusEvent)]
        assert statuses == [RunStatus.RUNNING]  # open: no exit record yet
    finally:
        run.finish()
    deadline = time.monotonic() + 60
    while not any(isinstance(e, StatusEvent) and e.status is RunStatus.DONE for e in got):
        assert time.monotonic() < deadline, "the finished run never showed finished"
        src.poll_once()
        time.sleep(0.05)
