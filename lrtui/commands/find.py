"""`lrtui find`: an LR range test on a built-in task or your own (`--task`), live in the
terminal or, with `--headless`, printed. Ends with the suggestions and flags to use them
(`modes.find` runs the test)."""

from __future__ import annotations

import argparse
import sys

from lrtui.commands.flags import debug_flag, device_flag, experiment_flags, experiment_settings
from lrtui.commands.parser import Parser, checked
from lrtui.spec.errors import SpecError
from lrtui.spec.pipe import on_a_terminal
from lrtui.spec.values import positive


def _parser() -> Parser:
    p = Parser(
        prog="lrtui find", description="An LR range test: the LR grows exponentially while the model trains."
    )
    experiment_flags(p)
    p.add_argument("--start-lr", type=checked(positive, "--start-lr"), default=1e-7, help="first LR (1e-7)")
    p.add_argument("--end-lr", type=checked(positive, "--end-lr"), default=10.0, help="last LR (10)")
    p.add_argument("--steps", type=int, default=100, help="batches the LR grows over (100)")
    device_flag(p)
    p.add_argument("--headless", action="store_true", help="print the suggestions instead of the live chart")
    p.add_argument("--csv", metavar="OUT", help="write lr,loss,smoothed for every step (- for stdout)")
    debug_flag(p)
    return p


def _check(args: argparse.Namespace) -> None:
    if args.start_lr >= args.end_lr:
        raise SpecError(f"--start-lr {args.start_lr:g} must be smaller than --end-lr {args.end_lr:g}")
    if args.steps < 3:
        raise SpecError(f"--steps must be at least 3, not {args.steps}")


def find(argv: list[str]) -> int:
    p = _parser()
    args = p.parse_args(argv)
    try:
        _check(args)
        from lrtui.modes.find import Span, prepare_range_test, run_range_test, write_csv  # torch from here on

        settings = experiment_settings(args)
        settings.task = settings.task or "teacher"
        test = prepare_range_test(settings, args.config, Span(args.start_lr, args.end_lr, args.steps))
        result = run_range_test(test, live=not args.headless and on_a_terminal())
        if result is None:
            return 0  # quit before the end
    except SpecError as exc:
        p.fail(exc, debug=args.debug)
    write_csv(result, args.csv)
    print("\n".join(test.advice(result)), file=sys.stderr if args.csv == "-" else sys.stdout)
    return 0
