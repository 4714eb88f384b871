"""W&B history records decoded in bulk, straight from their protobuf wire bytes, with numpy.

A `Record` as W&B's core writes one: `num` (field 1, a varint), then its kind, a length-delimited
field; for history (field 2) a `HistoryRecord` of `item`s (field 1) and a `step` (field 2,
`HistoryStep{num: 1}`), each item `HistoryItem{nested_key: 2, value_json: 16}`:

    08 <num>  12 <len>  [0a <len> (12 <len> key)... 82 01 <len> value]...  12 <len> 08 <step>

(a key logged as a nested dict has a `nested_key` a level: the exact path joins them by `/`).
One turn of the loop reads the next field of every history record at once, and a record is
taken only where each field is exactly that shape (one-byte lengths, the value as JSON text,
nothing else in the record). Its keys are matched and its values read by `wandb_values`.
Anything else — another record kind (run, config, exit), an item with a `key` field or a typed
value, a value past 127 bytes, a key seen twice, text that is not UTF-8, a field these shapes do
not name — is left to the exact path (wandb's protobuf classes), so the points are those it
would find.
The records that W&B writes beside every step and no view uses (summary, stats, output,
telemetry) are recognised by their first tag, as `wandb._passed_over` does, and passed over.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lrtui.record.readers.wandb_frames import Spans, view
from lrtui.record.readers.wandb_values import Keys, ascii_text, numbers

PASSED_OVER = np.array([0x1A, 0x22, 0x3A, 0x5A, 0x6A])  # summary, output, stats, telemetry, output_raw
_STEP, _TIME = "_step", "_timestamp"


@dataclass
class History:
    """The history records of one read that were decoded in bulk, as columns (one row a step),
    and the records left to the exact path."""

    rows: np.ndarray  # int64: each step's record, an index into the read's records
    steps: np.ndarray  # int64
    walls: np.ndarray  # float64: `_timestamp`, nan where not logged
    values: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # name: (value, logged)
    exact: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # records left over


def varints(buf: np.ndarray, at: np.ndarray, most: int) -> tuple[np.ndarray, np.ndarray]:
    """The varints at `at`: their values and lengths in bytes (0 where longer than `most`)."""
    value = np.zeros(len(at), np.uint64)
    length = np.zeros(len(at), np.int64)
    going = np.ones(len(at), bool)
    for k in range(most):
        byte = buf[at + k]
        value |= np.where(going, (byte & 0x7F).astype(np.uint64) << np.uint64(7 * k), np.uint64(0))
        ends = going & (byte < 0x80)
        length[ends] = k + 1
        going &= ~ends
        if not going.any():
            break
    return value, length


def _kinds(buf: np.ndarray, spans: Spans) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each record's history content start (-1 where it is no plain history record), which
    records are passed over, and which go to the exact path."""
    starts, ends = spans.starts, spans.ends
    has_num = buf[starts] == 0x08
    _, num = varints(buf, starts + 1, 10)
    tag_at = np.where(has_num, starts + 1 + num, starts)
    readable = (~has_num | (num > 0)) & (tag_at < ends)
    tag = buf[tag_at]
    passed = readable & np.isin(tag, PASSED_OVER)
    content = np.full(len(starts), -1, np.int64)
    some = np.flatnonzero(readable & (tag == 0x12))
    size, width = varints(buf, tag_at[some] + 1, 4)
    whole = (width > 0) & (tag_at[some] + 1 + width + size.astype(np.int64) == ends[some])
    content[some[whole]] = (tag_at[some] + 1 + width)[whole]
    return content, passed, ~passed & (content < 0)


@dataclass
class _Items:
    records: list[np.ndarray] = field(default_factory=list)
    keys: list[np.ndarray] = field(default_factory=list)
    key_lengths: list[np.ndarray] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    value_lengths: list[np.ndarray] = field(default_factory=list)

    def columns(self) -> tuple[np.ndarray, ...]:
        parts = (self.records, self.keys, self.key_lengths, self.values, self.value_lengths)
        return tuple(np.concatenate(p) if p else np.zeros(0, np.int64) for p in parts)


