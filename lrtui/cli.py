"""The `lrtui` command: parse flags, check everything, then run the app or the headless table.

User errors end as one `lrtui: error: ...` line and exit code 2, before any training starts.
This module imports neither torch nor textual at import time: `lrtui --help`, `lrtui watch`
and `lrtui export` start at once, and run where torch is not installed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from lrtui import __version__
from lrtui.spec.choices import ENGINES, MODELS, OPTIMIZER_ALIASES, PRESETS, TASKS
from lrtui.spec.errors import SpecError
from lrtui.spec.settings import Settings, parse_scheduler_flag
from lrtui.spec.text import clean
from lrtui.spec.values import choice, count, device_name, positive, task_name

if TYPE_CHECKING:
    from lrtui.launch import Ready
    from lrtui.record.writer import LogDirSink
    from lrtui.spec.experiment import ExperimentSpec

SUBCOMMANDS = ("watch", "export", "plan", "find")
COMMANDS = """commands:
  lrtui [options]                 compare schedules live (or --headless: print the table)
  lrtui plan -s SPEC ...          the planned LR curves and their key numbers, without training
  lrtui find [--task T]           an LR range test: which peak LR to use
  lrtui watch PATH [--poll S]     watch events files live: one panel per file
  lrtui export PATH --csv OUT     write every recorded step as CSV
  run `lrtui watch --help` or `lrtui export --help` for theirs"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"lrtui: error: {clean(message, 2000)}\n")


def _checked(check, name: str):
    """An argparse type that reports our own one-line message."""

    def convert(text: str):
        try:
            return check(text, name)
        except SpecError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert


def _spec(parse, name: str):
    def convert(text: str):
        try:
            return parse(text)
        except SpecError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert


def _parse_optimizer(text: str):
    from lrtui.schedule.optimizers import parse_optimizer  # torch: only once an optimizer is named

    return parse_optimizer(text)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="lrtui",
        description="Train a model once per learning-rate scheduler and watch LR and loss side by side.",
        epilog="Scheduler specs are torch class names with keyword literals, e.g. "
        "'StepLR(step_size=3, gamma=0.5)', optionally followed by @epoch or @batch.\n\n" + COMMANDS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"lrtui {__version__}")
    p.add_argument("--headless", action="store_true", help="train without the UI and print the LR table")
    p.add_argument("--list-schedulers", action="store_true", help="list every scheduler with its parameters")
    _experiment_flags(p)
    _run_flags(p)
    return p


def _experiment_flags(p: argparse.ArgumentParser) -> None:
    """What to compare: schedules, run length, optimizer, model and data."""
    p.add_argument(
        "-s",
        "--scheduler",
        action="append",
        default=[],
        metavar="SPEC",
        type=_spec(parse_scheduler_flag, "--scheduler"),
        help="a scheduler to compare, e.g. 'OneCycleLR(max_lr=0.1)@batch' (repeatable)",
    )
    p.add_argument(
        "--preset",
        type=_checked(lambda v, n: choice(v, n, PRESETS), "--preset"),
        help="seed: the tutorial's six schedulers (default); all: every torch scheduler",
    )
    p.add_argument("--config", metavar="FILE.toml", help="read settings from a TOML file (flags win)")
    p.add_argument(
        "--epochs",
        type=_checked(count, "--epochs"),
        help="epochs per run (seed: 11, labelled 1, 11, ..., 101)",
    )
    p.add_argument("--batches", type=_checked(count, "--batches"), help="batches per epoch (default 1000)")
    p.add_argument(
        "--batch-size", type=_checked(count, "--batch-size"), help="samples per batch (default 32)"
    )
    p.add_argument("--lr", type=_checked(positive, "--lr"), help="initial learning rate (default 0.1)")
    p.add_argument(
        "--optimizer",
        type=_spec(_parse_optimizer, "--optimizer"),
        metavar="OPT",
        help=f"{', '.join(OPTIMIZER_ALIASES)} or a call such as 'AdamW(weight_decay=0.01)' (default sgd)",
    )
    p.add_argument(
        "--model",
        type=_checked(lambda v, n: choice(v, n, list(MODELS)), "--model"),
        help=f"{', '.join(MODELS)} (default linear)",
    )
    p.add_argument(
        "--task",
        type=_checked(task_name, "--task"),
        metavar="TASK",
        help=f"{', '.join(TASKS)}, or your own: FILE.py, package.module, or either with :name "
        "(default: teacher live, random with --headless; see README, 'Your own model')",
    )
    _seed_flags(p)


def _seed_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--seed", type=_checked(lambda v, n: count(v, n, 0), "--seed"), help="random seed (default 0)"
    )
    p.add_argument(
        "--seeds",
        type=_checked(count, "--seeds"),
        metavar="K",
        help="train every schedule under K seeds (initial weights and batch order), at most 16; "
        "panels, charts and the leaderboard show each schedule's mean and spread",
    )


