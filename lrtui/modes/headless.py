"""`lrtui --headless`: train without the UI and print the tutorial's table.

The table's format is the tutorial's exactly: the scheduler's name on a line, then one
`Epoch E, Learning Rate X.XXXXXX` line per epoch with the LR after that epoch's scheduler
steps. Runs train together: a block is printed once it and every block before it are done.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from lrtui.engine.child import STOP_SECONDS, STOPPED_STUCK, FinalStatuses
from lrtui.engine.trainer import Trainer
from lrtui.engine.workload import WorkloadFactory
from lrtui.record.writer import LogDirSink, recording_tee
from lrtui.spec.commands import STALL_SECONDS
from lrtui.spec.describe import run_infos
from lrtui.spec.events import EpochEvent, Event, RunAdded, RunStatus, Sink, StatusEvent
from lrtui.spec.experiment import ExperimentSpec
from lrtui.spec.pipe import reader_gone
from lrtui.spec.text import clean
from lrtui.state import leaderboard, seedboard
from lrtui.state.runs import ExperimentState

TrainerFactory = Callable[..., Trainer]


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
        self._feeders: dict[type, Callable] = {EpochEvent: self._epoch, StatusEvent: self._status}

    def feed(self, events: list[Event]) -> None:
        for ev in events:
            if isinstance(ev, RunAdded) and ev.run == len(self._blocks):  # a run added mid-way
                self._blocks.append(_Block(ev.info.label))
            feeder = self._feeders.get(type(ev))
            if feeder is not None:
                feeder(self._blocks[ev.run], ev)
        self._write_ready()

    def _epoch(self, block: _Block, ev: EpochEvent) -> None:
        block.lines.append(f"Epoch {self._exp.epoch_label(ev.epoch)}, Learning Rate {ev.lrs[0]:.6f}")

    def _status(self, block: _Block, ev: StatusEvent) -> None:
        if ev.status is RunStatus.RUNNING and ev.step == 0:
            block.lines.clear()
        block.status = ev.status
        block.message = clean(ev.message)  # a task's error text: shown, never obeyed by the terminal

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
        self._out.write(_text(block))

    def every_run_failed(self) -> bool:
        """Whether no run finished training: each diverged or failed (the command exits 1)."""
        return all(b.status in (RunStatus.DIVERGED, RunStatus.ERROR) for b in self._blocks)

    def block_text(self, index: int) -> str:
        """Run `index`'s block as the table prints it (for a rank's share under torchrun)."""
        return _text(self._blocks[index])


def _text(block: _Block) -> str:
    lines = [block.label, *block.lines]
    if block.status is RunStatus.DIVERGED:
        lines.append(f"Diverged: {block.message}")
    elif block.status is RunStatus.ERROR:
        lines.append(f"Error: {block.message}")
    elif not block.status.finished or block.status is RunStatus.STOPPED:
        lines.append("Interrupted")
    return "".join(line + "\n" for line in lines)


class _Progress:
    """Where the slowest run is, as epochs end, on standard error. On a terminal, one line
    rewritten in place; elsewhere (a log file, CI, `2> log`) one plain line per epoch every
    run has finished, so a long run says it is alive without carriage returns in the log.
    A run that ended early (diverged, failed) stops holding the count back."""

    def __init__(self, exp: ExperimentSpec, err: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self._exp, self._err, self._clock = exp, err, clock
        self._epochs = [0] * len(exp.runs)
        self._ended: set[int] = set()
        self._plain = not err.isatty()
        self._start, self._said = clock(), 0

    def __call__(self, events: list[Event]) -> None:
        said = False
        for e in events:  # one by one: a batch may hold several epochs' ends
            if isinstance(e, StatusEvent) and e.status.finished:
                self._ended.add(e.run)
            elif isinstance(e, EpochEvent) and e.run < len(self._epochs):
                self._epochs[e.run] = max(self._epochs[e.run], e.epoch)
                said = self._say() or said
        if said:
            self._err.flush()

    def _say(self) -> bool:
        going = [n for run, n in enumerate(self._epochs) if run not in self._ended] or self._epochs
        done, epochs = min(going), self._exp.epochs
        steps = sum(self._epochs) * self._exp.batches
        if not self._plain:
            self._err.write(f"\rlrtui: epoch {done}/{epochs} of every run · {steps:,} steps")
            return True
        if done <= self._said:
            return False
        self._said = done
        total = len(self._epochs) * epochs * self._exp.batches
        seconds = self._clock() - self._start
        self._err.write(f"lrtui: epoch {done}/{epochs} · {steps:,}/{total:,} steps · {seconds:.1f} s\n")
        return True


POLL_SECONDS = 0.5  # how often the pump looks at the clock while the trainer is silent


class _Worker:
    """The trainer in a thread of its own, its event batches on a queue (None: it ended)."""

    def __init__(self, exp: ExperimentSpec, make: TrainerFactory, workload: WorkloadFactory | None) -> None:
        self.inbox: queue.SimpleQueue[list[Event] | None] = queue.SimpleQueue()
        self.trainer = make(exp, self.inbox.put, workload=workload)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._work, name="lrtui-trainer", daemon=True)

    def _work(self) -> None:
        try:
            self.trainer.run()
        except BaseException as exc:  # reported on the main thread
            self.failure = exc
        finally:
            self.inbox.put(None)


@contextlib.contextmanager
def _stop_on_signals(worker: _Worker):
    """Ctrl-C, SIGTERM and SIGHUP ask the trainer to stop; the runs then end with a final
    status, the table and logs are finished and the exit code is 130. Nothing is raised at
    whatever line the signal arrives (a half-written log line, a thread left running)."""
    heard: list[int] = []

    def stop(signum, frame) -> None:
        heard.append(signum)
        worker.trainer.stop()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.signal(sig, stop)
    try:
        yield heard
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _recording(sink: LogDirSink | None, err: TextIO) -> Sink | None:
    """The log directory's sink, saying once on standard error when recording stopped."""
    if sink is None:
        return None
    return recording_tee(sink, tell=lambda error: err.write(f"lrtui: {error}; training goes on\n"))