def _fields(buf: np.ndarray, u64: np.ndarray, u32: np.ndarray, content: np.ndarray, ends: np.ndarray):
    """Every item of every record, and each record's `step` field (its offset, or -1), read a
    field of every record a turn; `alive` False for a record not of the shapes taken."""
    n = len(content)
    alive, step_at = np.ones(n, bool), np.full(n, -1, np.int64)
    items = _Items()
    going, pos = np.flatnonzero(content < ends), content[content < ends]
    while len(going):
        end = ends[going]
        head = u64[pos].view(np.uint8).reshape(-1, 8)  # tag, length; an item's 0x12, key's length
        tag, size, third, key_len = head[:, 0], head[:, 1], head[:, 2], head[:, 3]
        nxt, key_end = pos + 2 + size, np.minimum(pos + 4 + key_len, end)
        _parts(buf, key_end, end, np.flatnonzero((tag == 0x0A) & (third == 0x12) & (key_len < 0x80)))
        tail = u32[key_end].view(np.uint8).reshape(-1, 4)  # 82 01 <value's length>
        value_len = tail[:, 2]
        item = (tag == 0x0A) & (third == 0x12) & (tail[:, 0] == 0x82) & (tail[:, 1] == 0x01)
        item &= (key_end + 3 + value_len == nxt) & ((key_len | value_len) < 0x80)
        step = (tag == 0x12) & ((size == 0) | (third == 0x08))
        good = (size < 0x80) & (nxt <= end) & (item | step)
        if not good.all():
            alive[going[~good]] = False
        took, stepped = good & item, good & ~item
        items.records.append(going[took])
        items.keys.append(pos[took] + 2)  # the key's parts, each `12 <len> <text>`
        items.key_lengths.append(key_end[took] - pos[took] - 2)
        items.values.append(key_end[took] + 3)
        items.value_lengths.append(value_len[took].astype(np.int64))
        if stepped.any():
            again = going[stepped][step_at[going[stepped]] >= 0]
            alive[again] = False  # two `step` fields: protobuf merges them; the exact path decides
            step_at[going[stepped]] = pos[stepped]
        more = good & (nxt < end)
        going, pos = going[more], nxt[more]
    return items.columns(), step_at, alive


def _parts(buf: np.ndarray, key_end: np.ndarray, end: np.ndarray, more: np.ndarray) -> None:
    """Move `key_end` past the further parts of keys logged as nested dicts (a `nested_key` a
    level, each `12 <len> <text>`); to the record's end where a part is not of that shape."""
    while len(more):
        more = more[buf[key_end[more]] == 0x12]
        part = buf[key_end[more] + 1].astype(np.int64)
        key_end[more] = np.where(part < 0x80, np.minimum(key_end[more] + 2 + part, end[more]), end[more])
        more = more[key_end[more] < end[more]]


def _steps(buf: np.ndarray, step_at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The `step` fields' numbers (0 for an empty one), and which are of the shape taken:
    `12 <len> 08 <varint>`, the varint all of it and at most 9 bytes (so not negative)."""
    some = step_at >= 0
    size = buf[step_at[some] + 1].astype(np.int64)
    value, width = varints(buf, step_at[some] + 3, 9)
    steps = np.zeros(len(step_at), np.int64)
    ok = np.ones(len(step_at), bool)
    steps[some] = np.where(size == 0, 0, value.astype(np.int64))
    ok[some] = (size == 0) | (width == size - 1)
    return steps, ok


LEARN_ROUNDS = 16


def _identify(keys: Keys, buf: np.ndarray, u64: np.ndarray, starts: np.ndarray, lengths: np.ndarray):
    """Each item's key in `keys`, learning the keys not met before (a few hundred at a time)."""
    ids = keys.match(u64, starts, lengths)
    for _ in range(LEARN_ROUNDS):
        unknown = np.flatnonzero(ids < 0)
        before = len(keys.names)
        for i in unknown[:256].tolist():
            keys.learn(buf[starts[i] : starts[i] + lengths[i]].tobytes())
        if len(keys.names) == before:
            break
        ids[unknown] = keys.match(u64, starts[unknown], lengths[unknown])
    return ids


def _groups(ids: np.ndarray, count: int) -> list[tuple[int, np.ndarray]]:
    """The items of each key, in file order."""
    order = np.argsort(ids.astype(np.int32 if count > 30000 else np.int16), kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(ids + 1, minlength=count + 1))))
    return [(k, order[bounds[k + 1] : bounds[k + 2]]) for k in range(count) if bounds[k + 2] > bounds[k + 1]]


