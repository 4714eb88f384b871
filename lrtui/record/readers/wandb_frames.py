"""A `.wandb` file's records found in bulk: what makes a million-step run quick to read.

`wandb_log.frame` walks a file a record at a time in Python (about 0.5 µs a record, and a run
writes two or three records a step). Here a whole read (tens of MiB) is walked with numpy, every
32 KiB block at once: LevelDB's log starts each block with a chunk header, so the blocks are
independent walks, and one turn of the loop moves every block on by one chunk.

The CRCs are checked a block at a time, by one zlib call over the block with each chunk header
rewritten (in the copy read) so that a block whose chunks are all intact has a known CRC. Why
that holds: zlib's `crc32(data, v) = ~R(~v, data)`, where R, the register after `data`, is
linear over GF(2) in the register and the data together, and 4 bytes `w` act as 4 zeros from the
register XORed with them, `R(r, w) = R(r ^ w, 0⁴)`. A chunk is intact when `R(~0, M) = ~c` (M its
type byte and data, c its header's CRC). So writing `Z ^ ~c'` and two zeros over the 6 header
bytes before each M (c' the block's previous chunk's CRC, 0 for its first; Z the register that
6 zero bytes take to ~0, `R(Z, 0⁶) = ~0`) brings the register back to ~0 before every M, and the
block's `crc32` is its last chunk's c. A chunk that is not intact changes the result by a
non-zero term that the rest of the block only multiplies by powers of x (mod the CRC's
polynomial), so one bad chunk is always caught; two could cancel only by the same 2⁻³² chance by
which one corrupt chunk passes its own CRC.

Only a read as W&B writes it is taken: anything else (a CRC that does not match, a type or a
length that cannot be, a piece out of order) makes `frame_spans` return None, and the read goes
to `wandb_log.frame`, which skips and counts exactly as it always has.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from lrtui.record.readers.wandb_log import BLOCK, FIRST, FULL, HEADER, LAST, MIDDLE, Framing

PAD = 136  # zero bytes after a buffer: any gather in a record (a value's 127 bytes, then 8) stays inside
_LOW7 = np.uint64((1 << 56) - 1)  # a chunk header's 7 bytes, read as the low bytes of a u64
_U32 = 0xFFFFFFFF


def _register_before_zeros(target: int, zeros: int) -> int:
    """The CRC-32 register that `zeros` zero bytes take to `target` (the table step undone: the
    top byte of each entry of the reflected table is distinct, so it names the entry used)."""
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table.append(c)
    entry = {t >> 24: i for i, t in enumerate(table)}
    reg = target
    for _ in range(zeros):
        i = entry[reg >> 24]
        reg = ((reg ^ table[i]) << 8) & _U32 | i
    return reg


_Z = _register_before_zeros(_U32, 6)


@dataclass
class Spans:
    """The whole records of one read, as spans of one buffer, in file order."""

    buffer: bytearray  # the bytes read, the records joined from pieces, PAD zeros
    starts: np.ndarray  # int64: where each record's data starts in `buffer`
    ends: np.ndarray  # int64: where it ends

    def __len__(self) -> int:
        return len(self.starts)


def view(buffer: bytes | bytearray, dtype: str) -> np.ndarray:
    """`buffer` as little-endian integers of `dtype` at every byte offset (indexing gathers, or
    writes, the bytes at each offset asked, unaligned); `buffer` ends with PAD bytes."""
    size = np.dtype(dtype).itemsize
    return np.ndarray((len(buffer) - size + 1,), dtype, buffer, 0, (1,))


def _walk(u64: np.ndarray, base: int, end: int) -> tuple[np.ndarray, int] | None:
    """The file offsets of the chunk headers between `base` and `end`, as a grid (row j: each
    block's j-th chunk, or -1), and where the read stops (a chunk not all written yet waits for
    the next read), as `wandb_log.frame` finds them; None where anything is not as W&B writes it.
    (Offsets here count from `base`.)"""
    size = end - base
    later = np.arange(base // BLOCK + 1, -(-end // BLOCK), dtype=np.int64) * BLOCK - base
    cur = np.concatenate(([0], later))
    bend = np.concatenate(([BLOCK - base % BLOCK], later + BLOCK))
    limit, block = np.minimum(bend, size), np.arange(len(cur))
    found: list[np.ndarray] = []
    blocks: list[np.ndarray] = []
    stop = size
    while cur.size:
        head = u64[cur]
        kind = head.view(np.uint8).reshape(-1, 8)[:, 6]
        nxt = cur + HEADER + head.view(np.uint16).reshape(-1, 4)[:, 2]
        record = (nxt <= limit) & (kind - np.uint8(1) < 4)  # a whole chunk of a type that can be
        found.append(cur[record])
        blocks.append(block[record])
        if record.all():
            cur = nxt
            continue
        rest = ~record  # a block's end (padding, zeros), a chunk still being written, or worse
        at, ends, heads, kinds = cur[rest], bend[rest], head[rest] & _LOW7, kind[rest]
        pad = ends - at < HEADER
        short = ~pad & (at + HEADER > size)
        zero = ~pad & ~short & (heads == 0)
        full = ~pad & ~short & ~zero
        if (full & ((kinds - np.uint8(1) >= 4) | (nxt[rest] > ends))).any():
            return None  # a chunk header that cannot be: the exact walk counts it
        waits = short | full | (pad | zero) & (ends > size)  # else padding, all read
        if waits.sum() > 1:
            return None
        if waits.any():
            stop = int(at[waits][0])
        cur, bend, limit, block = nxt[record], bend[record], limit[record], block[record]
    grid = np.full((len(found), len(later) + 1), -1, np.int64)
    grid[np.repeat(np.arange(len(found)), [len(f) for f in found]), np.concatenate(blocks)] = np.concatenate(
        found
    )
    grid[grid >= 0] += base
    return grid, stop + base


def _crcs_ok(buffer: bytearray, grid: np.ndarray, base: int) -> bool:
    """Whether every chunk in `grid` is intact, a block at a time (see the module's note)."""
    valid = grid >= 0
    count = valid.sum(axis=0)
    if not count.any():
        return True
    at = np.where(valid, grid - base, 0)
    heads = view(buffer, "<u8")[at]
    crc = np.where(valid, heads & np.uint64(_U32), 0).astype(np.uint32)
    ends = at + HEADER + ((heads >> np.uint64(32)) & np.uint64(0xFFFF)).astype(np.int64)
    before = np.vstack((np.zeros((1, grid.shape[1]), np.uint32), crc[:-1]))
    used = np.flatnonzero(count)
    last = count[used] - 1
    firsts, lasts = at[0, used].tolist(), ends[last, used].tolist()
    heads, at = heads[valid], at[valid]  # the 6 header bytes are written over, then put back
    view(buffer, "<u4")[at] = np.uint32(_Z) ^ ~before[valid]
    view(buffer, "<u2")[at + 4] = 0
    with memoryview(buffer) as whole:
        got = np.fromiter(
            map(zlib.crc32, map(whole.__getitem__, map(slice, firsts, lasts))), np.uint32, len(used)
        )
    view(buffer, "<u4")[at] = (heads & np.uint64(_U32)).astype(np.uint32)
    view(buffer, "<u2")[at + 4] = ((heads >> np.uint64(32)) & np.uint64(0xFFFF)).astype(np.uint16)
    return bool(np.array_equal(got, crc[last, used]))


def _join(kinds: list[int], buffer: bytearray, starts: list[int], ends: list[int], state: Framing):
    """The records that came in pieces (FIRST, MIDDLE..., LAST), joined, each with the index of
    its first piece (-1: begun in an earlier read), and the record still open at the end; None
    where the pieces are not in order (the exact walk counts what is lost)."""
    pending = None if state.pending is None else bytearray(state.pending)
    first = -1
    joined: list[tuple[int, bytes]] = []
    if pending is not None and kinds and kinds[0] == FULL:
        return None
    for i, kind in enumerate(kinds):
        if kind == FULL:
            continue
        if (kind == FIRST) == (pending is not None):
            return None  # a FIRST while a record is open, or a MIDDLE/LAST with none open
        if kind != LAST and i + 1 < len(kinds) and kinds[i + 1] == FULL:
            return None  # a whole record inside an open one
        piece = buffer[starts[i] : ends[i]]
        if kind == FIRST:
            pending, first = piece, i
        elif kind == MIDDLE:
            pending += piece  # type: ignore[operator]
        else:
            joined.append((first, bytes(pending + piece)))  # type: ignore[operator]
            pending, first = None, -1
    return joined, pending


def frame_spans(buffer: bytearray, size: int, base: int, state: Framing) -> Spans | None:
    """The whole records in `buffer[:size]` (the file's bytes from `state.offset`, which is
    `base`; then PAD zeros or more), with `state` moved past them, as `wandb_log.frame` would;
    None, with `state` and the bytes untouched, where this read needs the exact walk. The
    buffer becomes the spans' (its end given over to the records joined from pieces)."""
    walked = _walk(view(buffer, "<u8"), base, base + size)
    if walked is None:
        return None
    grid, stop = walked
    at = grid.T[grid.T >= 0] - base  # the chunks in file order
    heads = view(buffer, "<u8")[at]
    if not _crcs_ok(buffer, grid, base):
        return None
    starts = at + HEADER
    ends = starts + ((heads >> np.uint64(32)) & np.uint64(0xFFFF)).astype(np.int64)
    kinds = ((heads >> np.uint64(48)) & np.uint64(0xFF)).astype(np.int64)
    pieces = np.flatnonzero(kinds != FULL)
    near = np.unique(np.concatenate((pieces, pieces + 1, [0])))  # the pieces and what follows each
    near = near[near < len(kinds)]
    found = _join(kinds[near].tolist(), buffer, starts[near].tolist(), ends[near].tolist(), state)
    if found is None:
        return None
    joined, pending = found
    whole = np.flatnonzero(kinds == FULL)
    firsts = np.array([near[i] if i >= 0 else -1 for i, _ in joined], np.int64)
    del buffer[size:]
    spans = [(len(buffer), 0)]
    for _, record in joined:
        spans.append((spans[-1][0] + spans[-1][1], len(record)))
        buffer += record
    buffer += bytes(PAD)
    extra = np.array(spans[1:], np.int64).reshape(-1, 2)
    into = np.searchsorted(whole, firsts)  # a joined record goes where its first piece was
    state.offset, state.pending = stop, pending
    return Spans(
        buffer,
        np.insert(starts[whole], into, extra[:, 0]),
        np.insert(ends[whole], into, extra[:, 0] + extra[:, 1]),
    )
