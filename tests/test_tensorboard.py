"""TensorBoard event files: watched live and exported, with the tags the trainers write, written
here by torch's own SummaryWriter (the real format, not an imitation)."""

from __future__ import annotations

import csv
import io
import struct

import pytest
from torch.utils.tensorboard import SummaryWriter

from lrtui.commands.main import main
from lrtui.record.readers import tfevents
from lrtui.record.watch import WatchSource
from lrtui.spec.events import CorruptLines, RunAdded, ScalarBlock, StatusEvent, StepBlock
from lrtui.state.runs import ExperimentState


def _write(directory, steps, tags=("train/learning_rate", "train/loss"), start=0, extra=()):
    with SummaryWriter(str(directory)) as w:
        for s in range(start, start + steps):
            w.add_scalar(tags[0], 0.1 / (1 + s), s)
            w.add_scalar(tags[1], 2.0 - s / 100, s)
            for tag in extra:
                w.add_scalar(tag, s * 0.5, s)


def _watch(path, **kw):
    got: list = []
    src = WatchSource(path, got.extend, **kw)
    src.poll_once()
    while any(getattr(t, "backlog", False) for t in src._tails.values()):
        src.poll_once()
    return src, got


def _blocks(events):
    return [e for e in events if isinstance(e, StepBlock)]


def test_hf_style_runs_under_a_directory_are_found_and_named(tmp_path):
    _write(tmp_path / "bert-cosine", 30, extra=("eval/loss",))
    _write(tmp_path / "sweep" / "lr-3e-4", 20)
    (tmp_path / "empty").mkdir()
    _, got = _watch(tmp_path)
    names = {e.info.label for e in got if isinstance(e, RunAdded)}
    assert names == {"bert-cosine", "sweep/lr-3e-4"}
    state = ExperimentState([], lambda: 0.0)
    state.apply(got)
    bert = next(r for r in state.runs if r.info.label == "bert-cosine")
    assert bert.step == 29 and bert.lr == pytest.approx(0.1 / 30) and bert.loss == pytest.approx(2.0 - 0.29)
    assert "lr train/learning_rate · loss train/loss" in bert.info.detail
    assert len(bert.scalars["eval/loss"]) == 30  # other scalars kept for the charts


