"""A run of an experiment described for people: its panel's line, its file's header, and the
setup pairs a comparison diffs to say what sets one run apart."""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from lrtui.spec.choices import MODEL_TASKS, SCHEDULE_FREE, TASKS
from lrtui.spec.events import RunInfo
from lrtui.spec.experiment import CONSTANT_SCHEDULE, Call, ExperimentSpec, RunSpec, format_value


def run_infos(exp: ExperimentSpec) -> list[RunInfo]:
    return [
        RunInfo(
            run.label,
            run_detail(run),
            exp.total_batches,
            exp.epochs,
            exp.batches,
            str(run.scheduler),
            run_config(exp, run),
            run.group,
        )
        for run in exp.runs
    ]


def run_detail(run: RunSpec) -> str:
    """The line after a run's name: its own optimizer (marked schedule-free, which trains
    without a schedule), then its schedule's key parameters and interval."""
    schedule = f"{short_params(run.scheduler)} · per {run.interval}"
    if run.optimizer is None:
        return schedule
    own = run.optimizer.name
    own += f"({short_params(run.optimizer)})" if run.optimizer.kwargs else ""
    if run.optimizer.name in SCHEDULE_FREE:
        own = f"schedule-free · {own}"  # first: a narrow title cuts its end
    return own if run.scheduler == CONSTANT_SCHEDULE else f"{own} | {schedule}"


def optimizers_label(exp: ExperimentSpec) -> str:
    """What trained how, for the status bar: the experiment's optimizer, or where runs have
    their own, each optimizer with its count of runs (runs of one optimizer step together;
    a schedule-free one steps alone, marked so): 'AdamW x2 · SGD · AdamWScheduleFree (schedule-free)'."""
    if all(run.optimizer is None for run in exp.runs):
        return exp.optimizer.name if not exp.optimizer.kwargs else str(exp.optimizer)
    counts: dict[str, int] = {}
    for run in exp.runs:
        name = exp.optimizer_of(run).name
        counts[name] = counts.get(name, 0) + 1
    parts = [
        f"{name}{f' x{n}' if n > 1 else ''}{' (schedule-free)' if name in SCHEDULE_FREE else ''}"
        for name, n in counts.items()
    ]
    return " · ".join(parts)


def run_config(exp: ExperimentSpec, run: RunSpec) -> tuple[tuple[str, str], ...]:
    """Everything that decides a run's numbers, as text pairs a comparison can diff."""
    items = [("scheduler", run.scheduler.name)]
    items += [(f"scheduler.{k}", format_value(v)) for k, v in run.scheduler.kwargs]
    items += [
        ("per", run.interval),
        ("seed", str(exp.seed_of(run))),
        ("optimizer", str(exp.optimizer_of(run))),
        ("lr", f"{exp.lr_of(run):g}"),
        *([("model", exp.model)] if exp.task in MODEL_TASKS else []),
        ("task", exp.task),
        ("epochs", str(exp.epochs)),
        ("batches", str(exp.batches)),
        # a task of the user's makes its own batches: lrtui's model and batch size are not its
        *([("batch_size", str(exp.batch_size))] if exp.task in TASKS else []),
    ]
    return tuple(items)


def short_params(call: Call) -> str:
    """Key parameters as `k=v`, nested schedules by name only, to fit a panel's line."""
    parts = []
    for key, value in call.kwargs:
        if isinstance(value, tuple) and value and all(isinstance(v, Call) for v in value):
            parts.append(f"{key}=[{', '.join(v.name for v in value)}]")
        elif isinstance(value, float):
            parts.append(f"{key}={value:g}")
        else:
            parts.append(f"{key}={format_value(value)}")
    return " ".join(parts) if parts else "defaults"


SETUP_FLAGS = ("task", "model", "optimizer", "lr", "epochs", "batches", "batch_size", "seed")


def train_command(spec: str, config: Mapping[str, str]) -> str:
    """`lrtui` with a run's setup (`run_config`'s task, model, optimizer, LR, length and seed)
    as flags, and `-s spec`: that schedule trained as the run was, on the same batches. A run
    another tool logged has none of these keys: the command then names the schedule alone."""
    argv = ["lrtui"]
    for key in SETUP_FLAGS:
        if key in config:
            argv += [f"--{key.replace('_', '-')}", config[key]]
    return shlex.join([*argv, "-s", spec])