@dataclass
class Trained:
    """What a headless training left: the table, the runs' views, whether it was interrupted."""

    printer: TablePrinter
    state: ExperimentState | None
    interrupted: bool


def train_to_table(
    exp: ExperimentSpec,
    table_out: TextIO,
    extra_sink: LogDirSink | None = None,
    *,
    summary: bool = True,
    make_trainer: TrainerFactory = Trainer,
    workload: WorkloadFactory | None = None,
    progress: TextIO | None = None,
    state: ExperimentState | None = None,
) -> Trained:
    """Train to the end in a worker thread, folding the events into the table (written to
    `table_out` as blocks finish) and, with `summary` or a `state` given, the runs' views.
    Signals stop the trainer; a closed pipe ends quietly; the trainer's own failure is raised."""
    worker = _Worker(exp, make_trainer, workload)
    printer = TablePrinter(exp, table_out)
    if state is None and summary:
        state = ExperimentState(run_infos(exp), time.monotonic)  # for the leaderboard
    takers = [printer.feed, state.apply if state else None, _recording(extra_sink, sys.stderr)]
    if progress is not None:
        takers.append(_Progress(exp, progress))
    gc.freeze()  # long-lived torch objects out of every collection (a full one costs 100+ ms)
    with _stop_on_signals(worker) as heard:
        worker.thread.start()
        interrupted = _pump_to_pipe(worker, [t for t in takers if t is not None]) or bool(heard)
    worker.thread.join(STOP_SECONDS)  # a trainer stuck in the task's code is left behind
    if worker.failure is not None:
        printer.finish()
        raise worker.failure
    return Trained(printer, state, interrupted)


