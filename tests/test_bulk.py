"""Big logs read in bulk give exactly what the line-by-line reader gives."""

import io
import json
import threading

from lrtui import RunRecorder
from lrtui.record import bulk
from lrtui.record.export import Exported, export_csv
from lrtui.record.format import decode
from lrtui.record.readers import jsonl_rows, jsonl_tail
from lrtui.record.readers.jsonl_rows import _line_row
from lrtui.record.watch import WatchSource
from lrtui.spec.commands import Command, Verb
from lrtui.spec.events import StepBlock, StepEvent

STEP = '{{"step": {}, "epoch": 0, "lr": [0.1], "loss": {}, "time": 0.5}}\n'


def _mixed_log(tmp_path):
    """Every kind of line the bulk readers must hand back: other shapes and types, several
    param groups, garbage, a diverged step, a restart, a last line still being written."""
    rec = RunRecorder(tmp_path, "mixed")
    for step in range(1, 400):
        rec.log(step, epoch=step // 100, lr=[0.1 / step, 0.2 / step], loss=1.0 / step)
    rec.close()
    with rec.path.open("a") as f:
        f.write(STEP.format(400, 1))  # an int loss: another type
        f.write('{"step": 401, "loss": 0.25, "epoch": 4, "lr": [0.1], "time": 1.0}\n')  # other order
        f.write("not json at all\n")
        f.write(STEP.format(402, 0.125))
        f.write(STEP.format(403, "NaN"))
        f.write('{"step": 404, "epoch": 0, "lr": [0.1], "loss": 0.1, "ti')  # being written
    return rec.path


def test_export_in_bulk_equals_line_by_line(tmp_path, monkeypatch):
    path = _mixed_log(tmp_path)
    monkeypatch.setattr(jsonl_rows, "CHUNK_BYTES", 4096)  # many chunks, split mid-line
    out = io.StringIO()
    result = export_csv([path], out)
    expected, reference = Exported(files=1), ["run,step,epoch,lr,loss,time\n"]
    lines = path.read_bytes().split(b"\n")[1:-1]  # no header, no half-written last line
    reference += filter(None, (_line_row(raw, "mixed", expected) for raw in lines))
    assert out.getvalue() == "".join(reference)
    assert (result.rows, result.corrupt) == (expected.rows, expected.corrupt + 1)  # + the half line
    assert "mixed,5,0,0.02;0.04,0.2," in out.getvalue()  # both param groups, joined by ;


def test_csv_rows_keep_the_numbers_text_and_refuse_any_other_shape():
    line = json.dumps({"step": 7, "epoch": 1, "lr": [1e-07, 0.5], "loss": 0.25, "time": 3.0}).encode()
    assert bulk.csv_rows([line], b"r") == b"r,7,1,1e-07;0.5,0.25,3.0\n"
    leading_zero = b'{"step": 07, "epoch": 1, "lr": [0.1], "loss": 0.25, "time": 3.0}'
    for bad in (leading_zero, STEP.format(1, "NaN").strip().encode()):
        assert bulk.csv_rows([line, bad], b"r") is None


def test_watching_in_bulk_equals_line_by_line(tmp_path, monkeypatch):
    path = _mixed_log(tmp_path)
    monkeypatch.setattr(jsonl_tail, "READ_CHUNK", 4096)
    got = []
    src = WatchSource(path, got.extend)
    for _ in range(200):
        src.poll_once()
    steps = [s for e in got if isinstance(e, StepBlock) for s in e.steps()]
    steps += [e for e in got if isinstance(e, StepEvent)]
    assert any(isinstance(e, StepBlock) for e in got)
    expected = []
    for raw in path.read_text().split("\n")[1:-1]:
        try:
            event = decode(raw, 0, 0)
        except ValueError:
            continue
        if isinstance(event, StepEvent):
            expected.append(event)
    key = lambda e: (e.step, e.epoch, e.lrs, repr(e.loss), e.time)  # noqa: E731
    # the NaN step marks the run diverged and is not folded; every other step is, as decoded
    assert sorted(map(key, steps)) == sorted(map(key, expected[:-1]))


def test_a_big_log_is_read_on_without_waiting_for_the_next_poll(tmp_path, monkeypatch):
    rec = RunRecorder(tmp_path, "big")
    for step in range(1, 3001):
        rec.log(step, epoch=0, lr=0.1, loss=1.0)
    rec.close()
    monkeypatch.setattr(jsonl_tail, "READ_CHUNK", 8192)  # about 40 reads
    got = []
    src = WatchSource(rec.path, got.extend, poll=60.0)  # a poll a minute: only a backlog reads on
    worker = threading.Thread(target=src.run, daemon=True)
    worker.start()
    while sum(len(e) for e in got if isinstance(e, StepBlock)) < 3000:  # bounded by the test timeout
        worker.join(0.05)
    src.send(Command(Verb.STOP))
    worker.join(5)
    assert not worker.is_alive()
