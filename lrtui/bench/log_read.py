"""What the bench's parts on other trackers' logs (`tb`, `wandb_run`) share: a folder watched by
lrtui's watcher until every step is folded into the view, the same folder through
`lrtui export`, and their figures printed a row each. One copy, so the two parts time the same
thing the same way and their figures stand side by side.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Watched:
    """One folder watched to its end: the watcher and the state it fed, kept to read on."""

    source: Any  # the `WatchSource`: poll it again to time what is appended after
    state: Any  # the `ExperimentState` the events went into
    first_s: float  # wall seconds until the first batch of steps the app can draw
    all_s: float  # wall seconds until every step is in the view (no tail has a backlog)
    cpu_s: float  # this process's CPU seconds for the same: steadier on a shared machine


def watch_all(directory: Path) -> Watched:
    """Watch a folder, polling on while any tail says it left more to read (`backlog`)."""
    from lrtui.record.watch import WatchSource
    from lrtui.state.runs import ExperimentState

    state = ExperimentState([], time.monotonic)
    first: list[float] = []
    start = time.perf_counter()

    def sink(events) -> None:
        state.apply(events)
        if not first and state.total_steps:
            first.append(time.perf_counter() - start)

    cpu = time.process_time()
    src = WatchSource(directory, sink)
    src.poll_once()
    while any(getattr(t, "backlog", False) for t in src._tails.values()):
        src.poll_once()
    whole = time.perf_counter() - start
    return Watched(src, state, first[0], whole, time.process_time() - cpu)


def export_seconds(directory: Path) -> float:
    """Wall seconds `lrtui export DIR --csv OUT` takes to write every run under a folder."""
    from lrtui.record.export import export_to_file, input_files
    from lrtui.record.readers import ReadOptions

    start = time.perf_counter()
    export_to_file(input_files(directory), str(directory.parent / "out.csv"), ReadOptions(root=directory))
    return time.perf_counter() - start


def print_seconds(rows: Sequence[tuple[str, float, str]], width: int) -> None:
    """Timings a row each: what was timed (padded to `width`), its seconds, and its target."""
    for label, seconds, note in rows:
        print(f"  {label:{width}} {seconds:6.2f} s  {note}".rstrip())