def _run_flags(p: argparse.ArgumentParser) -> None:
    """Where and how it runs, and what is recorded and shown."""
    p.add_argument(
        "--device", type=_checked(device_name, "--device"), help="auto (default), cpu, cuda or cuda:N"
    )
    p.add_argument(
        "--log-dir", metavar="DIR", help="also record every run to DIR as events files (lrtui watch DIR)"
    )
    p.add_argument(
        "--loss-threshold",
        type=_checked(positive, "--loss-threshold"),
        metavar="LOSS",
        help="the leaderboard's 'steps to threshold' loss (default: the loss every healthy run reached)",
    )
    p.add_argument(
        "--no-summary", action="store_true", help="--headless: leave out the leaderboard after the table"
    )
    p.add_argument(
        "--json", action="store_true", help="--headless: the leaderboard as JSON, instead of the table"
    )
    p.add_argument("--amp", action="store_true", help="bf16 autocast on CUDA")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error in your task file")
    p.add_argument(
        "--engine",
        type=_checked(lambda v, n: choice(v, n, ENGINES), "--engine"),
        help="auto (default): train all runs in one batched pass when the model allows",
    )


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        preset=args.preset,
        runs=list(args.scheduler),
        epochs=args.epochs,
        batches=args.batches,
        batch_size=args.batch_size,
        lr=args.lr,
        optimizer=args.optimizer,
        model=args.model,
        task=args.task,
        device=args.device,
        seed=args.seed,
        seeds=args.seeds,
        engine=args.engine,
        amp=args.amp or None,
        log_dir=args.log_dir,
        loss_threshold=args.loss_threshold,
        no_summary=args.no_summary or None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        from lrtui import subcommands

        return getattr(subcommands, argv[0])(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_schedulers:
        from lrtui.subcommands import list_schedulers

        return list_schedulers()
    from lrtui.config import build_ready  # torch from here on

    try:
        # live, the default comparison trains on a task where the loss can fall; --headless keeps
        # the tutorial's random labels, so its table is the tutorial's digit for digit
        ready = build_ready(
            settings_from(args),
            args.config,
            default_task=None if args.headless else "teacher",
            dry_run=args.headless,  # live: checked where it trains (below, or in its own process)
        )
        if not args.headless:
            ready = _check_unless_apart(ready)
        log_dir = ready.settings.log_dir
        ranks = _ranks(args)
        log_sink = _log_sink(log_dir, ready.exp) if log_dir and ranks is None else None
    except SpecError as exc:
        if args.debug and getattr(exc, "detail", ""):
            sys.stderr.write(exc.detail)  # type: ignore[attr-defined]
        parser.exit(2, f"lrtui: error: {clean(str(exc), 2000)}\n")
    if ranks is not None:
        return _distributed(ready, ranks)
    try:
        return _run(args, ready, log_sink)
    finally:
        if log_sink is not None:
            log_sink.close()


def _check_unless_apart(ready: Ready) -> Ready:
    """torch's checks of every run, now, unless the app's trainer will run in a process of its
    own: that process checks them itself while the first screen is drawn (the checks import
    torch._dynamo, 1.5 s), and a refusal ends the app with the same one-line error."""
    from lrtui.engine.child import trains_apart
    from lrtui.engine.device import resolve_device
    from lrtui.engine.kinds import loadable
    from lrtui.schedule.build import check_runs

    if trains_apart(resolve_device(ready.exp.device).type, loadable(ready.exp.task)):
        return ready
    check_runs(ready.exp)
    return replace(ready, checked=True)


def _ranks(args: argparse.Namespace):
    """torchrun's ranks; under torchrun only --headless makes sense (watch with lrtui watch)."""
    from lrtui.distributed import ranks_from_env

    ranks = ranks_from_env()
    if ranks is not None and not args.headless:
        raise SpecError("under torchrun, use --headless --log-dir DIR, and watch with: lrtui watch DIR")
    return ranks


def _distributed(ready: Ready, ranks) -> int:
    from lrtui.distributed import run_distributed

    s = ready.settings
    return run_distributed(
        ready, ranks, sys.stdout, log_dir=s.log_dir, summary=not s.no_summary, threshold=s.loss_threshold
    )


def _run(args: argparse.Namespace, ready: Ready, log_sink: LogDirSink | None) -> int:
    if args.headless:
        from lrtui.headless import run_headless

        return run_headless(
            ready.exp,
            sys.stdout,
            extra_sink=log_sink,
            summary=not ready.settings.no_summary,
            threshold=ready.settings.loss_threshold,
            workload=ready.workload,
            as_json=args.json,
            progress=sys.stderr,  # a line rewritten on a terminal, else a line per epoch
        )
    from lrtui.live import run_app

    return run_app(ready, log_sink, threshold=ready.settings.loss_threshold, debug=args.debug)


def _log_sink(log_dir: str, exp: ExperimentSpec) -> LogDirSink:
    from lrtui.record.writer import LogDirSink
    from lrtui.spec.describe import run_infos

    try:
        return LogDirSink(log_dir, run_infos(exp))
    except OSError as exc:
        raise SpecError(f"--log-dir {log_dir}: cannot write there ({exc.strerror or exc})") from None


def main_exit() -> None:
    """Console-script entry point: exit with `main`'s code; Ctrl-C before the app or the table
    has the terminal (while torch loads, say) ends quietly with 130."""
    try:
        code = main()
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        code = 130
    _leave(code)


LINGER_SECONDS = 2.0  # after the work is done, how long a library's thread may take to end


def _leave(code: int) -> None:
    """Exit with `code`, even when a library's thread will not end: a terminal that hangs up
    while the app is closing leaves Textual's input thread reading EOF forever, and Python
    would wait on it at exit (seen: a process orphaned at 50% CPU). Everything of lrtui's own
    (logs, the trainer) has been closed by now."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join(LINGER_SECONDS)
            if thread.is_alive():
                with contextlib.suppress(OSError, ValueError):  # the terminal may be gone
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
    sys.exit(code)
