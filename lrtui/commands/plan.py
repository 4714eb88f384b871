"""`lrtui plan`: the planned LR curves of schedules, without training (`modes.plan` draws them)."""

from __future__ import annotations

from dataclasses import replace

from lrtui.commands.flags import experiment_flags, experiment_settings
from lrtui.commands.parser import Parser
from lrtui.spec.errors import SpecError
from lrtui.spec.pipe import reader_gone


def plan(argv: list[str]) -> int:
    p = Parser(prog="lrtui plan", description="The planned LR curves of schedules, without training.")
    experiment_flags(p)
    p.add_argument("--csv", metavar="OUT", help="write step,run,lr for every training step (- for stdout)")
    p.add_argument("--text", action="store_true", help="print the chart as text even in a terminal")
    args = p.parse_args(argv)
    from lrtui.modes.config import build_experiment
    from lrtui.modes.plan import run_plan

    # the schedulers are stepped alone, on the CPU: the model, task and seeds flags are taken
    # (they are the experiment flags every command shares) and left out of the plan
    settings = replace(experiment_settings(args), model=None, task=None, seeds=None, device="cpu")
    try:
        exp = build_experiment(settings, args.config)
    except SpecError as exc:
        p.fail(exc)
    try:
        return run_plan(exp, args.csv, args.text)
    except BrokenPipeError:  # `| head`: the reader has all it wanted
        reader_gone()
        return 0
