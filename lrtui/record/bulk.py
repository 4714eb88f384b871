"""Step lines read in bulk: what makes a 100 MB log quick to watch and to export.

A log is almost all step lines. Watching parses a run of them as one JSON array and checks
each column's types at once (`map` and `set`, in C) rather than one dict or event per line.
Exporting does not even parse: a regular expression confirms every line has exactly the shape
`format` writes (JSON numbers only: no NaN, no Infinity, no leading zeros), and a few
replacements turn the block into CSV rows with the numbers' own text. Either way, a run with
any line that is not taken (another shape or type, a diverged step, garbage) goes back to the
line-by-line reader, which judges it as always.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter

from lrtui.record.lines import loads
from lrtui.spec.numbers import all_finite

_INT = rb"(?:0|-?[1-9][0-9]*)"  # as Python writes an int (never -0, never a leading zero)
_FLOAT = rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)"  # as repr writes a float


_STEP = rb"[1-9][0-9]*"  # steps count from 1 (`format`): a step below is a corrupt line
_LRS = b"(?:" + _FLOAT + b"(?:, " + _FLOAT + b")*)?"
# A step line exactly as `format` writes it (checked for a whole block at once by `csv_rows`).
_SHAPE = re.compile(
    rb'^\{"step": ' + _STEP + rb', "epoch": ' + _INT + rb', "lr": \[' + _LRS + rb'\], "loss": ' + _FLOAT
    + rb', "time": ' + _FLOAT + rb"\}$",
    re.M,
)  # fmt: skip
STEP_PREFIX = b'{"step"'


@dataclass(frozen=True)
class StepColumns:
    """Consecutive step lines as columns."""

    steps: list[int]
    epochs: list[int]
    lrs: list[tuple[float, ...]]
    losses: list[float]
    times: list[float]


_FIELDS = ("step", "epoch", "lr", "loss", "time")


def step_columns(lines: list[bytes]) -> StepColumns | None:
    """The columns of `lines` if every one is a step line with exactly the types lrtui writes
    (whole-number step and epoch, a list of float LRs, float loss and time, all finite), else
    None. The lines are parsed as one JSON array and checked column by column, in C."""
    if not lines:
        return None
    try:
        rows = loads(b"[" + b",".join(lines) + b"]")
        if type(rows) is not list or set(map(type, rows)) != {dict} or sum(map(len, rows)) != 5 * len(rows):
            return None
        steps, epochs, lrs, losses, times = (list(map(itemgetter(k), rows)) for k in _FIELDS)
    except (ValueError, RecursionError, KeyError):
        return None
    if not (
        set(map(type, steps)) == set(map(type, epochs)) == {int}
        and set(map(type, lrs)) == {list}
        and set(map(type, chain.from_iterable(lrs))) <= {float}
        and set(map(type, losses)) == set(map(type, times)) == {float}
        and all_finite(losses)
        and min(steps) >= 1  # steps count from 1: a line below is corrupt, judged alone
    ):
        return None
    return StepColumns(steps, epochs, list(map(tuple, lrs)), losses, times)


# A step line as lrtui writes it, piece by piece: what stands between its numbers becomes a
# comma, so once every line of a block is known to have this shape, the rows are a few
# replacements over the whole block (in C), with the numbers' own text kept.
_CSV_PIECES = ((b'{"step": ', b""), (b', "epoch": ', b","), (b', "lr": [', b","), (b'], "loss": ', b","),
               (b', "time": ', b","), (b"}", b""), (b", ", b";"))  # fmt: skip


def csv_rows(lines: list[bytes], label: bytes) -> bytes | None:
    """CSV rows (run, step, epoch, lr, loss, time) of step lines as lrtui writes them, the
    numbers copied as written (Python's repr, which is what the line-by-line path prints;
    several param groups' LRs joined by ";"); None if any line is not such a step line."""
    block = b"\n".join(lines)
    if not lines or len(_SHAPE.findall(block)) != len(lines):
        return None
    for piece, replacement in _CSV_PIECES:
        block = block.replace(piece, replacement)
    return label + b"," + block.replace(b"\n", b"\n" + label + b",") + b"\n"
