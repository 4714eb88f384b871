"""`lrtui serve [--port P] [options]` and `lrtui serve --attach DIR`: the app in a browser.

With a comparison's options, training starts as with `--background` (a `--headless --log-dir
DIR` process of its own session; a folder is chosen when no `--log-dir` is given, and said),
then textual-serve runs `lrtui attach DIR` for each browser tab. With `--attach DIR`, a
comparison that already trains there is served. Every check (the options, the port, the
extra) is made before training starts.
"""

from __future__ import annotations

import time
from pathlib import Path

from lrtui.commands.compare import build_parser
from lrtui.commands.parser import Parser, checked
from lrtui.spec.errors import SpecError

DEFAULT_LOG_ROOT = "lrtui-runs"  # where a served comparison records when no --log-dir is given


def port_number(text: str, name: str) -> int:
    """A TCP port (argparse names the flag `name` itself)."""
    try:
        port = int(text)
    except ValueError:
        raise SpecError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise SpecError(f"{port} is not between 1 and 65535")
    return port


def serve(argv: list[str]) -> int:
    from lrtui.modes.serve import DEFAULT_PORT

    p = Parser(
        prog="lrtui serve",
        description="Serve the app in a browser on 127.0.0.1 (reach it over ssh -L P:127.0.0.1:P HOST). "
        "With the options of lrtui, a comparison starts training in the background (as --background); "
        "with --attach DIR, one that trains there is served. Closing the tab detaches: training goes on.",
        usage="lrtui serve [--port P] [--attach DIR | lrtui's options]",
    )
    p.add_argument(
        "--port", type=checked(port_number, "--port"), default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}"
    )
    p.add_argument("--attach", metavar="DIR", help="serve the comparison training in DIR (its --log-dir)")
    args, rest = p.parse_known_args(argv)
    try:
        from lrtui.modes.serve import port_free, server_class
        from lrtui.modes.serve import serve as run_server

        server_class()  # the extra, before anything starts
        port_free(args.port)
        if args.attach is not None:
            if rest:
                raise SpecError(f"lrtui serve --attach DIR takes no comparison options: {' '.join(rest)}")
            from lrtui.engine.control import AttachedSource

            AttachedSource(Path(args.attach)).detach()  # nothing trains there: said now, not in the page
            return run_server(args.attach, args.port)
        log_dir, debug = start_comparison(rest)
        return run_server(log_dir, args.port, debug)
    except SpecError as exc:
        p.fail(exc)


def start_comparison(rest: list[str]) -> tuple[str, bool]:
    """The comparison of `lrtui REST` started in the background (as `--background` does);
    its log directory, and whether `--debug` was asked."""
    args = build_parser().parse_args(rest)  # a bad option: lrtui's own one line
    if args.headless or args.background or args.list_schedulers:
        raise SpecError("lrtui serve runs the comparison in the background itself: no --headless, "
                        "--background or --list-schedulers")  # fmt: skip
    extra: list[str] = []
    if not args.log_dir:
        args.log_dir = f"{DEFAULT_LOG_ROOT}/{time.strftime('%Y%m%d-%H%M%S')}"
        extra = ["--log-dir", args.log_dir]
        print(f"lrtui: recording to {args.log_dir} (choose with --log-dir DIR)", flush=True)
    if not (args.task or args.config):
        extra += ["--task", "teacher"]  # the live app's default task
    from lrtui.modes.attach import start_background

    print(f"lrtui: starting training (its output: {args.log_dir}/lrtui-background.log)", flush=True)
    start_background(["--headless", *rest, *extra], args.log_dir).detach()
    return args.log_dir, args.debug
