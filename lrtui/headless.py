"""`lrtui --headless`: train without the UI and print the tutorial's table.

The table's format is the tutorial's exactly: the scheduler's name on a line, then one
`Epoch E, Learning Rate X.XXXXXX` line per epoch with the LR after that epoch's scheduler
steps. Runs train together, so each block is printed as soon as it and every block before
it are complete.
"""

from __future__ import annotations

import gc
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from lrtui import leaderboard
from lrtui.events import EpochEvent, Event, RunStatus, StatusEvent
from lrtui.spec import ExperimentSpec
from lrtui.state import ExperimentState, run_infos
from lrtui.training import Trainer


@dataclass
class _Block:
    label: str
    lines: list[str] = field(default_factory=list)
    status: RunStatus = RunStatus.PENDING
    message: str = ""


class TablePrinter:
    """Collects events into per-run blocks and writes finished blocks in run order."""

    def __init__(self, exp: ExperimentSpec, out: TextIO) -> None:
        self._exp = exp
        self._out = out
        self._blocks = [_Block(run.label) for run in exp.runs]
        self._next = 0

    def feed(self, events: list[Event]) -> None:
        for ev in events:
            block = self._blocks[ev.run]
            if isinstance(ev, EpochEvent):
                label = self._exp.epoch_label(ev.epoch)
                block.lines.append(f"Epoch {label}, Learning Rate {ev.lrs[0]:.6f}")
            elif isinstance(ev, StatusEvent):
                if ev.status is RunStatus.RUNNING and ev.step == 0:
                    block.lines.clear()
                block.status = ev.status
                block.message = ev.message
        self._write_ready()

    def finish(self) -> None:
        """Write whatever is left, finished or not (after an interrupt)."""
        for block in self._blocks[self._next :]:
            self._write(block)
        self._next = len(self._blocks)
        self._out.flush()

    def _write_ready(self) -> None:
        while self._next < len(self._blocks) and self._blocks[self._next].status.finished:
            self._write(self._blocks[self._next])
            self._next += 1
        self._out.flush()

    def _write(self, block: _Block) -> None:
        self._out.write(block.label + "\n")
        for line in block.lines:
            self._out.write(line + "\n")
        if block.status is RunStatus.DIVERGED:
            self._out.write(f"Diverged: {block.message}\n")
        elif block.status is RunStatus.ERROR:
            self._out.write(f"Error: {block.message}\n")
        elif not block.status.finished or block.status is RunStatus.STOPPED:
            self._out.write("Interrupted\n")


def run_headless(
    exp: ExperimentSpec,
    out: TextIO,
    extra_sink: Callable[[list[Event]], None] | None = None,
    *,
    summary: bool = True,
    threshold: float | None = None,
) -> int:
    """Train to the end in a worker thread, printing the table, then the leaderboard after a
    blank line; 130 if interrupted."""
    inbox: queue.SimpleQueue[list[Event] | None] = queue.SimpleQueue()

    def sink(events: list[Event]) -> None:
        inbox.put(events)

    trainer = Trainer(exp, sink)
    failure: list[BaseException] = []

    def work() -> None:
        try:
            trainer.run()
        except BaseException as exc:  # reported on the main thread
            failure.append(exc)
        finally:
            inbox.put(None)

    printer = TablePrinter(exp, out)
    state = ExperimentState(run_infos(exp), time.monotonic) if summary else None  # for the leaderboard
    gc.freeze()  # long-lived torch objects out of every collection (a full one costs 100+ ms)
    thread = threading.Thread(target=work, name="lrtui-trainer", daemon=True)
    thread.start()
    interrupted = False
    while True:
        try:
            batch = inbox.get()
        except KeyboardInterrupt:
            interrupted = True
            trainer.stop()
            continue
        if batch is None:
            break
        printer.feed(batch)
        if state is not None:
            state.apply(batch)
        if extra_sink is not None:
            extra_sink(batch)
    thread.join()
    printer.finish()
    if failure:
        raise failure[0]
    if state is not None:
        lines = leaderboard.summary(leaderboard.board(state.runs, threshold=threshold))
        out.write("\n" + "\n".join(lines) + "\n")
        out.flush()
    return 130 if interrupted else 0
