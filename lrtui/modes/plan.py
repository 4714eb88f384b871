"""`lrtui plan`: the LR curves of the given schedules, computed in about a second by stepping
the real schedulers (torch's, or transformers') without training.

In a terminal it opens a chart of every schedule with their key numbers; elsewhere (a pipe,
a file) it prints the chart as text and the numbers. `--csv OUT` writes `step,run,lr` for
every training step, `lr` being the LR that step trains with.
"""

from __future__ import annotations

import csv
import re
import sys
from typing import TextIO

from lrtui.schedule.plan import plan, step_lrs, step_marks, summarize
from lrtui.schedule.registry import uses_metric
from lrtui.spec.experiment import ExperimentSpec
from lrtui.ui.plan import NUMBER_HEADERS, PlannedRun, fmt
from lrtui.ui.screens.axes import label, linear_ticks

MAX_PLAN_STEPS = 2_000_000
TEXT_MARKERS = "•+xo*#@%=~^$&" + "abcdefghijklmnopqrstuvwyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def planned_runs(exp: ExperimentSpec) -> list[PlannedRun]:
    runs = []
    for run in exp.runs:
        planned = plan(run, exp, max_steps=MAX_PLAN_STEPS)
        if planned is None:  # the schedule follows the loss, or the run is too long to plan
            why = "follows the loss" if uses_metric(run.scheduler) else f"over {MAX_PLAN_STEPS:,} steps"
            runs.append(PlannedRun(run.label, [], [], (why,) + ("—",) * 4))
            continue
        lrs, marks = step_lrs(planned, run, exp), step_marks(planned, run, exp)
        s = summarize(lrs, marks)
        numbers = (fmt(s.peak), f"{s.peak_step:,}", fmt(s.warmup_end), fmt(s.final), f"{s.above_half:,}")
        runs.append(PlannedRun(run.label, lrs, marks, numbers))
    return runs


def write_csv(runs: list[PlannedRun], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step", "run", "lr"])
    rows = 0
    for run in runs:
        for step, lr in enumerate(run.lrs, 1):
            writer.writerow([step, run.label, repr(lr)])
            rows += 1
    return rows


def print_text(runs: list[PlannedRun], exp: ExperimentSpec, out: TextIO) -> None:
    """The chart as plain text (no colours, no escapes) and the numbers, for a pipe or a file.
    Without colour only the marker tells lines apart, so each schedule gets its own; ticks are
    round (0 / 2,000 / 4,000 steps), as in the app's charts."""
    import plotext as plt

    from lrtui.ui.plan import thin

    plt.clear_figure()
    plt.theme("clear")
    plt.plotsize(100, 24)
    drawn = [run for run in runs if run.lrs]
    for i, run in enumerate(drawn):
        xs, ys = thin(run.lrs)
        plt.plot(xs, ys, label=run.label, marker=text_marker(i))
    if drawn:
        _round_ticks(plt, max(len(run.lrs) for run in drawn), max(max(run.lrs) for run in drawn))
    plt.title(f"planned LR · {exp.epochs} epochs x {exp.batches} batches · lr {exp.lr:g}")
    plt.xlabel("training step")
    out.write(re.sub(r"\x1b\[[0-9;]*m", "", plt.build()) + "\n\n")  # plain text, no colour codes
    rows = [NUMBER_HEADERS] + [(run.label, *run.numbers) for run in runs]
    widths = [max(len(r[c]) for r in rows) for c in range(len(NUMBER_HEADERS))]
    for row in rows:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")


def text_marker(index: int) -> str:
    """The `index`th line's marker in a chart without colour: symbols, then letters."""
    return TEXT_MARKERS[index % len(TEXT_MARKERS)]


def _round_ticks(plt, steps: int, top: float) -> None:
    """Round ticks, as the app's charts have them: steps from 0 to the run's end, the LR from
    zero (an LR twice as high is drawn twice as high) to a round value at or above its peak."""
    xs = [t for t in linear_ticks(0, steps, whole=True) if t <= steps]
    plt.xlim(0, steps)
    plt.xticks(xs, [label(t, xs[1] - xs[0] if len(xs) > 1 else 1.0) for t in xs])
    ys = linear_ticks(0, top if top > 0 else 1.0)
    plt.ylim(0, ys[-1])
    plt.yticks(ys, [label(t, ys[1] - ys[0] if len(ys) > 1 else 1.0) for t in ys])


def run_plan(exp: ExperimentSpec, csv_out: str | None, text: bool) -> int:
    runs = planned_runs(exp)
    for why in dict.fromkeys(run.numbers[0] for run in runs if not run.lrs):  # each reason once
        if why == "follows the loss":
            said = "a schedule that follows the loss: its curve depends on training, so it has no plan"
        else:
            said = f"a run {why} is too long to plan quickly, so it has no plan"
        print(f"lrtui: {said}", file=sys.stderr)
    if csv_out is not None:
        if csv_out == "-":
            write_csv(runs, sys.stdout)
            return 0
        with open(csv_out, "w", encoding="utf-8", newline="") as f:
            rows = write_csv(runs, f)
        print(f"lrtui: wrote {rows} rows to {csv_out}", file=sys.stderr)
        return 0
    if text or not sys.stdout.isatty():
        print_text(runs, exp, sys.stdout)
        return 0
    from lrtui.ui.exitcode import exit_code
    from lrtui.ui.plan import PlanApp

    title = f"lrtui plan · {exp.epochs} epochs x {exp.batches} batches · lr {exp.lr:g} · l: log y · q: quit"
    app = PlanApp(runs, title)
    app.run()
    return exit_code(app)
