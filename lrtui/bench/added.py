"""`python -m lrtui.bench.added`: what a run added mid-comparison (the app's `N`) costs training.

An added run trains in an engine of its own beside the stacked pass of the runs there from the
start (`engine.joined`: growing the stacked weights would move every run's weights and
optimizer state). On `--task charlm` (AdamW, one run per schedule, `--batches` steps an
epoch), three runs are timed two ways on one machine, side by side: all three stacked from the
start, and two stacked with the third added at their first step. Printed: each way's training
seconds (median of `--repeat`), their ratio, and whether the added run's losses equal those of
the same schedule trained alone (bit for bit: same start, same batches).
"""

from __future__ import annotations

import argparse
import statistics
import time

from lrtui.engine.trainer import Trainer
from lrtui.modes.config import build_experiment
from lrtui.schedule.optimizers import parse_optimizer
from lrtui.spec.commands import Command, Verb
from lrtui.spec.events import Event, StepBlock
from lrtui.spec.settings import Settings, parse_scheduler_flag

RUNS = ("LambdaLR(lr_lambda=constant(value=1.0))@batch", "CosineAnnealingLR(T_max=400)@batch")
ADDED = "LinearLR(start_factor=1.0, end_factor=0.01, total_iters=400)@batch"


def _exp(specs: tuple[str, ...], batches: int):
    runs = [parse_scheduler_flag(s) for s in specs]
    adamw = parse_optimizer("adamw")
    return build_experiment(
        Settings(runs=runs, task="charlm", optimizer=adamw, epochs=1, batches=batches, lr=0.01)
    )


def _losses(events: list[Event], run: int) -> list[float]:
    return [s.loss for e in events if isinstance(e, StepBlock) and e.run == run for s in e.steps()]


def _timed(exp, add: bool) -> tuple[float, list[Event]]:
    """Training seconds, and the events; with `add`, ADDED sent before the first step."""
    events: list[Event] = []
    trainer = Trainer(exp, events.extend, flush_interval=0.1)
    if add:
        trainer.send(Command(Verb.ADD, text=ADDED))
    began = time.perf_counter()
    trainer.run()
    return time.perf_counter() - began, events


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lrtui.bench.added", description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, default=400, help="steps each run trains")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    three, two = _exp((*RUNS, ADDED), args.batches), _exp(RUNS, args.batches)
    stacked, joined, events = [], [], []
    for _ in range(args.repeat):  # alternated, so both ways see the machine alike
        stacked.append(_timed(three, add=False)[0])
        seconds, events = _timed(two, add=True)
        joined.append(seconds)
    alone = _timed(_exp((ADDED,), args.batches), add=False)[1]
    a, b = statistics.median(stacked), statistics.median(joined)
    print(f"charlm, 3 runs x {args.batches} steps, median of {args.repeat}:")
    print(f"  all stacked from the start   {a:.2f} s")
    print(f"  2 stacked + 1 added          {b:.2f} s   ({b / a:.2f}x)")
    same = _losses(events, 2) == _losses(alone, 0)
    print(f"  the added run's losses equal its schedule trained alone: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
