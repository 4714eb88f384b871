"""A run of an experiment described for people: its panel's line, its file's header, and the
setup pairs a comparison diffs to say what sets one run apart."""

from __future__ import annotations

from lrtui.spec.choices import MODEL_TASKS, TASKS
from lrtui.spec.events import RunInfo
from lrtui.spec.experiment import Call, ExperimentSpec, RunSpec, format_value


def run_infos(exp: ExperimentSpec) -> list[RunInfo]:
    return [
        RunInfo(
            run.label,
            f"{short_params(run.scheduler)} · per {run.interval}",
            exp.total_batches,
            exp.epochs,
            exp.batches,
            str(run.scheduler),
            run_config(exp, run),
            run.group,
        )
        for run in exp.runs
    ]


def run_config(exp: ExperimentSpec, run: RunSpec) -> tuple[tuple[str, str], ...]:
    """Everything that decides a run's numbers, as text pairs a comparison can diff."""
    items = [("scheduler", run.scheduler.name)]
    items += [(f"scheduler.{k}", format_value(v)) for k, v in run.scheduler.kwargs]
    items += [
        ("per", run.interval),
        ("seed", str(exp.seed_of(run))),
        ("optimizer", str(exp.optimizer)),
        ("lr", f"{exp.lr:g}"),
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
