"""W&B offline runs, as a log source: each folder holding a `run-<id>.wandb` file
(`wandb/offline-run-*/`, or `wandb/latest-run/`) is a run, its file read as it grows. Its
records are framed as W&B writes them (`wandb_log`) and parsed by wandb's own generated
protobuf classes (`wandb_internal_pb2`, the `wandb` extra, loaded when a file is first read).

A history record is a step: its `_step` (or the step W&B numbered it with), its numbers by key
(`train/loss`, `lr`, nested keys joined by `/`), its `_timestamp`; the run record names the run
(`display_name`) and holds its config, which later config records update. Values that are not
numbers (media, tables, text) are not steps' values and are passed over. The exit record that
`wandb.finish()` writes ends the run: finished, or failed where its exit code is not 0.

A big read (the file's first megabytes, or a backlog) goes the bulk way: framed by
`wandb_frames`, its history records decoded by `wandb_history` into columns, which `metric_tail`
folds as columns; the few records that way does not take (the run, config and exit records, any
history record of another shape) are parsed here as above, so the points are the same either
way. A live file's few new records take the exact way alone.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import os
import sys
import types
from collections.abc import Iterable
from operator import itemgetter
from pathlib import Path
from typing import Any

from lrtui.record.readers.base import walk
from lrtui.record.readers.metric_columns import Columns
from lrtui.record.readers.metric_reader import FolderSource, MetricReader
from lrtui.record.readers.metric_tail import Chunk, Meta, Point, config_pairs, run_label
from lrtui.record.readers.wandb_frames import PAD, Spans, frame_spans
from lrtui.record.readers.wandb_history import decode
from lrtui.record.readers.wandb_log import FILE_HEADER, Framing, check_header, frame
from lrtui.record.readers.wandb_values import Keys
from lrtui.spec.errors import SpecError
from lrtui.spec.text import clean

EXTRA = "pip install 'lrtui[wandb]'"
READ_FIRST = 2 << 20  # a file's first read: the first screen shows while the rest is read
READ_CHUNK = 8 << 20  # each later read (per poll, read on at once while there is more)
BULK_FROM = 64 << 10  # a read this big is framed and decoded in bulk (numpy); a live file's new
# records, a few KB a poll, are parsed one by one
SUFFIX = ".wandb"


# The first tag of records that are never a step or the run's setup (summary, output, stats,
# telemetry, output_raw): Go's encoder writes a record's fields in field-number order, so after
# the optional `num` (field 1) comes the oneof's tag. A record not recognised so is parsed.
_PASSED_OVER = frozenset((0x1A, 0x22, 0x3A, 0x5A, 0x6A))


def _passed_over(data: bytes) -> bool:
    """Whether a record is one of `_PASSED_OVER`, from its first tag, without parsing it: most
    of a run's records are summaries and system stats, and parsing them would double the time."""
    at = 0
    if data[:1] == b"\x08":  # `num`, a varint
        at = 1
        while at < len(data) and data[at] & 0x80:
            at += 1
        at += 1
    return at < len(data) and data[at] in _PASSED_OVER


def _record_class() -> Any:
    """wandb's `Record` message class. Where wandb itself is not imported yet, its generated
    protobuf modules are loaded without running `wandb/__init__` (a second, not 0.1 s, before a
    first screen): its package is stood in for while they load, then taken out again, so a later
    `import wandb` loads the real package (and finds the same classes in protobuf's pool)."""
    try:
        if "wandb" in sys.modules:
            from wandb.proto import wandb_internal_pb2

            return wandb_internal_pb2.Record
        return _load_protos().Record
    except ImportError as exc:
        raise SpecError(f"reading W&B runs needs the wandb extra: {EXTRA} ({exc.name})") from None


def _load_protos() -> Any:
    spec = importlib.util.find_spec("wandb")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("no wandb", name="wandb")
    root = spec.submodule_search_locations[0]
    before = set(sys.modules)
    package, proto = types.ModuleType("wandb"), types.ModuleType("wandb.proto")
    package.__path__, proto.__path__ = [root], [os.path.join(root, "proto")]
    sys.modules["wandb"], sys.modules["wandb.proto"] = package, proto
    try:
        return importlib.import_module("wandb.proto.wandb_internal_pb2")
    finally:
        for name in set(sys.modules) - before:
            if name == "wandb" or name.startswith("wandb."):
                del sys.modules[name]


def _history(history: Any) -> Point | None:
    """A history record's step, numbers and wall time; None if it has no step."""
    values: dict[str, float] = {}
    step = history.step.num if history.HasField("step") else None
    wall = math.nan
    for item in history.item:
        nested = item.nested_key
        key = nested[0] if len(nested) == 1 else item.key or "/".join(nested)
        try:
            value = float(item.value_json)
        except ValueError:
            continue  # text, media, a table: not a step's value
        if key.startswith("_"):
            if key == "_step" and step is None and value.is_integer():
                step = int(value)
            elif key == "_timestamp":
                wall = value
            continue
        values[key] = value
    return None if step is None else (step, values, wall)


def _config(update: Any, into: dict[str, object]) -> None:
    for item in update:
        key = item.key or "/".join(item.nested_key)
        if key.startswith("_"):
            continue
        try:
            into[key] = json.loads(item.value_json)
        except ValueError:
            into[key] = item.value_json