def run_headless(
    exp: ExperimentSpec,
    out: TextIO,
    extra_sink: LogDirSink | None = None,
    *,
    summary: bool = True,
    threshold: float | None = None,
    make_trainer: TrainerFactory = Trainer,
    workload: WorkloadFactory | None = None,
    as_json: bool = False,
    progress: TextIO | None = None,
    state: ExperimentState | None = None,
) -> int:
    """Train to the end in a worker thread, printing the table, then the leaderboard after a
    blank line, the events folded into `state` where one is given (`lrtui.compare` reads it);
    130 if interrupted (Ctrl-C, SIGTERM, SIGHUP), 1 if every run diverged or failed (a script
    or CI job must not read such a comparison as a success), else 0."""
    trained = train_to_table(
        exp, io.StringIO() if as_json else out, extra_sink, summary=summary or as_json,
        make_trainer=make_trainer, workload=workload, progress=progress, state=state,
    )  # fmt: skip
    try:
        trained.printer.finish()
        if progress is not None and progress.isatty():
            progress.write("\n")  # ends the line rewritten in place (plain lines end themselves)
        if trained.state is not None:
            runs = trained.state.runs
            board = leaderboard.board(runs, threshold=threshold)
            if as_json:
                out.write(json.dumps(seedboard.summary_dict(runs, board), indent=2) + "\n")
            else:
                out.write("\n" + "\n".join(seedboard.summary_lines(runs, board)) + "\n")
            out.flush()
    except BrokenPipeError:  # the reader has all it wanted
        reader_gone()
    if trained.interrupted:
        return 130
    if trained.printer.every_run_failed():
        sys.stderr.write("lrtui: every run failed or diverged\n")
        return 1
    return 0


def _pump_to_pipe(worker: _Worker, takers: list[Sink]) -> bool:
    """`_pump`, ending quietly when the reader of standard output has gone (`| head`): the
    trainer is stopped and its last events drained before lrtui exits, never left running."""
    try:
        return _pump(worker, takers)
    except BrokenPipeError:
        worker.trainer.stop()
        reader_gone()
        _pump(worker, [])
        return False


def _pump(worker: _Worker, takers: list[Sink]) -> bool:
    """Hand every batch to `takers` until the trainer ends; whether it was interrupted. A
    silent trainer is said to be so; one stuck in the task's code after a stop is left behind,
    each unfinished run given its final status first: every wait has a deadline."""
    finals = FinalStatuses()
    heard = _Heard()
    while True:
        try:
            batch = worker.inbox.get(timeout=POLL_SECONDS)
        except KeyboardInterrupt:
            heard.stop(worker)
            continue
        except queue.Empty:
            if heard.gave_up(worker):
                for take in takers:
                    take(finals.failed(STOPPED_STUCK, RunStatus.STOPPED))
                return True
            heard.maybe_stalled(finals.idle())
            continue
        if batch is None:
            return heard.interrupted
        heard.progress()
        finals.see(batch)
        for take in takers:
            take(batch)


class _Heard:
    """When the pump last heard from the trainer, and when it asked it to stop."""

    def __init__(self) -> None:
        self.last = time.monotonic()
        self.stop_asked: float | None = None
        self.said_stalled = False
        self.interrupted = False

    def progress(self) -> None:
        self.last = time.monotonic()
        self.said_stalled = False

    def stop(self, worker: _Worker) -> None:
        self.interrupted = True
        worker.trainer.stop()

    def gave_up(self, worker: _Worker) -> bool:
        if self.stop_asked is None and worker.trainer.stopped:
            self.stop_asked = time.monotonic()
        return self.stop_asked is not None and time.monotonic() - self.stop_asked > STOP_SECONDS

    def maybe_stalled(self, idle: bool) -> None:
        silent = time.monotonic() - self.last
        if silent >= STALL_SECONDS and not self.said_stalled and self.stop_asked is None and not idle:
            self.said_stalled = True
            sys.stderr.write(f"lrtui: no step for {silent:.0f} s — still in batches()/loss()?\n")
