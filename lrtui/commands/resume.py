"""`lrtui resume DIR`: a comparison recorded with `--log-dir DIR` goes on from its last
checkpoint, live or `--headless` (`modes.resume` does it, imported once the flags are good)."""

from __future__ import annotations

from lrtui.commands.flags import checkpoint_flag, debug_flag
from lrtui.commands.parser import Parser
from lrtui.spec.errors import SpecError
from lrtui.spec.pipe import on_a_terminal


def resume(argv: list[str]) -> int:
    p = Parser(
        prog="lrtui resume",
        description="Continue every unfinished run of a comparison recorded with --log-dir DIR, "
        "from its last checkpoint: the logs go on in the same files.",
    )
    p.add_argument("dir", metavar="DIR", help="the --log-dir of the comparison")
    p.add_argument("--headless", action="store_true", help="train without the UI and print the LR table")
    p.add_argument("--no-summary", action="store_true", help="--headless: leave out the leaderboard")
    p.add_argument("--json", action="store_true", help="--headless: the leaderboard as JSON")
    p.add_argument(
        "--background",
        action="store_true",
        help="train in a process that outlives this terminal and attach to it (d detaches)",
    )
    checkpoint_flag(p)
    debug_flag(p)
    args = p.parse_args(argv)
    if args.background:
        if args.headless or not on_a_terminal():
            p.fail(SpecError("--background attaches this terminal: without --headless, in a terminal"))
        from lrtui.modes.attach import in_background

        rest = [a for a in argv if a != "--background"]
        try:
            return in_background(["resume", *rest, "--headless"], args.dir, args.debug)
        except SpecError as exc:
            p.fail(exc, debug=args.debug)
    from lrtui.modes.resume import resume as run_resume  # torch from here on

    try:
        return run_resume(
            args.dir, args.headless, args.checkpoint_every, as_json=args.json,
            summary=not args.no_summary, debug=args.debug, terminal=on_a_terminal(),
        )  # fmt: skip
    except SpecError as exc:
        p.fail(exc, debug=args.debug)
