"""The leaderboard of schedules trained under several seeds: each one's mean ± spread, and
which differences the seeds' spread can explain.

Every seed's run is ranked as any run is (`leaderboard.board`); here a schedule's runs become
one row: the mean and the standard deviation over its seeds of each figure. Two schedules
whose means are closer than their spreads added up (their ± bars overlap) are marked as
within the seeds' spread of each other: on this evidence neither is better.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from lrtui.state.leaderboard import (
    FINAL_FRACTION,
    METRIC_TITLES,
    METRICS,
    Board,
    Standing,
    as_dict,
    fmt,
    summary,
)
from lrtui.state.runs import RunView


@dataclass(frozen=True)
class SeedRow:
    label: str
    seeds: int
    mean: dict[str, float]
    sd: dict[str, float]
    flag: str  # "2 of 3 seeds diverged", ...
    ranks: dict[str, int] = field(default_factory=dict)
    within: dict[str, list[str]] = field(default_factory=dict)  # metric -> schedules it cannot beat

    def value(self, metric: str) -> float:
        v = self.mean[metric]
        return v if math.isfinite(v) else math.inf


@dataclass(frozen=True)
class SeedBoard:
    rows: list[SeedRow]
    by: str
    seeds: int
    board: Board  # every seed's run, ranked


def _stats(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if len(finite) < len(values) or not finite:
        return math.nan, math.nan
    return statistics.fmean(finite), statistics.stdev(finite) if len(finite) > 1 else math.nan


def _row(label: str, standings: list[Standing]) -> SeedRow:
    mean, sd = {}, {}
    for metric in METRICS:
        values = [s.value(metric) if metric != "val" else s.val for s in standings]
        mean[metric], sd[metric] = _stats([v if v != math.inf else math.nan for v in values])
    flagged = [s.flag for s in standings if s.flag]
    flag = f"{len(flagged)} of {len(standings)} seeds {flagged[0]}" if flagged else ""
    return SeedRow(label, len(standings), mean, sd, flag)


def overlap(a: SeedRow, b: SeedRow, metric: str) -> bool:
    """Whether the two means are closer than the two spreads added up."""
    da, db = a.sd[metric], b.sd[metric]
    if not all(math.isfinite(x) for x in (a.mean[metric], b.mean[metric], da, db)):
        return False
    return abs(a.mean[metric] - b.mean[metric]) <= da + db


def seed_board(runs: Sequence[RunView], board: Board) -> SeedBoard | None:
    """`board`'s runs gathered by schedule; None when the runs were not trained under seeds."""
    if not runs or not all(r.info.group for r in runs):
        return None
    by_group: dict[str, list[Standing]] = {}
    for s in sorted(board.rows, key=lambda s: s.index):
        by_group.setdefault(runs[s.index].info.group, []).append(s)
    rows = [_row(label, standings) for label, standings in by_group.items()]
    for metric in METRICS:
        keys = [(bool(r.flag), r.value(metric)) for r in rows]
        for r, key in zip(rows, keys, strict=True):
            r.ranks[metric] = 1 + sum(1 for other in keys if other < key)
            r.within[metric] = [o.label for o in rows if o is not r and overlap(r, o, metric)]
    rows.sort(key=lambda r: (r.ranks[board.by], r.label))
    return SeedBoard(rows, board.by, max(r.seeds for r in rows), board)


def cell(row: SeedRow, metric: str) -> str:
    mean, sd = row.mean[metric], row.sd[metric]
    if metric == "reach":
        return "never (some seed)" if not math.isfinite(mean) else f"{mean:,.0f} ± {sd:,.0f}"
    return f"{fmt(mean)} ± {fmt(sd)}" if math.isfinite(sd) else fmt(mean)


def verdict(row: SeedRow, metric: str, place: dict[str, int]) -> str:
    """Which schedules `row` is within the seeds' spread of, by their place."""
    others = sorted(place[label] for label in row.within[metric])
    return "≈ " + ", ".join(f"#{p}" for p in others) if others else ""


def seed_table(sb: SeedBoard) -> list[list[str]]:
    """The schedules' rows as text, headers first; where the task evaluates, the validation
    loss first, the training loss beside it (as on the runs' board)."""
    place = {r.label: i for i, r in enumerate(sb.rows, 1)}
    val = ("val",) if sb.board.has_val else ()
    metrics = (*val, "final", "best", "area", "reach")
    names = {"reach": "steps to thr."}
    heads = ["#", "schedule", *(names.get(m, m) for m in metrics), "≈ within spread", "flag"]
    return [heads] + [
        [
            "-" if r.flag else str(i),
            r.label,
            *(cell(r, m) for m in metrics),
            verdict(r, sb.by, place),
            r.flag,
        ]
        for i, r in enumerate(sb.rows, 1)
    ]


WITHIN_NOTE = "≈ #n: the two means are closer than their spreads added up: the seeds cannot tell them apart"


def seed_lines(sb: SeedBoard) -> list[str]:
    """The schedules' leaderboard as text lines, for the end of `--headless`."""
    table = seed_table(sb)
    widths = [max(len(row[c]) for row in table) for c in range(len(table[0]))]
    lines = [
        f"Leaderboard of schedules over {sb.seeds} seeds (by {METRIC_TITLES[sb.by]}; "
        f"mean ± standard deviation over the seeds; final = mean of the last {FINAL_FRACTION:.0%} of steps)"
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table]
    lines.append(WITHIN_NOTE)
    return lines


def seed_dict(sb: SeedBoard) -> list[dict]:
    """The schedules' rows as plain data (for `--headless --json`)."""

    def num(v: float) -> float | None:
        return v if math.isfinite(v) else None

    return [
        {
            "place": None if r.flag else i,
            "schedule": r.label,
            "seeds": r.seeds,
            "mean": {m: num(v) for m, v in r.mean.items()},
            "sd": {m: num(v) for m, v in r.sd.items()},
            "within_spread_of": r.within[sb.by],
            "flag": r.flag,
        }
        for i, r in enumerate(sb.rows, 1)
    ]


def summary_lines(runs: Sequence[RunView], board: Board) -> list[str]:
    """The leaderboard after `--headless`: of the schedules over their seeds when there are
    several, else of the runs."""
    sb = seed_board(runs, board)
    return seed_lines(sb) if sb is not None else summary(board)


def summary_dict(runs: Sequence[RunView], board: Board) -> dict:
    """`--headless --json`: the runs' leaderboard, and the schedules' over their seeds."""
    data = as_dict(board)
    sb = seed_board(runs, board)
    if sb is not None:
        data["schedules"] = seed_dict(sb)
    return data
