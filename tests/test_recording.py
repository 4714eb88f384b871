"""The events format, the recording API, --log-dir and export."""

import json
import math

import pytest
import torch
from helpers import steps_of, train

from lrtui import RunRecorder
from lrtui.commands.main import main
from lrtui.modes.config import Settings, build_experiment, build_ready
from lrtui.record.format import FORMAT, VERSION, decode, decode_header, encode, encode_header
from lrtui.spec.events import (
    EpochEvent,
    MarkEvent,
    PlanEvent,
    PlateauEvent,
    RunInfo,
    RunStatus,
    StatusEvent,
    StepEvent,
)


def test_format_round_trips_every_event_kind():
    events = [
        StepEvent(0, 0, 7, 2, (0.1, 0.01), 0.6931, 1.25),
        EpochEvent(0, 0, 2, 2000, (0.01,), 0.5),
        StatusEvent(0, 3, RunStatus.DIVERGED, "loss became nan", 12),
        PlanEvent(0, 0, (0.1, 0.05, 0.0), "batch", 10),
    ]
    for ev in events:
        assert decode(encode(ev), 0, 3 if isinstance(ev, StatusEvent) else 0) == ev
    nan = decode(encode(StepEvent(0, 0, 1, 1, (0.1,), math.nan, 0.0)), 0, 0)
    assert math.isnan(nan.loss)


def test_recorded_config_reaches_the_header_for_the_config_diff(tmp_path):
    with RunRecorder(tmp_path, "mine", config={"lr": 0.1, "scheduler": "OneCycleLR", "seed": 3}) as rec:
        rec.log(1, loss=1.0, lr=0.1)
    info = decode_header(rec.path.read_text().splitlines()[0])
    assert info.config == (("lr", "0.1"), ("scheduler", "OneCycleLR"), ("seed", "3"))


def test_header_names_format_and_version():
    line = encode_header(RunInfo("a", "d", 10, 2, 5, "StepLR(step_size=1)"))
    head = json.loads(line)
    assert head["format"] == FORMAT and head["version"] == VERSION
    assert decode_header(line) == RunInfo("a", "d", 10, 2, 5, "StepLR(step_size=1)")
    with pytest.raises(ValueError, match="newer"):
        decode_header(json.dumps({"format": FORMAT, "version": VERSION + 1}))
    with pytest.raises(ValueError, match="not an lrtui events file"):
        decode_header('{"step": 1}')


@pytest.mark.parametrize(
    "line",
    [
        "",
        "garbage",
        "[1, 2]",
        '{"step": "one"}',
        '{"step": 1, "lr": "x"}',
        '{"event": "warp"}',
        '{"event": "status", "status": "sleeping"}',
        '{"step": 1, "loss": [1]}',
    ],
)
def test_corrupt_lines_are_refused_with_value_error(line):
    with pytest.raises(ValueError):
        decode(line, 0, 0)


def _read(path):
    lines = path.read_text().splitlines()
    return decode_header(lines[0]), [decode(line, 0, 0) for line in lines[1:]]


def test_recorder_writes_floats_lists_and_tensors(tmp_path):
    with RunRecorder(tmp_path, "my run", total_steps=3) as rec:
        rec.log(1, epoch=1, lr=0.1, loss=0.9)
        rec.log(2, epoch=1, lr=[0.1, torch.tensor(0.2)], loss=torch.tensor(0.8))
        rec.log(epoch=1, lr=(0.05,), loss=torch.tensor([0.7]))  # step defaults to the next one
    assert rec.path.name == "my_run.jsonl"
    info, events = _read(rec.path)
    assert info.label == "my run" and info.total_steps == 3
    final = events.pop()  # leaving the block ends the run as done
    assert isinstance(final, StatusEvent) and final.status is RunStatus.DONE and final.step == 3
    assert [(e.step, e.lrs, round(e.loss, 6)) for e in events] == [
        (1, (0.1,), 0.9),
        (2, (0.1, pytest.approx(0.2)), 0.8),
        (3, (0.05,), 0.7),
    ]


def test_recorder_resolves_tensors_in_batches_not_per_call(tmp_path, monkeypatch):
    reads = []
    real_stack = torch.stack

    def counting_stack(tensors, *a, **kw):
        reads.append(len(tensors))
        return real_stack(tensors, *a, **kw)

    monkeypatch.setattr(torch, "stack", counting_stack)
    rec = RunRecorder(tmp_path, "b", flush_steps=50, flush_seconds=1e9)
    for step in range(1, 101):
        rec.log(step, lr=0.1, loss=torch.tensor(float(step)))
    assert reads == [50, 50]  # two transfers for 100 losses
    rec.close()
    assert len(rec.path.read_text().splitlines()) == 101


def test_recorder_batches_writes(tmp_path):
    rec = RunRecorder(tmp_path, "w", flush_steps=10, flush_seconds=1e9)
    for step in range(1, 10):
        rec.log(step, lr=0.1, loss=1.0)
    assert len(rec.path.read_text().splitlines()) == 1  # header only: nothing written per call
    rec.log(10, lr=0.1, loss=1.0)
    assert len(rec.path.read_text().splitlines()) == 11
    rec.close()


