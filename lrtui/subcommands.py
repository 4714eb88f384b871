"""The subcommands beside the comparison itself: `watch`, `export`, `plan`, `find`, and
`--list-schedulers`. Each imports what it needs when it runs: `watch` and `export` never
import torch."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lrtui.cli import _checked, _experiment_flags, _Parser
from lrtui.spec.errors import SpecError
from lrtui.spec.settings import Settings
from lrtui.spec.text import clean
from lrtui.spec.values import poll_seconds


def watch(argv: list[str]) -> int:
    p = _Parser(prog="lrtui watch", description="Watch events files live: one panel per file.")
    p.add_argument(
        "path", metavar="PATH", help="an events file, or a directory of them (*.jsonl, or TensorBoard runs)"
    )
    p.add_argument(
        "--poll", type=_checked(poll_seconds, "--poll"), default=0.2, help="seconds between reads (0.2)"
    )
    p.add_argument("--debug", action="store_true", help="show a traceback if the viewer fails")
    tag_flags(p)
    args = p.parse_args(argv)
    from lrtui.record.watch import WatchSource
    from lrtui.ui.app import WatchApp
    from lrtui.ui.exitcode import exit_code

    def source(sink):
        return WatchSource(args.path, sink, poll=args.poll, lr_tag=args.lr_tag, loss_tag=args.loss_tag)

    app = WatchApp([], source, source_label=f"watching {clean(args.path, 120)}", show_tracebacks=args.debug)
    app.run()
    return exit_code(app)


def plan(argv: list[str]) -> int:
    p = _Parser(prog="lrtui plan", description="The planned LR curves of schedules, without training.")
    _experiment_flags(p)
    p.add_argument("--csv", metavar="OUT", help="write step,run,lr for every training step (- for stdout)")
    p.add_argument("--text", action="store_true", help="print the chart as text even in a terminal")
    args = p.parse_args(argv)
    from lrtui.config import build_experiment
    from lrtui.plancmd import run_plan

    settings = Settings(
        preset=args.preset, runs=list(args.scheduler), epochs=args.epochs, batches=args.batches,
        batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer, seed=args.seed, device="cpu",
    )  # fmt: skip
    try:
        exp = build_experiment(settings, args.config)
    except SpecError as exc:
        p.exit(2, f"lrtui: error: {clean(str(exc), 2000)}\n")
    try:
        return run_plan(exp, args.csv, args.text)
    except BrokenPipeError:  # `| head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def tag_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lr-tag", metavar="GLOB", help="TensorBoard: the LR's tag (default: the usual names)")
    p.add_argument(
        "--loss-tag", metavar="GLOB", help="TensorBoard: the loss's tag (default: the usual names)"
    )


def export(argv: list[str]) -> int:
    from lrtui.record.export import ExportError, check_output, export_csv, export_to_file, input_files
    from lrtui.record.tb_export import TbOptions

    p = _Parser(prog="lrtui export", description="Write every recorded step of events files as CSV.")
    p.add_argument(
        "path", metavar="PATH", help="events files (*.jsonl) or TensorBoard runs: a file or a directory"
    )
    p.add_argument("--csv", required=True, metavar="OUT", help="the CSV file to write (- for stdout)")
    p.add_argument(
        "--tag", action="append", default=[], metavar="TAG", help="TensorBoard: another scalar, a column"
    )
    tag_flags(p)
    args = p.parse_args(argv)
    path = Path(args.path)
    options = TbOptions(args.lr_tag, args.loss_tag, tuple(args.tag), path if path.is_dir() else path.parent)
    try:
        inputs = input_files(path)
        if args.csv != "-":
            check_output(args.csv, inputs)
            result = export_to_file(inputs, args.csv, options)
        else:
            result = export_csv(inputs, sys.stdout, options)
            sys.stdout.flush()
    except (ExportError, SpecError) as exc:
        p.exit(2, f"lrtui: error: {clean(str(exc), 300)}\n")
    except BrokenPipeError:  # `--csv - | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        p.exit(2, f"lrtui: error: {clean(str(exc.filename or args.csv), 200)}: {exc.strerror or exc}\n")
    where = clean(args.csv, 200)
    print(f"lrtui: wrote {result.rows} rows from {result.files} runs to {where}", file=sys.stderr)
    if result.corrupt:
        print(f"lrtui: skipped {result.corrupt} corrupt lines or records", file=sys.stderr)
    return 0


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


def find(argv: list[str]) -> int:
    from lrtui.findcmd import main

    return main(argv)
