"""`lrtui [options]`: the comparison itself, live or with `--headless` as the tutorial's table
(and `--list-schedulers`). Its flags are read here; preparing and running the comparison is
`modes.comparison`'s, imported only once the flags are good, since it brings torch.
"""

from __future__ import annotations

import argparse
import os

from lrtui import __version__
from lrtui.commands.flags import experiment_flags, experiment_settings, run_flags
from lrtui.commands.parser import Parser
from lrtui.spec.errors import SpecError
from lrtui.spec.pipe import on_a_terminal

COMMANDS = """commands:
  lrtui [options]                 compare schedules live (or --headless: print the table)
  lrtui plan -s SPEC ...          the planned LR curves and their key numbers, without training
  lrtui find [--task T]           an LR range test: which peak LR to use
  lrtui watch PATH [--poll S]     watch events files live: one panel per file
  lrtui export PATH --csv OUT     write every recorded step as CSV
  lrtui forecast LOGDIR           each run's final loss from a loss law fitted on the runs
  lrtui resume DIR [--headless]   continue a comparison recorded with --log-dir DIR from its checkpoints
  lrtui attach DIR                the app on a comparison training in the background; d detaches
  lrtui serve [--port P] [...]    the app in a browser on 127.0.0.1 (ssh -L P:127.0.0.1:P HOST)
  run `lrtui watch --help` or `lrtui export --help` for theirs"""


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="lrtui",
        description="Train a model once per learning-rate scheduler and watch LR and loss side by side.",
        epilog="Scheduler specs are torch class names with keyword literals, e.g. "
        "'StepLR(step_size=3, gamma=0.5)', optionally followed by @epoch or @batch.\n\n" + COMMANDS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"lrtui {__version__}")
    training_flags(
        p,
        "with --log-dir: train in a process that outlives this terminal and attach to it "
        "(d detaches; lrtui attach DIR comes back; q asks whether to stop training)",
        ("--list-schedulers", "list every scheduler with its parameters"),
    )
    experiment_flags(p)
    run_flags(p)
    return p


def training_flags(p: argparse.ArgumentParser, background: str, *switches: tuple[str, str]) -> None:
    """The flags of a command that trains a comparison (`lrtui` itself and `lrtui resume`), one
    declaration for both so they mean the same: `--headless`, the command's own on/off
    `switches` (flag, help) after it, `--background` (its help the command's own: what `q`
    does differs), and the hidden `--for-app` that `modes.attach.in_background` adds to the
    command it starts. Declared in this order, so `--help` lists them so."""
    p.add_argument("--headless", action="store_true", help="train without the UI and print the LR table")
    for flag, text in switches:
        p.add_argument(flag, action="store_true", help=text)
    p.add_argument("--background", action="store_true", help=background)
    p.add_argument("--for-app", action="store_true", help=argparse.SUPPRESS)


def compare(argv: list[str]) -> int:
    """Parse, prepare (every user error ends here, as one line, before any training or UI),
    then run the comparison in the mode the flags and the environment ask for."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_schedulers:
        return list_schedulers()
    live = not args.headless and not args.for_app and on_a_terminal() and not under_torchrun()
    if args.background or live:
        args.log_dir, config_task = recorded_to(parser, args)
        if args.background or args.log_dir:  # it records: d and a hang-up only detach
            return background(parser, args, argv, not args.background, config_task)
    from lrtui.modes.comparison import prepare_comparison, run_comparison  # torch from here on

    try:
        comparison = prepare_comparison(
            experiment_settings(args), args.config, headless=args.headless, terminal=on_a_terminal()
        )
    except SpecError as exc:
        parser.fail(exc, debug=args.debug)
    return run_comparison(comparison, as_json=args.json, debug=args.debug, for_app=args.for_app)


def under_torchrun() -> bool:
    """Whether torchrun started this process as one of several ranks (live is refused there)."""
    return os.environ.get("WORLD_SIZE", "1") not in ("", "0", "1")


def recorded_to(parser: Parser, args: argparse.Namespace) -> tuple[str | None, bool]:
    """The log directory a live comparison records to (`--log-dir`, or its config file's), and
    whether its config file names a task. The config is read only where it is given (its
    reading brings torch); an error in it is the one line it will be anyway."""
    if not args.config:
        return args.log_dir, False
    from lrtui.modes.config import load_config

    try:
        config = load_config(args.config)
    except SpecError as exc:
        parser.fail(exc, debug=args.debug)
    return args.log_dir or config.log_dir, config.task is not None


def background(
    parser: Parser,
    args: argparse.Namespace,
    argv: list[str],
    started_here: bool = False,
    config_task: bool = False,
) -> int:
    """Training in a process that outlives this terminal, this app attached: `--background`
    (`q` asks whether to stop training), or a recording live comparison (`started_here`: `q`
    stops it, as it would the live app's). `config_task`: the config file names the task."""
    if not args.log_dir or args.headless:
        parser.fail(
            SpecError("--background trains with --log-dir DIR (it records there), without --headless")
        )
    if not on_a_terminal():
        parser.fail(SpecError("--background attaches this terminal: use --headless --log-dir DIR instead"))
    from lrtui.modes.attach import in_background

    try:
        rest = [a for a in argv if a != "--background"]
        live_task = [] if args.task or config_task else ["--task", "teacher"]  # live's default task
        return in_background(["--headless", *rest, *live_task], args.log_dir, args.debug, started_here)
    except SpecError as exc:
        parser.fail(exc, debug=args.debug)


def list_schedulers() -> int:
    from lrtui.schedule.factors import describe_factors
    from lrtui.schedule.hf import describe_hf
    from lrtui.schedule.registry import describe_schedulers

    print("Schedulers (torch.optim.lr_scheduler):")
    for line in describe_schedulers():
        print("  " + line)
    print(
        "\nHugging Face schedules (transformers, per batch; num_training_steps defaults to the run's length):"
    )
    for line in describe_hf():
        print("  " + line)
    print("\nFactors for LambdaLR / MultiplicativeLR (lr_lambda=...):")
    for line in describe_factors():
        print("  " + line)
    return 0
