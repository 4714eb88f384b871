"""`lrtui resume DIR`: a comparison recorded with `--log-dir DIR` goes on from its last
checkpoint, live or `--headless` (`modes.resume` does it, imported once the flags are good)."""

from __future__ import annotations

import argparse
from pathlib import Path

from lrtui.commands.compare import training_flags
from lrtui.commands.flags import checkpoint_flag, debug_flag
from lrtui.commands.parser import Parser
from lrtui.spec.errors import SpecError, no_checkpoints
from lrtui.spec.pipe import on_a_terminal


def resume(argv: list[str]) -> int:
    p = Parser(
        prog="lrtui resume",
        description="Continue every unfinished run of a comparison recorded with --log-dir DIR, "
        "from its last checkpoint: the logs go on in the same files. Live, it trains in a process of "
        "its own, this terminal attached: d (or a hang-up) detaches, lrtui attach DIR comes back.",
    )
    p.add_argument("dir", metavar="DIR", help="the --log-dir of the comparison")
    training_flags(
        p,
        "as live (training in a process that outlives this terminal, this terminal attached: "
        "d detaches), but q asks whether to stop training or only detach",
        ("--no-summary", "--headless: leave out the leaderboard"),
        ("--json", "--headless: the leaderboard as JSON"),
    )
    checkpoint_flag(p)
    debug_flag(p)
    args = p.parse_args(argv)
    if args.background and (args.headless or not on_a_terminal()):
        p.fail(SpecError("--background attaches this terminal: without --headless, in a terminal"))
    if not args.headless:  # live: it trains in a process of its own, this terminal attached
        return _attached(p, args, argv)
    from lrtui.modes.resume import resume as run_resume  # torch from here on

    try:
        return run_resume(
            args.dir, args.checkpoint_every, as_json=args.json, summary=not args.no_summary,
            for_app=args.for_app,
        )  # fmt: skip
    except SpecError as exc:
        p.fail(exc, debug=args.debug)


def _attached(p: Parser, args: argparse.Namespace, argv: list[str]) -> int:
    """Live: `lrtui resume DIR --headless` in a process of its own session, this terminal
    attached (`d` and a hang-up detach). `q` stops training, as in any live app, unless
    `--background` asked for an app that asks (as `lrtui attach`'s does)."""
    if not on_a_terminal():
        p.fail(SpecError("the live app needs a terminal: use lrtui resume DIR --headless"))
    if not Path(args.dir).is_dir():
        p.fail(SpecError(f"resume {args.dir}: no such directory"))
    from lrtui.engine import checkpoint_files

    if not checkpoint_files.listed(Path(args.dir) / checkpoint_files.FOLDER):  # before "starting training…"
        p.fail(no_checkpoints(args.dir))
    from lrtui.modes.attach import in_background

    rest = [a for a in argv if a != "--background"]
    try:
        return in_background(["resume", *rest, "--headless"], args.dir, args.debug, not args.background)
    except SpecError as exc:
        p.fail(exc, debug=args.debug)
