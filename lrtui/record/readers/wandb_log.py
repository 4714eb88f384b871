"""The framing of W&B's `.wandb` run files: LevelDB's log format with W&B's own file header,
as wandb's `datastore` wrote and its Go core writes it today (facts of the format, checked on
files written by `wandb.init(mode="offline")`).

The file starts with a 7-byte header (`:W&B`, the magic 0xBEE1, version 0), then records in
32 KiB blocks. Each record is a 7-byte header (CRC-32 of its type byte and data, little-endian;
the data's length, 2 bytes; its type) and the data: a protobuf `Record`, whole (type FULL) or,
where it does not fit the block, in pieces (FIRST, MIDDLE..., LAST). Fewer than 7 bytes left in
a block are zero padding. A record whose CRC does not match is skipped with the rest of its
block, as LevelDB does, and counted; a last record still being written waits for the next read.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from lrtui.spec.errors import SpecError

BLOCK = 32768
HEADER = 7
FILE_HEADER = struct.pack("<4sHB", b":W&B", 0xBEE1, 0)
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_KIND_CRC = {kind: zlib.crc32(bytes([kind])) for kind in (FULL, FIRST, MIDDLE, LAST)}
_RECORD_HEADER = struct.Struct("<IHB")


@dataclass
class Framing:
    """Where framing a growing file stands: the offset read up to, a record in pieces."""

    offset: int = 0
    pending: bytearray | None = None
    corrupt: int = 0
    records: list[bytes] = field(default_factory=list)


def check_header(head: bytes, name: str) -> None:
    """Refuse a file that is not a W&B run file (a file named `.wandb` but holding anything else)."""
    if head[: len(FILE_HEADER) - 1] != FILE_HEADER[:-1]:
        raise SpecError(f"{name} is not a W&B run file (no :W&B header)")


def frame(data: bytes, base: int, state: Framing) -> None:
    """Append to `state.records` the whole records in `data` (the file's bytes from offset
    `base`, which is `state.offset`), and move `state.offset` past them."""
    pos, end = base, base + len(data)
    view = memoryview(data)
    unpack, crc32, kind_crc, records = _RECORD_HEADER.unpack_from, zlib.crc32, _KIND_CRC, state.records
    while True:
        left = BLOCK - pos % BLOCK
        if left < HEADER:
            if pos + left > end:  # the padding is not all here yet
                break
            pos += left  # padding to the next block
            continue
        if pos + HEADER > end:
            break
        crc, length, kind = unpack(view, pos - base)
        if kind == 0 and length == 0 and crc == 0:  # zeros: the rest of the block is empty
            if pos + left > end:
                break
            pos += left
            continue
        if kind not in _KIND_CRC or length > left - HEADER:
            state.corrupt += 1
            state.pending = None
            pos += left
            continue
        if pos + HEADER + length > end:
            break  # still being written
        start = pos - base + HEADER
        payload = data[start : start + length]
        pos += HEADER + length
        if crc32(payload, kind_crc[kind]) != crc:
            state.corrupt += 1
            state.pending = None
            pos += BLOCK - pos % BLOCK if pos % BLOCK else 0  # the rest of the block is suspect
            continue
        if kind == FULL and state.pending is None:  # the common case, inline
            records.append(payload)
        else:
            _assemble(kind, payload, state)
    state.offset = pos


def _assemble(kind: int, payload: bytes, state: Framing) -> None:
    if kind in (FULL, FIRST) and state.pending is not None:
        state.corrupt += 1  # a record cut short: its last piece never came
        state.pending = None
    if kind == FULL:
        state.records.append(payload)
    elif kind == FIRST:
        state.pending = bytearray(payload)
    elif state.pending is None:
        state.corrupt += 1  # a piece of a record whose start was lost
    elif kind == MIDDLE:
        state.pending += payload
    else:
        state.records.append(bytes(state.pending + payload))
        state.pending = None
