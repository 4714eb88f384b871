"""The text inside W&B history items read in bulk: keys matched to names, values to numbers.

A history item holds its key and its value as text (`nested_key`, `value_json`); a million steps
hold millions. Here each is a span of one buffer, and both are read with numpy: a key is matched
exactly (length and bytes) against the names met before (`Keys`), a value is read as Python's
`float(text)` reads it (`numbers`), with orjson (the `speed` extra) reading the plain decimal
ones at about 60 ns each where it is installed; the rest, and whatever orjson refuses, go
through `float` itself. Text that is not valid UTF-8 is reported rather than read: protobuf
refuses such a record, and so must the bulk read.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

try:
    from orjson import JSONDecodeError as _FastError
    from orjson import loads as _fast
except ImportError:  # the speed extra is optional: `float` reads the same numbers
    _fast = None

LONGEST_KEY = 127  # bytes: a longer key is matched by the exact (protobuf) path
_MASKS = np.array([(1 << (8 * n)) - 1 for n in range(8)] + [(1 << 64) - 1], np.uint64)
_MIX = np.uint64(0x9E3779B97F4A7C15)  # an odd constant: lengths spread over the top bits
_PLAIN = np.zeros(256, bool)  # what a JSON number is written with
_PLAIN[list(b"0123456789+-.eE ")] = True  # and the spaces after
_HIGH = np.uint64(0x8080808080808080)


def _segments(u64: np.ndarray, starts: np.ndarray, lengths: np.ndarray, count: int, first: int = 0) -> list:
    """The text at each span as u64s (the `first` to the `count`th), 8 bytes each, zero past its
    length."""
    return [u64[starts + 8 * j] & _MASKS[np.clip(lengths - 8 * j, 0, 8)] for j in range(first, count)]


def _first(first: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """What keys are looked up by: their first 8 bytes and their length (then checked in full)."""
    return (first ^ lengths.astype(np.uint64)) * _MIX


_SLOT_BITS = 16


def _slot(looked: np.ndarray) -> np.ndarray:
    return (looked >> np.uint64(64 - _SLOT_BITS)).astype(np.intp)


class Keys:
    """The history keys met so far in one run, to match items' keys against in bulk."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._raw: list[bytes] = []
        self._table: tuple[np.ndarray, ...] | None = None

    def learn(self, raw: bytes) -> None:
        """Add a key as an item holds it (its parts, each `12 <len> <text>`), named as the exact
        path names it (the parts joined by `/`), if it is new and valid UTF-8 (else it stays
        unknown, and its records go to the exact path, which refuses them as protobuf does)."""
        if raw in self._raw or len(raw) > LONGEST_KEY:
            return
        parts, at = [], 0
        while at < len(raw):
            size = raw[at + 1] if at + 1 < len(raw) else 0x80
            if raw[at] != 0x12 or size >= 0x80 or at + 2 + size > len(raw):
                return
            try:
                parts.append(raw[at + 2 : at + 2 + size].decode("utf-8"))
            except UnicodeDecodeError:
                return
            at += 2 + size
        self.names.append("/".join(parts))
        self._raw.append(raw)
        self._table = None

    def _built(self) -> tuple[np.ndarray, ...]:
        """A table from a key's lookup value (its top bits) to the key (-1 none, -2 several:
        compared in full); each key's length and bytes as u64s."""
        if self._table is None:
            width = -(-LONGEST_KEY // 8)
            segs = np.array([np.frombuffer(r.ljust(8 * width, b"\0"), "<u8") for r in self._raw])
            lengths = np.array([len(r) for r in self._raw], np.int64)
            slots = np.full(1 << _SLOT_BITS, -1, np.int64)
            for k, slot in enumerate(_slot(_first(segs[:, 0], lengths)).tolist()):
                slots[slot] = k if slots[slot] == -1 else -2
            self._table = (slots, lengths, segs)
        return self._table

    def match(self, u64: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Each span's key index in `names`, or -1 for a key not met yet (or longer than
        LONGEST_KEY): equal length and equal bytes, checked in full."""
        if not self._raw or not len(starts):
            return np.full(len(starts), -1, np.int64)
        slots, known_lengths, known = self._built()
        first = u64[starts] & _MASKS[np.minimum(lengths, 8)]
        key = np.where(lengths <= LONGEST_KEY, slots[_slot(_first(first, lengths))], -1)
        some = np.maximum(key, 0)
        found = np.where((known[some, 0] == first) & (known_lengths[some] == lengths), key, -1)
        long = np.flatnonzero((found >= 0) & (lengths > 8))
        if len(long):
            rest = _segments(u64, starts[long], lengths[long], int(-(-lengths[long].max() // 8)), 1)
            same = np.ones(len(long), bool)
            for j, s in enumerate(rest, 1):
                same &= known[found[long], j] == s
            found[long[~same]] = -1
        shared = np.flatnonzero(key == -2)
        if len(shared):
            found[shared] = self._among(u64, starts[shared], lengths[shared])
        return found

    def _among(self, u64: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Keys that share their first 8 bytes and length with another: compared with each."""
        found = np.full(len(starts), -1, np.int64)
        if len(starts):
            _, known_lengths, known = self._built()
            segs = _segments(u64, starts, lengths, int(-(-lengths.max() // 8)))
            for k in range(len(self._raw)):
                same = known_lengths[k] == lengths
                for j, s in enumerate(segs):
                    same &= known[k, j] == s
                found[same] = k
        return found


def ascii_text(u64: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Whether each span's text is all ASCII (so valid UTF-8)."""
    ok = np.ones(len(starts), bool)
    if len(starts):
        for s in _segments(u64, starts, lengths, int(-(-lengths.max() // 8))):
            ok &= (s & _HIGH) == 0
    return ok


def numbers(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, ...]:
    """The number each span's text is to `float(text)` (nan where it is none), whether it is
    one, and whether the text is valid UTF-8 at all (spans of 1 to 127 bytes, not at 0).

    The spans are copied out as the rows of a JSON array (the byte before each blanked, or
    `[`; its text; blanks; a comma, or `]`), which orjson reads at once where every value is a
    JSON number; else each that is plain digits is read so, the rest by `float`."""
    n = len(starts)
    if not n:
        return np.zeros(0), np.zeros(0, bool), np.zeros(0, bool)
    width = int(lengths.max()) + 2
    rows = sliding_window_view(buf, width)[starts - 1]
    np.putmask(rows, (np.arange(width) - 1).astype(np.uint64) >= lengths[:, None].astype(np.uint64), 32)
    rows[:, -1] = ord(",")
    rows[0, 0], rows[-1, -1] = ord("["), ord("]")
    read = _json(rows.data, n)
    if read is not None:
        values, ok, valid = read, np.ones(n, bool), np.ones(n, bool)
        plain = np.ones(n, bool)
    else:
        values, ok, valid = np.full(n, np.nan), np.zeros(n, bool), np.ones(n, bool)
        plain = _PLAIN[rows[:, 1:-1]].all(axis=1)
        some = rows[plain]
        read = None
        if len(some):
            some[:, 0], some[:, -1] = ord(" "), ord(",")
            some[0, 0], some[-1, -1] = ord("["), ord("]")
            read = _json(some.data, len(some))
        if read is not None:
            values[plain], ok[plain] = read, True
        else:
            plain[:] = False
    for i in np.flatnonzero(~plain | (values == 0)).tolist():  # orjson reads `-0` as 0, `float` -0.0
        values[i], ok[i], valid[i] = _one(rows[i, 1 : 1 + lengths[i]].tobytes())
    return values, ok, valid


def _json(array: memoryview, n: int) -> np.ndarray | None:
    """A JSON array of n numbers as floats, by orjson; None where it is not that (`NaN`, `1.`,
    `"text"`, `true`, `1e999`: `float` says what each is) or orjson is not installed."""
    if _fast is None:
        return None
    try:
        read = _fast(array)
    except (_FastError, OverflowError, ValueError):
        return None
    if len(read) != n or not set(map(type, read)) <= {float, int}:
        return None
    return np.array(read, np.float64)


def _one(text: bytes) -> tuple[float, bool, bool]:
    """One value as the exact path reads it: the protobuf string, then `float`."""
    try:
        s = text.decode("utf-8")
    except UnicodeDecodeError:
        return np.nan, False, False
    try:
        return float(s), True, True
    except ValueError:
        return np.nan, False, True
