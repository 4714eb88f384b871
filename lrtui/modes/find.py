"""The LR range test `lrtui find` runs: the task loaded as a comparison would load it, the test
live in the terminal or plain, then the suggestions and a command that compares them."""

from __future__ import annotations

import csv
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass

from lrtui.engine.device import resolve_device
from lrtui.engine.kinds import load_workload, task_kind
from lrtui.engine.rangetest import RangeResult, Suggestions, range_test, suggest
from lrtui.engine.workload import initial_module
from lrtui.modes.config import merge
from lrtui.spec.choices import OPTIMIZER_ALIASES
from lrtui.spec.errors import SpecError
from lrtui.spec.experiment import ExperimentSpec
from lrtui.spec.settings import Settings
from lrtui.spec.text import clean


@dataclass(frozen=True)
class Span:
    """The LRs the test sweeps: from `start` to `end`, growing exponentially over `steps` batches."""

    start: float
    end: float
    steps: int


@dataclass(frozen=True)
class RangeTest:
    """A range test ready to run: `run(on_step, stopped)` trains it; `title` heads the live
    chart; `command` is the comparison that trains what the test trained."""

    run: Callable[..., RangeResult]
    title: str
    command: list[str]

    def advice(self, result: RangeResult) -> list[str]:
        return report_lines(result, suggest(result), self.command)


def prepare_range_test(settings: Settings, config_path: str | None, span: Span) -> RangeTest:
    """Merge the settings as a comparison would (same checks, same errors), then load and
    build the task once; `settings` are the flags as given (an LR given there goes into
    the command to paste)."""
    merged = merge(settings, config_path)
    exp = merged.exp
    device = resolve_device(exp.device)
    workload = load_workload(exp, device)
    init = initial_module(workload, exp.seed)

    def run(on_step, stopped) -> RangeResult:
        return range_test(workload, init, exp.optimizer, device, start=span.start, end=span.end,
                          steps=span.steps, seed=exp.seed, on_step=on_step, stopped=stopped)  # fmt: skip

    lrs = f"LR {span.start:g} → {span.end:g} over {span.steps} steps"
    title = f"lrtui find · {clean(exp.task, 60)} · {exp.optimizer} · {lrs}"
    return RangeTest(run, title, comparison_argv(exp, merged.batches_given, settings.lr is not None))


def run_range_test(test: RangeTest, live: bool) -> RangeResult | None:
    """The test's result: in the app when `live` (None if quit before the end), else plainly."""
    if not live:
        return test.run(lambda r: None, lambda: False)
    from lrtui.ui.find import FindApp

    app = FindApp(test.run, suggest, test.title, test.advice)
    app.run()
    if app.failure_text:
        raise SpecError(app.failure_text)
    return app.result


def comparison_argv(exp: ExperimentSpec, batches_given: bool, lr_given: bool) -> list[str]:
    """The command that trains what the range test trained (task, model, optimizer, batch
    size, run length, seed, device), the schedules to be added: pasted, it compares the
    suggested peaks on the same model and data. A task file's epoch is every batch it gives,
    unless --batches was given; a built-in task's is the batches the test assumed."""
    argv, kind = ["lrtui", "--task", exp.task], task_kind(exp.task)
    if kind.takes_model:
        argv += ["--model", exp.model]
    optimizer = next((name for name, call in OPTIMIZER_ALIASES.items() if call == exp.optimizer), None)
    argv += ["--optimizer", optimizer or str(exp.optimizer)]
    if kind.builtin:  # a task file's batches(epoch) makes its own batches
        argv += ["--batch-size", str(exp.batch_size)]
    argv += ["--epochs", str(exp.epochs)]
    if batches_given or kind.builtin:
        argv += ["--batches", str(exp.batches)]
    if lr_given:  # OneCycleLR sets its own LRs; the base LR matters for schedules added to it
        argv += ["--lr", f"{exp.lr:g}"]
    if exp.seed:
        argv += ["--seed", str(exp.seed)]
    if exp.device != "auto":
        argv += ["--device", exp.device]
    return argv


def report_lines(result: RangeResult, found: Suggestions, command: list[str]) -> list[str]:
    """The test's end, each suggestion (the one that served best first), and a command to
    paste that compares them as OneCycleLR peaks."""
    ended = f" ({result.stopped})" if result.stopped else ""
    lines = [f"LR range test: {len(result.lrs)} steps, LR {result.lrs[0]:.3g} to {result.lrs[-1]:.3g}{ended}"]
    ranked = found.ranked()
    for i, (name, lr) in enumerate(ranked):
        note = "served best as a peak LR (OneCycleLR max_lr; README)" if i == 0 else ""
        lines.append(f"  {name:17} {lr:<10.3g} {note}".rstrip())
    peaks = list(dict.fromkeys(f"{lr:.3g}" for _, lr in ranked))  # two that round alike: one run
    if peaks:
        schedules = [arg for peak in peaks for arg in ("-s", f"OneCycleLR(max_lr={peak})")]
        lines.append("Try: " + clean(shlex.join(command + schedules)))  # a path may hold escapes
    return lines


def write_csv(result: RangeResult, csv_out: str | None) -> None:
    if not csv_out:
        return
    out = sys.stdout if csv_out == "-" else open(csv_out, "w", encoding="utf-8", newline="")  # noqa: SIM115
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["lr", "loss", "smoothed"])
    writer.writerows(zip(result.lrs, result.losses, result.smoothed, strict=True))
    if out is not sys.stdout:
        out.close()
