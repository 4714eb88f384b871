"""The bench's TensorBoard part: one run of N steps x 2 scalars (HF's tags), written straight in
the record format, then read by lrtui's watcher (to a full state, and to the first batch the
app can draw), exported by `lrtui export`, and loaded by tensorboard's own EventAccumulator,
side by side on the same file. Needs the tensorboard extra.
"""

from __future__ import annotations

import struct
import tempfile
import time
from pathlib import Path

from lrtui.bench.log_read import export_seconds, print_seconds, watch_all


def write_run(directory: Path, steps: int) -> Path:
    """An events file as SummaryWriter writes it (wall time, step, one simple_value each),
    made directly from the protos: SummaryWriter itself needs ~27 s for 200,000 steps."""
    import google_crc32c
    from tensorboard.compat.proto import event_pb2, summary_pb2

    def masked(data: bytes) -> bytes:
        crc = google_crc32c.value(data)
        return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)

    path = directory / "events.out.tfevents.1700000000.bench.1.0"
    records = [event_pb2.Event(wall_time=1.7e9, file_version="brain.Event:2")]
    for s in range(steps):
        for tag, value in (("train/loss", 2.0 / (1 + s)), ("train/learning_rate", 1e-3 * 0.99999**s)):
            summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
            records.append(event_pb2.Event(wall_time=1.7e9 + s * 0.01, step=s, summary=summary))
    with path.open("wb") as f:
        for record in records:
            data = record.SerializeToString()
            header = struct.pack("<Q", len(data))
            f.write(header + masked(header) + data + masked(data))
    return path


def _tensorboard(directory: Path) -> float:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    start = time.perf_counter()
    acc = EventAccumulator(str(directory), size_guidance={"scalars": 0})
    acc.Reload()
    assert acc.Scalars("train/loss")
    return time.perf_counter() - start


def part_tb(steps: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        run.mkdir()
        size = write_run(run, steps).stat().st_size
        watched = watch_all(run)
        return {
            "steps": steps,
            "mb": size / 1e6,
            "watch_first_s": watched.first_s,
            "watch_all_s": watched.all_s,
            "watch_last_step": watched.state.runs[0].step,
            "export_s": export_seconds(run),
            "tensorboard_s": _tensorboard(run),
        }


def report(r: dict) -> None:
    print(f"\nTensorBoard: one run of {r['steps']:,} steps x 2 scalars ({r['mb']:.1f} MB), one file for all")
    rows = [
        ("lrtui watch: first batch of steps ready", r["watch_first_s"], "target <= 2 s to a first screen"),
        ("lrtui watch: every step folded into the view", r["watch_all_s"], ""),
        ("lrtui export --csv", r["export_s"], "target <= 3 s"),
        ("tensorboard EventAccumulator.Reload()", r["tensorboard_s"], ""),
    ]
    print_seconds(rows, 46)
    print(f"  {'tensorboard / lrtui watch, every step':46} {r['tensorboard_s'] / r['watch_all_s']:6.1f} x")
