"""`lrtui watch` and `lrtui export`: the commands that read logs. Neither imports torch, so a
laptop without it can watch or export a GPU box's runs."""

from __future__ import annotations

import sys
from pathlib import Path

from lrtui.commands.flags import tag_flags
from lrtui.commands.parser import Parser, checked
from lrtui.spec.errors import SpecError
from lrtui.spec.pipe import reader_gone
from lrtui.spec.text import clean
from lrtui.spec.values import poll_seconds


def watch(argv: list[str]) -> int:
    p = Parser(prog="lrtui watch", description="Watch events files live: one panel per file.")
    p.add_argument(
        "path", metavar="PATH", help="an events file, or a directory of them (*.jsonl, or TensorBoard runs)"
    )
    p.add_argument(
        "--poll", type=checked(poll_seconds, "--poll"), default=0.2, help="seconds between reads (0.2)"
    )
    p.add_argument("--debug", action="store_true", help="show a traceback if the viewer fails")
    tag_flags(p)
    args = p.parse_args(argv)
    from lrtui.modes.watch import run_watch

    return run_watch(args.path, args.poll, args.lr_tag, args.loss_tag, debug=args.debug)


def export(argv: list[str]) -> int:
    from lrtui.record.export import (
        ExportError,
        check_output,
        export_csv,
        export_to_file,
        input_files,
        unlogged_tags,
        what_was_read,
    )
    from lrtui.record.readers import ReadOptions

    p = Parser(prog="lrtui export", description="Write every recorded step of events files as CSV.")
    p.add_argument(
        "path",
        metavar="PATH",
        help="a run's file or a directory (*.jsonl, TensorBoard, W&B, MLflow, Lightning, HF, Ray Tune)",
    )
    p.add_argument("--csv", required=True, metavar="OUT", help="the CSV file to write (- for stdout)")
    p.add_argument(
        "--tag", action="append", default=[], metavar="TAG", help="a scalar by its exact name: a column"
    )
    tag_flags(p)
    args = p.parse_args(argv)
    path = Path(args.path)
    options = ReadOptions(args.lr_tag, args.loss_tag, tuple(args.tag), path if path.is_dir() else path.parent)
    try:
        inputs = input_files(path)
        held = what_was_read(path, inputs)  # which reader took which runs, what none reads
        if args.csv != "-":
            check_output(args.csv, inputs)
            result = export_to_file(inputs, args.csv, options, lambda r: not unlogged_tags(options, r)[1])
        else:
            result = export_csv(inputs, sys.stdout, options)
            sys.stdout.flush()
    except (ExportError, SpecError) as exc:
        p.fail(exc, limit=500)
    except BrokenPipeError:  # `--csv - | head`: the reader has all it wanted
        reader_gone()
        return 0
    except OSError as exc:
        p.exit(2, f"lrtui: error: {clean(str(exc.filename or args.csv), 200)}: {exc.strerror or exc}\n")
    return _said(result, clean(args.csv, 200), held, unlogged_tags(options, result))


def _said(result, where: str, held: str, unlogged: tuple[str, bool]) -> int:  # type: ignore[no-untyped-def]
    """What an export did, on standard error, and its exit status: 1 where a tag asked for
    that no run logs (said with those they do log, `unlogged_tags`) left the export without
    what was asked for; a file is then not written at all (`export_to_file`'s `keep`), while
    standard output or a device (/dev/null) already holds it."""
    line, fatal = unlogged
    if not result.written:
        print(f"lrtui: error: {line}; nothing written to {where}", file=sys.stderr)
        return 1
    rows, runs = _count(result.rows, "row"), _count(result.files, "run")
    print(f"lrtui: wrote {rows} from {runs} to {where}", file=sys.stderr)
    if held:
        print(f"lrtui: {clean(held, 500)}", file=sys.stderr)
    if result.corrupt:
        print(f"lrtui: skipped {result.corrupt} corrupt lines or records", file=sys.stderr)
    if line:
        print(f"lrtui: {'error' if fatal else 'warning'}: {line}", file=sys.stderr)
    return 1 if fatal else 0


def _count(n: int, noun: str) -> str:
    """`1 run`, `2 runs`: the count with its noun."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
