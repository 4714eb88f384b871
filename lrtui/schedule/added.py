"""A run added to a comparison while it trains (the app's `N`: the forecast's suggested
schedule): its spec, given as text as `--scheduler` takes it, made a checked `RunSpec` as the
command line makes one, under a name no run of the comparison has.

The text is data: parsed, never evaluated; a spec that does not parse or that torch refuses
raises `SpecError` (the trainer says it in one line and trains on)."""

from __future__ import annotations

from lrtui.schedule.build import resolve_run
from lrtui.schedule.registry import default_interval
from lrtui.spec.errors import SpecError
from lrtui.spec.experiment import ExperimentSpec, RunSpec
from lrtui.spec.parse import parse_run_parts

NAME = "suggested"


def free_label(exp: ExperimentSpec, name: str = NAME) -> str:
    """`name`, or `name 2`, `name 3`, ...: the first no run of `exp` is called."""
    taken = {r.label for r in exp.runs}
    label, n = name, 2
    while label in taken:
        label, n = f"{name} {n}", n + 1
    return label


def added_run(exp: ExperimentSpec, text: str, name: str = NAME) -> RunSpec:
    """The run `text` asks for, checked against `exp` (torch builds it once), trained with the
    experiment's seed (its batches are the other runs' at each step) and optimizer, unless
    the text names the run's own (`OPTIMIZER | SCHEDULER`)."""
    optimizer, call, interval = parse_run_parts(text)
    if call is None:
        raise SpecError(f"{text!r}: names no schedule to add")
    run = RunSpec(call, interval or default_interval(call), free_label(exp, name), optimizer=optimizer)
    return resolve_run(run, exp, dry_run=True)