def test_lightning_tags_and_every_param_group(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        for s in range(10):
            w.add_scalar("lr-SGD", 0.1, s)
            w.add_scalar("lr-SGD/pg1", 0.01, s)
            w.add_scalar("train_loss_step", 1.0 / (s + 1), s)
            w.add_scalar("epoch", s // 5, s)
    _, got = _watch(tmp_path)
    steps = [step for b in _blocks(got) for step in b.steps()]
    assert steps[0].lrs == pytest.approx((0.1, 0.01))
    assert [s.epoch for s in steps] == [1] * 5 + [2] * 5
    _, custom = _watch(tmp_path, loss_tag="epoch")  # --loss-tag picks another
    assert [s.loss for b in _blocks(custom) for s in b.steps()][-1] == 1.0


def test_hf_epochs_completed_are_read_as_logged(tmp_path, capsys):
    """HF's `train/epoch` is the share of epochs completed: 1.0 at step 5 is epoch 1's last step,
    not the start of epoch 2 (Lightning's 0-based `epoch`, above, counts the other way)."""
    with SummaryWriter(str(tmp_path)) as w:
        for s in range(1, 11):
            w.add_scalar("train/learning_rate", 0.1, s)
            w.add_scalar("train/loss", 1.0 / s, s)
            w.add_scalar("train/epoch", s / 5, s)
    _, got = _watch(tmp_path)
    assert [s.epoch for b in _blocks(got) for s in b.steps()] == [1] * 5 + [2] * 5
    assert main(["export", str(tmp_path), "--csv", "-"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert [row[2] for row in rows[1:]] == ["1"] * 5 + ["2"] * 5


def test_a_growing_file_waits_for_its_last_record(tmp_path):
    _write(tmp_path, 10)
    file = next(tmp_path.glob("events.out.tfevents.*"))
    whole = file.read_bytes()
    file.write_bytes(whole[:-7])  # the last record half written
    src, got = _watch(tmp_path)
    assert sum(len(b) for b in _blocks(got)) == 9
    with file.open("ab") as f:
        f.write(whole[-7:])
    got.clear()
    src.poll_once()
    assert [s.step for b in _blocks(got) for s in b.steps()] == [9]


def test_a_bad_crc_is_skipped_and_counted_and_garbage_passed_over(tmp_path):
    _write(tmp_path, 10)
    file = next(tmp_path.glob("events.out.tfevents.*"))
    data = bytearray(file.read_bytes())
    (length,) = struct.unpack_from("<Q", data, 0)
    second = 16 + length  # the file-version record, then the first scalar
    data[second + 12] ^= 0xFF  # a flipped byte inside a record's data
    file.write_bytes(bytes(data) + b"\x00garbage\x01" * 3)
    _, got = _watch(tmp_path)
    assert sum(e.count for e in got if isinstance(e, CorruptLines)) == 2
    steps = [s for b in _blocks(got) for s in b.steps()]
    assert len(steps) == 10 and steps[0].lrs[0] != steps[0].lrs[0]  # step 0 lost its LR (NaN), kept its loss


def test_a_resumed_run_is_shown_as_tensorboard_shows_it(tmp_path):
    _write(tmp_path, 50)
    _write(tmp_path, 40, start=30)  # resumed from a checkpoint at step 30: a second file
    _, got = _watch(tmp_path)
    assert any(isinstance(e, StatusEvent) and "resumed at step 30" in e.message for e in got)
    state = ExperimentState([], lambda: 0.0)
    state.apply(got)
    run = state.runs[0]
    assert run.gen == 1 and run.step == 69 and len(run.loss_series) == 70  # 0..29 kept, then 30..69


def test_export_event_files_with_extra_tags(tmp_path, capsys):
    _write(tmp_path / "a", 5, extra=("train/grad_norm",))
    assert main(["export", str(tmp_path), "--csv", "-", "--tag", "train/grad_norm"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["run", "step", "epoch", "lr", "loss", "time", "train/grad_norm"]
    assert rows[1][:3] == ["a", "0", "1"] and float(rows[1][3]) == pytest.approx(
        0.1, rel=1e-7
    )  # float32, as stored
    assert rows[1][4] == "2.0" and rows[5][6] == "2.0"
    assert len(rows) == 6


def test_without_the_extra_the_error_names_it(tmp_path, monkeypatch):
    _write(tmp_path, 3)

    def missing():
        raise tfevents.MissingExtraError(
            f"reading TensorBoard event files needs the tensorboard extra: {tfevents.EXTRA}"
        )

    monkeypatch.setattr(tfevents, "_modules", missing)
    _, got = _watch(tmp_path)
    errors = [e.message for e in got if isinstance(e, StatusEvent) and e.status.value == "error"]
    assert errors and "pip install 'lrtui[tensorboard]'" in errors[0]


def test_a_newer_format_says_so_and_is_read(tmp_path):
    from tensorboard.compat.proto import event_pb2

    _write(tmp_path, 3)
    file = next(tmp_path.glob("events.out.tfevents.*"))
    record = event_pb2.Event(wall_time=1.0, file_version="brain.Event:3").SerializeToString()
    import google_crc32c

    def masked(b):
        crc = google_crc32c.value(b)
        return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)

    header = struct.pack("<Q", len(record))
    file.write_bytes(header + masked(header) + record + masked(record) + file.read_bytes())
    _, got = _watch(tmp_path)
    assert any(isinstance(e, StatusEvent) and "newer event format" in e.message for e in got)
    assert sum(len(b) for b in _blocks(got)) == 3


def test_many_runs_in_one_directory(tmp_path):
    for i in range(120):
        _write(tmp_path / f"run{i:03d}", 2)
    _, got = _watch(tmp_path)
    assert len([e for e in got if isinstance(e, RunAdded)]) == 120
    assert not any(isinstance(e, ScalarBlock) for e in got)


def test_a_writers_files_are_read_in_the_order_written_past_the_ninth(tmp_path):
    """SummaryWriter numbers its files per process: `.9` then `.10`, which sort the other way as text."""
    from lrtui.record.readers.tb_tail import tb_files

    names = [f"events.out.tfevents.1700000000.host.42.{n}" for n in (9, 10, 11)]
    for name in reversed(names):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in tb_files(tmp_path)] == names
