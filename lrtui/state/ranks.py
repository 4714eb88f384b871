"""The ranks of a run recorded with `RunRecorder(..., all_ranks=True)` under DDP, side by side:
each rank's recent step time and throughput, and which rank is a straggler (a step time over
1.2x the median of its run's ranks), with the figure that makes it one."""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from lrtui.state.runs import RunView

STRAGGLER = 1.2
WINDOW = 50  # recent steps a step time is measured over
_RANKED = re.compile(r"^(?P<name>.*) \[rank (?P<rank>\d+)\]$")


@dataclass(frozen=True)
class RankRow:
    rank: int
    steps: int
    step_ms: float | None  # over the last WINDOW steps
    flag: str  # "", or "straggler: 1.35x the median step time"

    @property
    def steps_per_second(self) -> float | None:
        return 1000 / self.step_ms if self.step_ms else None


@dataclass(frozen=True)
class RankGroup:
    name: str
    rows: list[RankRow]


def step_ms(run: RunView) -> float | None:
    """Milliseconds a step, over the run's last WINDOW steps (from the time each was logged)."""
    last = run.step
    first = max(1, last - WINDOW)
    if last <= first or not len(run.time_series):
        return None
    t1, t0 = run.time_series.last_value, run.time_series.value_at(first)
    return (t1 - t0) * 1000 / (last - first) if t1 > t0 else None


def rank_groups(runs: Sequence[RunView]) -> list[RankGroup]:
    """Runs with files from several ranks, grouped by name, ranks in order."""
    found: dict[str, list[tuple[int, RunView]]] = {}
    for run in runs:
        m = _RANKED.match(run.info.label)
        if m:
            found.setdefault(m.group("name"), []).append((int(m.group("rank")), run))
    groups = []
    for name, members in found.items():
        if len(members) < 2:
            continue
        times = {rank: step_ms(run) for rank, run in members}
        known = [t for t in times.values() if t is not None]
        median = statistics.median(known) if known else None
        rows = []
        for rank, run in sorted(members, key=lambda m: m[0]):
            t = times[rank]
            slow = t is not None and median and t > STRAGGLER * median
            flag = f"straggler: {t / median:.2f}x the median step time" if slow else ""
            rows.append(RankRow(rank, run.step, t, flag))
        groups.append(RankGroup(name, rows))
    return groups