def test_new_files_never_overwrite(tmp_path):
    a = RunRecorder(tmp_path, "same")
    b = RunRecorder(tmp_path, "same")
    assert (a.path.name, b.path.name) == ("same.jsonl", "same-2.jsonl")
    a.close(), b.close()


def test_only_rank_zero_records_unless_all_ranks(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    quiet = RunRecorder(tmp_path, "r")
    quiet.log(1, lr=0.1, loss=1.0)
    quiet.close()
    assert quiet.path is None and list(tmp_path.iterdir()) == []
    loud = RunRecorder(tmp_path, "r", all_ranks=True)
    loud.log(1, lr=0.1, loss=1.0)
    loud.close()
    assert loud.path.name == "r.rank1.jsonl"
    assert _read(loud.path)[0].label == "r [rank 1]"


def test_an_exception_in_the_loop_is_recorded(tmp_path):
    with pytest.raises(RuntimeError), RunRecorder(tmp_path, "x") as rec:
        rec.log(1, lr=0.1, loss=1.0)
        raise RuntimeError("out of memory")
    _, events = _read(rec.path)
    assert events[-1].status is RunStatus.ERROR and "out of memory" in events[-1].message


def test_log_dir_records_every_run_one_line_per_step(tmp_path, capsys):
    argv = ["--headless", "--epochs", "2", "--batches", "5", "--log-dir", str(tmp_path)]
    assert main(argv) == 0
    files = sorted(tmp_path.glob("*.jsonl"))
    assert [f.stem for f in files] == sorted(
        ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau", "CyclicLR"]
    )
    trained = train(build_experiment(Settings(epochs=2, batches=5)))
    for i, name in enumerate(["StepLR", "MultiStepLR"]):
        info, events = _read(tmp_path / f"{name}.jsonl")
        steps = [e for e in events if isinstance(e, StepEvent)]
        assert info.total_steps == 10 and len(steps) == 10
        assert [(s.step, s.lrs, s.loss) for s in steps] == [
            (s.step, s.lrs, s.loss) for s in steps_of(trained, i)
        ]
        assert events[-1].status is RunStatus.DONE
    # regime marks and plateau counters reach the files too, for `lrtui watch`
    _, step_events = _read(tmp_path / "StepLR.jsonl")
    assert [(m.step, m.label) for m in step_events if isinstance(m, MarkEvent)] == [(10, "StepLR x0.1")]
    info, plateau_events = _read(tmp_path / "ReduceLROnPlateau.jsonl")
    assert any(isinstance(e, PlateauEvent) and e.counters.patience == 2 for e in plateau_events)
    assert ("scheduler", "ReduceLROnPlateau") in info.config and ("seed", "0") in info.config


def test_log_dir_that_cannot_be_written_is_an_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as exit_info:
        main(["--headless", "--log-dir", str(blocker / "sub")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("lrtui: error: --log-dir")


def test_export_writes_one_row_per_step_and_counts_corrupt_lines(tmp_path, capsys):
    with RunRecorder(tmp_path, "a") as rec:
        for step in range(1, 4):
            rec.log(step, epoch=1, lr=0.1 / step, loss=1.0 / step)
    with rec.path.open("a") as f:
        f.write("not json\n")
        f.write('{"step": 4, "epoch": 1, "lr": [0.01], "loss": 0.2')  # half-written last line
    out = tmp_path / "out.csv"
    assert main(["export", str(tmp_path), "--csv", str(out)]) == 0
    rows = out.read_text().splitlines()
    assert rows[0] == "run,step,epoch,lr,loss,time"
    assert [r.split(",")[:5] for r in rows[1:]] == [
        ["a", "1", "1", "0.1", "1.0"],
        ["a", "2", "1", "0.05", "0.5"],
        ["a", "3", "1", str(0.1 / 3), str(1.0 / 3)],
    ]
    err = capsys.readouterr().err
    assert "wrote 3 rows" in err and "skipped 2 corrupt lines" in err


def test_export_of_a_missing_path_is_an_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(tmp_path / "nope"), "--csv", "-"])
    assert exit_info.value.code == 2
    assert "no such file" in capsys.readouterr().err


async def test_the_live_app_records_with_log_dir(tmp_path):
    from lrtui.modes.live import build_app
    from lrtui.record.writer import LogDirSink
    from lrtui.spec.describe import run_infos

    ready = build_ready(Settings(epochs=2, batches=10))
    sink = LogDirSink(tmp_path, run_infos(ready.exp))
    app = build_app(ready, sink)
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(2000):  # until training ends (bounded by the test's own time)
            if app.state.overall() == "finished":
                break
            await pilot.pause(0.01)
        assert app.state.overall() == "finished"
        await pilot.press("q")
    sink.close()
    files = sorted(tmp_path.glob("*.jsonl"))
    assert len(files) == 6
    for f in files:
        info, events = _read(f)
        assert info.total_steps == 20
        assert [e.step for e in events if isinstance(e, StepEvent)] == list(range(1, 21))