def run_file(folder: Path) -> Path | None:
    """A run folder's `.wandb` file (the newest, should a folder hold two)."""
    found = [p for p in folder.glob(f"run-*{SUFFIX}") if p.is_file()]
    return max(found, key=lambda p: (p.stat().st_mtime_ns, p.name), default=None)


class WandbSource(FolderSource):
    """One run folder's `.wandb` file, read from where the last read stopped."""

    def __init__(self, folder: Path, root: Path | None, bulk_from: int = BULK_FROM) -> None:
        self._bulk_from = bulk_from
        self._record: Any = None  # wandb's Record class, imported at the first read
        super().__init__(folder, root)

    def restart(self) -> None:
        self._framing = Framing(offset=len(FILE_HEADER))
        self._inode: int | None = None
        self._name = ""
        self._project = ""
        self._config: dict[str, object] = {}
        self._keys = Keys()

    def read(self) -> Chunk:
        file = run_file(self.path)
        try:
            stat = file.stat() if file else None
        except FileNotFoundError:
            stat = None
        if file is None or stat is None:
            return Chunk(missing=True)
        chunk = Chunk()
        framing = self._framing
        if (self._inode is not None and stat.st_ino != self._inode) or stat.st_size < framing.offset:
            self.restart()
            framing = self._framing
            chunk.restarted = f"{file.name} was replaced: re-reading"
        if stat.st_size <= framing.offset:
            self._inode = self._inode if stat.st_size < len(FILE_HEADER) else stat.st_ino
            return chunk
        with file.open("rb") as f:
            if self._inode is None:
                check_header(f.read(len(FILE_HEADER)), clean(file.name, 120))
            self._inode = stat.st_ino
            f.seek(framing.offset)
            want = READ_FIRST if framing.offset == len(FILE_HEADER) else READ_CHUNK
            data = bytearray(want + PAD)  # zeros after the bytes read: see `wandb_frames`
            with memoryview(data) as into:
                size = f.readinto(into[:want])
        start = framing.offset
        chunk.more = start + size < stat.st_size
        spans = frame_spans(data, size, start, framing) if size >= self._bulk_from else None
        if spans is not None:
            self._bulk(spans, chunk)
            return chunk
        frame(bytes(data[:size]), start, framing)
        records, framing.records = framing.records, []
        chunk.corrupt, framing.corrupt = framing.corrupt, 0
        chunk.points = [point for _, point in self._parse(enumerate(records), chunk)]
        return chunk

    def _bulk(self, spans: Spans, chunk: Chunk) -> None:
        """A big read: its history as columns, what the bulk decoding left parsed one by one."""
        history = decode(spans, self._keys)
        at = history.exact
        spans_at = zip(at.tolist(), spans.starts[at].tolist(), spans.ends[at].tolist(), strict=True)
        exact = self._parse(((i, bytes(spans.buffer[a:b])) for i, a, b in spans_at), chunk)
        columns = Columns(history.steps, history.walls, history.values)
        if not exact:
            chunk.columns = columns
            return
        both = sorted([*zip(history.rows.tolist(), columns.points(), strict=True), *exact], key=itemgetter(0))
        chunk.points = [point for _, point in both]  # history of both ways: in the file's order

    def _parse(self, records: Iterable[tuple[int, bytes]], chunk: Chunk) -> list[tuple[int, Point]]:
        """Records parsed by wandb's protobuf classes: the history points (each with its place
        in the read), and the run's name, setup and end, into `chunk`."""
        if self._record is None:
            self._record = _record_class()
        record = self._record()
        told = False
        points: list[tuple[int, Point]] = []
        for at, data in records:
            if _passed_over(data):
                continue
            try:
                record.ParseFromString(data)
            except Exception:  # protobuf's DecodeError: a record that passed its CRC but does not parse
                chunk.corrupt += 1
                continue
            kind = record.WhichOneof("record_type")
            if kind == "history":
                point = _history(record.history)
                if point is not None:
                    points.append((at, point))
            elif kind == "exit":
                code, runtime = record.exit.exit_code, record.exit.runtime
                chunk.finished = f"{'failed' if code else 'finished'}: exit code {code}"
                chunk.finished += f" after {runtime:,} s" if runtime > 0 else ""
                chunk.failed = code != 0
            elif kind == "run":
                self._name = record.run.display_name or record.run.run_id
                self._project = record.run.project
                _config(record.run.config.update, self._config)
                told = True
            elif kind == "config":
                _config(record.config.update, self._config)
                told = True
        if told:
            folder = run_label(self.path, self._root)
            label = clean(self._name, 120) if self._name else folder
            chunk.meta = Meta(label, " · ".join(clean(x, 80) for x in (self._project, folder) if x),
                              config_pairs(self._config))  # fmt: skip
        return points


class WandbReader(MetricReader):
    name = "wandb"
    kind = "wandb"
    reads = f"W&B run-*{SUFFIX}"

    def claims(self, file: Path) -> bool:
        return file.suffix == SUFFIX

    def run_of(self, file: Path) -> Path:
        return file.parent

    def runs(self, directory: Path) -> list[Path]:
        found = []
        for folder, _, files in walk(directory):  # `latest-run`, a link, is not entered
            if any(f.startswith("run-") and f.endswith(SUFFIX) for f in files):
                found.append(Path(folder))
        return sorted(found)

    def source(self, run: Path, root: Path | None) -> WandbSource:
        return WandbSource(run, root)
