"""`lrtui forecast LOGDIR`: each run's final loss predicted by a loss law fitted on the runs
(`modes.forecast` reads and fits). Runs without torch, unless `-s SPEC` asks for a plan."""

from __future__ import annotations

import sys
from argparse import Namespace
from pathlib import Path

from lrtui.commands.flags import tag_flags
from lrtui.commands.parser import Parser, checked
from lrtui.spec.errors import SpecError
from lrtui.spec.pipe import reader_gone
from lrtui.spec.settings import parse_scheduler_flag
from lrtui.spec.values import count, positive


def _spec_text(text: str, name: str) -> str:
    parse_scheduler_flag(text)  # checked now; planned (with torch) only once the logs are read
    return text


def _check(p: Parser, args: Namespace) -> None:
    """The flags that only make sense together, each wrong combination one line."""
    from lrtui.modes.forecast import MAX_STEPS

    if args.steps is not None and not (args.scheduler or args.suggest):
        p.error("--steps is the length of the schedules -s and --suggest forecast; give one of them")
    if args.steps is not None and args.steps > MAX_STEPS:
        p.error(f"--steps {args.steps:,}: at most {MAX_STEPS:,} (the longest plan lrtui makes)")
    if args.warmup is not None and args.steps is not None and args.warmup >= args.steps:
        p.error(f"--warmup {args.warmup:,}: must be shorter than --steps {args.steps:,}")
    if args.batches_per_epoch is not None and not args.scheduler:
        p.error("--batches-per-epoch is for -s schedules that step once an epoch; give -s SPEC")


def forecast(argv: list[str]) -> int:
    p = Parser(
        prog="lrtui forecast", description="Predict each run's final loss from a loss law fitted on the runs."
    )
    p.add_argument(
        "path", metavar="LOGDIR", help="recorded runs: *.jsonl or TensorBoard runs, a folder or a file"
    )
    p.add_argument("--fit", nargs="+", action="extend", default=[], metavar="NAME",
                   help="fit on these runs only and predict the others (default: fit on all)")  # fmt: skip
    p.add_argument("-s", "--scheduler", action="append", default=[], metavar="SPEC",
                   type=checked(_spec_text, "--scheduler"),
                   help="a schedule to predict, never trained (repeatable)")  # fmt: skip
    p.add_argument("--steps", type=checked(count, "--steps"), metavar="N",
                   help="training steps (batches) of -s and --suggest, at most 200,000 "
                   "(default: the longest run fitted)")  # fmt: skip
    p.add_argument("--batches-per-epoch", type=checked(count, "--batches-per-epoch"), metavar="B",
                   help="-s specs that step once an epoch (no @batch) step every B steps")  # fmt: skip
    p.add_argument(
        "--lr", type=checked(positive, "--lr"), help="peak LR of -s and --suggest (default: the runs')"
    )
    p.add_argument("--suggest", action="store_true", help="the schedule the law predicts lowest at --steps")
    p.add_argument("--warmup", type=checked(lambda v, n: count(v, n, 0), "--warmup"), metavar="STEPS",
                   help="--suggest: warm-up steps (default: the runs' longest)")  # fmt: skip
    p.add_argument("--csv", metavar="OUT", help="write step,run,predicted_loss (- for stdout)")
    p.add_argument("--json", action="store_true", help="print the forecast as JSON")
    tag_flags(p)
    args = p.parse_args(argv)
    _check(p, args)
    from lrtui.modes.forecast import Request
    from lrtui.modes.forecast_run import run_forecast
    from lrtui.record.readers import ReadOptions
    from lrtui.state.forecast.fit import ForecastError

    path = Path(args.path)
    options = ReadOptions(args.lr_tag, args.loss_tag, (), path if path.is_dir() else path.parent)
    request = Request(path, args.fit, args.scheduler, args.steps, args.lr, args.batches_per_epoch,
                      args.suggest, options)  # fmt: skip
    try:
        return run_forecast(request, args.warmup, args.csv, args.json)
    except (SpecError, ForecastError) as exc:
        p.fail(exc, limit=400)
    except BrokenPipeError:
        reader_gone()
        return 0
    except OSError as exc:
        p.exit(2, f"lrtui: error: {exc.filename or args.path}: {exc.strerror or exc}\n")
    finally:
        sys.stdout.flush()
