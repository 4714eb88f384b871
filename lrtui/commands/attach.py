"""`lrtui attach DIR`: the app on a comparison training without a terminal (`--headless
--log-dir DIR`, or `lrtui resume DIR --headless`), with every key; `d` detaches."""

from __future__ import annotations

from lrtui.commands.flags import debug_flag
from lrtui.commands.parser import Parser
from lrtui.spec.errors import SpecError
from lrtui.spec.pipe import on_a_terminal


def attach(argv: list[str]) -> int:
    p = Parser(
        prog="lrtui attach",
        description="Open the app on a comparison that trains with --headless --log-dir DIR: every key "
        "works; d detaches (training goes on), q asks whether to stop training or only detach.",
    )
    p.add_argument("dir", metavar="DIR", help="the --log-dir of the comparison")
    debug_flag(p)
    args = p.parse_args(argv)
    if not on_a_terminal():
        p.fail(SpecError("lrtui attach needs a terminal (watch from a script with lrtui watch DIR)"))
    from lrtui.modes.attach import attach as run_attach

    try:
        return run_attach(args.dir, debug=args.debug)
    except SpecError as exc:
        p.fail(exc, debug=args.debug)
