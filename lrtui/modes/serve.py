"""`lrtui serve`: the app in a browser, through textual-serve (the `lrtui[serve]` extra).

textual-serve is a small web server: each browser connection (a tab) runs one command in a
child process whose screen goes to the page (xterm.js) and whose keys come from it. The
command it runs here is `lrtui attach DIR`, so training lives in its own process (started
like `--background`) and a tab is only a view with every key: closing it detaches, opening
the page again attaches again, and several tabs may watch one comparison.

The server listens on 127.0.0.1 only: the app steers training and shows the machine's files'
names, so it is reached through an SSH tunnel (`ssh -L P:127.0.0.1:P HOST`), never from the
network. The page connects its websocket to the address the server was started with, so the
tunnel's local port must be the same P.
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Callable
from typing import Any

from lrtui.spec.errors import SpecError
from lrtui.spec.launch import self_command

HOST = "127.0.0.1"  # this machine only: reach it through an SSH tunnel
DEFAULT_PORT = 8000


def server_class() -> type:
    """textual-serve's `Server`, or an error naming the extra to install."""
    try:
        from textual_serve.server import Server
    except ImportError:
        raise SpecError("lrtui serve needs textual-serve: pip install 'lrtui[serve]'") from None
    return Server


def port_free(port: int) -> None:
    """Raise where `port` cannot be listened on, before any training starts for it."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((HOST, port))
    except OSError as exc:
        raise SpecError(f"--port {port}: {exc.strerror or exc} (choose another with --port P)") from None
    finally:
        probe.close()


def attach_command(log_dir: str, debug: bool = False) -> str:
    """The shell command textual-serve runs for each browser tab: `lrtui attach DIR`, with
    this Python (the one lrtui is installed in, whatever the PATH says), `spec.launch`'s way."""
    return self_command("attach", log_dir, *(["--debug"] if debug else []))


def serve(log_dir: str, port: int, debug: bool = False) -> int:
    """Serve `lrtui attach DIR` on http://127.0.0.1:PORT until Ctrl-C (or SIGTERM); the
    comparison trains on after that."""
    base = server_class()

    class Served(base):  # type: ignore[misc, valid-type]
        def initialize_logging(self) -> None:  # textual-serve logs every request: warnings only
            logging.basicConfig(level="WARNING", format="lrtui serve: %(message)s")

        async def on_startup(self, app: Any) -> None:  # textual-serve prints a logo here
            lines = [
                f"lrtui: serving the app on {self.public_url} (this machine only)",
                f"lrtui: from another machine: ssh -L {port}:{HOST}:{port} {socket.gethostname()}, "
                f"then open http://{HOST}:{port}",
                f"lrtui: Ctrl-C stops serving; training goes on (lrtui attach {log_dir} or "
                f"lrtui serve --attach {log_dir})",
            ]
            print("\n".join(lines), flush=True)

    server = Served(attach_command(log_dir, debug), host=HOST, port=port, title=f"lrtui · {log_dir}")
    sys.unraisablehook = _quiet_about_closed_loops(sys.unraisablehook)
    try:
        server.serve()
    except OSError as exc:  # the port was taken between the check and now
        raise SpecError(f"--port {port}: {exc.strerror or exc}") from None
    return 0


def _quiet_about_closed_loops(hook: Callable[[Any], None]) -> Callable[[Any], None]:
    """`sys.unraisablehook`, less asyncio's "Event loop is closed" from a tab's subprocess
    transport collected after serving stopped (its `__del__` asks the closed loop to close
    it): a tab's `lrtui attach` ended with the server, as it should; anything else is told."""

    def quiet(unraisable: Any) -> None:
        exc = unraisable.exc_value
        if isinstance(exc, RuntimeError) and str(exc) == "Event loop is closed":
            return
        hook(unraisable)

    return quiet