def decode(spans: Spans, keys: Keys) -> History:
    """The read's history records as columns, where they are of the shapes taken; the rest of
    its records, bar those passed over, in `exact`."""
    buf = np.frombuffer(spans.buffer, np.uint8)
    u64, u32 = view(spans.buffer, "<u8"), view(spans.buffer, "<u4")
    content, _, exact = _kinds(buf, spans)
    hist = np.flatnonzero(content >= 0)
    items, step_at, alive = _fields(buf, u64, u32, content[hist], spans.ends[hist])
    record, key_at, key_len, value_at, value_len = items
    steps, step_ok = _steps(buf, step_at)
    alive &= step_ok
    ids = _identify(keys, buf, u64, key_at, key_len)
    alive[record[ids < 0]] = False
    index = {name: i for i, name in enumerate(dict.fromkeys(keys.names))}  # `a/b`, or as a dict
    names = list(index)
    ids = np.append(np.array([index[n] for n in keys.names], np.int64), -1)[ids]
    mark = np.zeros(len(hist), np.int64)
    read: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for k, members in _groups(ids, len(names)):
        recs, name = record[members], names[k]
        mark[recs] = np.arange(len(recs))
        alive[recs[mark[recs] != np.arange(len(recs))]] = False  # a key twice in a record
        used = step_at[recs] < 0 if name == _STEP else np.full(len(recs), name == _TIME or name[:1] != "_")
        at, length = value_at[members[~used]], value_len[members[~used]]
        plain = ascii_text(u64, at, length)  # values no view uses: only checked to be UTF-8
        alive[recs[~used][~plain][~numbers(buf, at[~plain], length[~plain])[2]]] = False
        values, ok, valid = numbers(buf, value_at[members[used]], value_len[members[used]])
        alive[recs[used][~valid]] = False
        read[name] = (recs[used], values, ok)
    return _columns(hist, alive, steps, step_at >= 0, read, exact)


def _columns(hist, alive, steps, has_step, read, exact) -> History:
    """One row a step: the records taken that have a step (the `step` field, else an `_step`
    that is a whole number), their values by name."""

    def column(name: str) -> tuple[np.ndarray, np.ndarray]:
        values, logged = np.full(len(hist), np.nan), np.zeros(len(hist), bool)
        if name in read:
            recs, v, ok = read[name]
            values[recs[ok]], logged[recs[ok]] = v[ok], True
        return values, logged

    logged_step, logged = column(_STEP)
    whole = logged & (np.abs(logged_step) < 2.0**62)  # an int64 holds it (nan and inf are not)
    whole[whole] = logged_step[whole] == np.floor(logged_step[whole])
    alive &= (
        has_step | ~logged | ~(np.isfinite(logged_step) & (np.abs(logged_step) >= 2.0**62))
    )  # huge: exact
    steps = np.where(has_step, steps, np.where(whole, logged_step, 0).astype(np.int64))
    take = np.flatnonzero(alive & (has_step | whole))
    walls = column(_TIME)[0][take]
    values = {name: tuple(c[take] for c in column(name)) for name in read if not name.startswith("_")}
    left = np.sort(np.concatenate((np.flatnonzero(exact), hist[~alive])))
    return History(hist[take], steps[take], walls, values, left)  # type: ignore[arg-type]
