"""The bench's W&B part: one offline run of N steps (an LR and a loss a step), written straight
in W&B's file format from its own protobuf classes, record for record as `run.log(...)` in
wandb 0.2x/0.3x leaves them offline: each record numbered (`num`), a history record and two
summary records a step (the step's values, then `_wandb.runtime` and `_runtime`), the items in
an order that changes from step to step (the core walks a map). `wandb.log` itself takes about
0.5 ms a step offline: 8 minutes for a million. Then read by lrtui's watcher: to the first batch
the app can draw, to every step folded into the view, and one new step appended to the finished
file, to the view. Also `lrtui export`. Needs the wandb extra.

The file is kept in the temp folder (`lrtui-bench-wandb-v2-<steps>.wandb`) and copied from
there by later benches: writing a million steps takes about a minute, reading them a few seconds.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import time
import zlib
from pathlib import Path

from lrtui.bench.log_read import export_seconds, print_seconds, watch_all
from lrtui.record.readers.wandb_log import BLOCK, FILE_HEADER, FIRST, FULL, HEADER, LAST, MIDDLE


class _LogWriter:
    """W&B's framing (`readers.wandb_log`), the writing side: records cut at 32 KiB blocks."""

    def __init__(self, path: Path) -> None:
        self.f = path.open("ab")
        if self.f.tell() == 0:
            self.f.write(FILE_HEADER)
        self.pos = self.f.tell()

    def write(self, data: bytes) -> None:
        first = True
        while True:
            left = BLOCK - self.pos % BLOCK
            if left < HEADER:
                self.f.write(b"\x00" * left)
                self.pos += left
                continue
            piece, data = data[: left - HEADER], data[left - HEADER :]
            kind = (FULL if not data else FIRST) if first else (LAST if not data else MIDDLE)
            crc = zlib.crc32(piece, zlib.crc32(bytes([kind])))
            self.f.write(struct.pack("<IHB", crc, len(piece), kind) + piece)
            self.pos += HEADER + len(piece)
            first = False
            if not data:
                return

    def close(self) -> None:
        self.f.close()


def _step_records(pb, step: int) -> tuple[bytes, bytes, bytes]:
    """The records of one step, as `run.log` leaves them: the step's values as a summary
    update, its history record, and the runtime's summary update; numbered as the core numbers
    them (3 a step after the run's first few), the items in a rotating order."""
    values = {"_step": step, "_runtime": step * 0.01, "_timestamp": 1.7e9 + step * 0.01}
    values |= {"lr": 1e-3 * 0.99999**step, "loss": 2.0 / (1 + step)}
    keys = list(values)
    keys = keys[step % len(keys) :] + keys[: step % len(keys)]
    num = 3 * step
    summary = pb.Record(num=num, summary=pb.SummaryRecord())
    history = pb.Record(num=num + 1, history=pb.HistoryRecord(step=pb.HistoryStep(num=step)))
    for key in keys:
        summary.summary.update.add(nested_key=[key], value_json=repr(values[key]))
        history.history.item.add(nested_key=[key], value_json=repr(values[key]))
    runtime = pb.Record(num=num + 2, summary=pb.SummaryRecord())
    runtime.summary.update.add(nested_key=["_wandb", "runtime"], value_json=str(int(step * 0.01)))
    runtime.summary.update.add(key="_runtime", value_json=str(int(step * 0.01)))
    return summary.SerializeToString(), history.SerializeToString(), runtime.SerializeToString()


def write_run(directory: Path, steps: int) -> Path:
    from wandb.proto import wandb_internal_pb2 as pb

    folder = directory / "wandb" / "offline-run-bench"
    folder.mkdir(parents=True)
    path = folder / "run-bench.wandb"
    out = _LogWriter(path)
    run = pb.Record(run=pb.RunRecord(run_id="bench", display_name="bench", project="lrtui"))
    out.write(run.SerializeToString())
    for step in range(1, steps + 1):
        for data in _step_records(pb, step):
            out.write(data)
    out.close()
    return path


def _watch(directory: Path, file: Path, steps: int) -> dict:
    from wandb.proto import wandb_internal_pb2 as pb

    watched = watch_all(directory)
    out = _LogWriter(file)
    for data in _step_records(pb, steps + 1):
        out.write(data)
    out.close()
    start = time.perf_counter()
    watched.source.poll_once()
    new_step = time.perf_counter() - start
    return {
        "watch_first_s": watched.first_s,
        "watch_all_s": watched.all_s,
        "watch_all_cpu_s": watched.cpu_s,
        "new_step_s": new_step,
        "watch_last_step": watched.state.runs[0].step,
    }


def cached_run(steps: int) -> tuple[Path, float | None]:
    """The bench's file of `steps` steps, written once and kept in the temp folder, and the
    seconds writing it took (None: written by an earlier bench)."""
    cache = Path(tempfile.gettempdir()) / f"lrtui-bench-wandb-v2-{steps}.wandb"
    if cache.exists():
        return cache, None
    with tempfile.TemporaryDirectory(dir=cache.parent) as tmp:
        start = time.perf_counter()
        file = write_run(Path(tmp), steps)
        written = time.perf_counter() - start
        os.replace(file, cache)  # whole or not at all: a bench cut short leaves no half file
    return cache, written


def part_wandb(steps: int) -> dict:
    source, written = cached_run(steps)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "logs"
        file = root / "wandb" / "offline-run-bench" / "run-bench.wandb"
        file.parent.mkdir(parents=True)
        shutil.copyfile(source, file)
        result = {"steps": steps, "mb": file.stat().st_size / 1e6, "write_s": written}
        result |= _watch(root, file, steps)
        result["export_s"] = export_seconds(root)
        return result


def report(r: dict) -> None:
    made = f"written in {r['write_s']:.0f} s" if r["write_s"] is not None else "written by an earlier bench"
    size = f"{r['mb']:.1f} MB, {made}"
    print(f"\nW&B: one offline run of {r['steps']:,} steps, lr + loss, as run.log writes it ({size})")
    rows = [
        ("lrtui watch: first batch of steps ready", r["watch_first_s"], "target <= 1 s"),
        ("lrtui watch: every step folded into the view", r["watch_all_s"], "target <= 3 s"),
        ("lrtui watch: one new step appended, to the view", r["new_step_s"], "target <= 3 s"),
        ("lrtui export --csv", r["export_s"], ""),
    ]
    print_seconds(rows, 48)
    print(f"  (every step: {r['watch_all_cpu_s']:.2f} s of this process's CPU)")
    print(f"  last step shown: {r['watch_last_step']:,}")
