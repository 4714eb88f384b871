"""Control of a running comparison over a Unix socket in its log directory: the server in the
training process, and the client an attached app uses as its source (`lrtui attach DIR`).

Only the socket's owner gets in: it is created with mode 0600 (umask set around `bind`), and
each side checks the other's credentials with SO_PEERCRED: the server refuses a peer of
another user with one line, and the client talks only to a server of its own user (what it
receives is unpickled). One connection is one attached app: the server sends a greeting
(the runs, and how far each events file was written at that moment), then every event batch
after it; the app reads each file up to that point as the past, so nothing is seen twice and
nothing is missed, however often it attaches and detaches. The app's commands (pause, resume,
restart, stop) come the other way and go to the trainer as the keys of a live app do.

A slow or frozen app never holds training up: each connection has its own queue and thread.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import struct
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

from lrtui.engine import checkpoint_files
from lrtui.engine.child import FinalStatuses
from lrtui.spec.commands import Command, Steerable, Verb
from lrtui.spec.errors import SpecError
from lrtui.spec.events import Event, Notice, Sink

SOCKET = "control.sock"
MAX_PATH = 107  # bytes of a Unix socket's path (sun_path, less its terminating zero)
REFUSED = "refused: this comparison belongs to another user"


def peer_uid(sock: socket.socket) -> int:
    """The user id of the process at the other end (Linux: SO_PEERCRED)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


class ControlServer:
    """Listens on `DIR/control.sock`; `publish` fans batches out to attached apps.
    `greeting()` is called under the publishing lock as an app connects: what it needs to
    start (the runs, the files' lengths), consistent with the batches that follow.
    `on_leave`: called as an app leaves (a lingering trainer may then stop)."""

    def __init__(
        self, log_dir: Path, greeting: Callable[[], dict], owner: int | None = None,
        on_leave: Callable[[], None] | None = None,
    ) -> None:  # fmt: skip
        self.path = log_dir / SOCKET
        if len(os.fsencode(self.path)) > MAX_PATH:
            raise SpecError(f"{self.path}: too long for a Unix socket ({MAX_PATH} bytes at most)")
        self._greeting = greeting
        self._owner = os.getuid() if owner is None else owner
        self._lock = threading.RLock()
        self._clients: list[queue.SimpleQueue] = []
        self._trainer: Steerable | None = None
        self._on_leave = on_leave
        self._listener = _listen(self.path)
        self._closed = False
        threading.Thread(target=self._accept, name="lrtui-control", daemon=True).start()

    def steer(self, trainer: Steerable) -> None:
        self._trainer = trainer

    def publish(self, events: list[Event]) -> None:
        with self._lock:
            for client in self._clients:
                client.put(("events", events))

    def attached(self) -> int:
        """How many apps are attached now."""
        with self._lock:
            return len(self._clients)

    def locked(self) -> threading.RLock:
        """The lock publishing holds (whoever writes the files holds it too)."""
        return self._lock

    def close(self) -> None:
        """Training has ended: attached apps hear so, the socket goes."""
        with self._lock:
            self._closed = True
            for client in self._clients:
                client.put(("end", None))
        with contextlib.suppress(OSError):
            self._listener.close()
        with contextlib.suppress(OSError):
            self.path.unlink()

    def _accept(self) -> None:
        while not self._closed:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        if peer_uid(sock) != self._owner:
            with contextlib.suppress(OSError):
                sock.sendall(REFUSED.encode() + b"\n")
            sock.close()
            return
        conn = Connection(sock.detach())
        out: queue.SimpleQueue = queue.SimpleQueue()
        with self._lock:
            out.put(("hello", self._greeting()))
            self._clients.append(out)
        threading.Thread(target=self._send, args=(conn, out), daemon=True).start()
        try:
            while True:
                command = conn.recv()
                if isinstance(command, Command) and self._trainer is not None:
                    self._trainer.send(command)
        except (EOFError, OSError):  # the app detached, or went
            pass
        finally:
            with self._lock:
                if out in self._clients:
                    self._clients.remove(out)
            out.put(None)
            if self._on_leave is not None:
                self._on_leave()

    def _send(self, conn: Connection, out: queue.SimpleQueue) -> None:
        while (item := out.get()) is not None:
            try:
                conn.send(item)
            except (OSError, ValueError):
                return
            if item[0] == "end":
                return
        with contextlib.suppress(OSError):
            conn.close()


def answering(path: Path) -> bool:
    """Whether a server listens at `path` (a comparison trains there now)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def _listen(path: Path) -> socket.socket:
    """A listening socket at `path` only its owner can open; a stale one (its server died)
    is replaced, a live one is refused."""
    if path.exists():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except ConnectionRefusedError:
            path.unlink()  # left by a server that was killed
        except OSError as exc:
            raise SpecError(f"{path}: {exc.strerror or exc}") from None
        else:
            probe.close()
            raise SpecError(f"{path}: another lrtui trains in this directory (attach with lrtui attach)")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(8)
    return sock


class AttachedSource:
    """The app's source when attached: batches from the server to the app's sink, commands
    back. `detach` leaves without a word: training goes on."""

    adds_runs = True  # `Verb.ADD` goes to the trainer as every command does

    def __init__(self, log_dir: Path) -> None:
        path = log_dir / SOCKET
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(path))
        except FileNotFoundError:
            raise SpecError(
                f"attach {log_dir}: nothing trains there now (no {SOCKET}; lrtui watch {log_dir} "
                "shows what was recorded)"
            ) from None
        except ConnectionRefusedError:
            raise SpecError(f"attach {log_dir}: its training process has gone (lrtui resume it)") from None
        except PermissionError:
            raise SpecError(f"attach {log_dir}: {REFUSED}") from None
        if peer_uid(sock) != os.getuid():
            sock.close()
            raise SpecError(f"attach {log_dir}: {REFUSED}")
        self._sock = sock  # kept to shut down: that wakes the reading thread, closing does not
        self._conn = Connection(os.dup(sock.fileno()))
        self.hello = self._first()
        self._sink: Sink = lambda _: None
        self._log_dir = log_dir
        self._finals = FinalStatuses()  # each run's newest status: what a kill leaves unfinished
        self.done = threading.Event()
        self.detached = False
        self.stopped = False
        self.ended = False  # training ended and said so
        self.gone = False  # the training process went without a word (killed)
        self.train_seconds = 0.0

    def _first(self) -> dict:
        try:
            kind, payload = self._conn.recv()
        except Exception:  # the connection closed, or the refusal line (not a pickle)
            raise SpecError(REFUSED) from None
        if kind != "hello":
            raise SpecError(REFUSED)
        return payload

    def attach(self, sink: Sink, past: list[Event] | None = None) -> AttachedSource:
        """Events to `sink`: `past` (what the logs held at the greeting) first, then live."""
        self._sink = sink
        self._finals.see(past or ())
        sink(past or [])
        return self

    def run(self) -> None:
        try:
            while True:
                kind, payload = self._conn.recv()
                if kind == "end":
                    self.ended = True
                    return
                self._finals.see(payload)
                self._sink(payload)
        except (EOFError, OSError, TypeError):
            if not self.detached:  # gone without a word (killed): its unfinished runs end here
                self.gone = True
                why = "the training process has gone before its first checkpoint: nothing to resume"
                if checkpoint_files.listed(self._log_dir / checkpoint_files.FOLDER):
                    why = f"the training process has gone: lrtui resume {self._log_dir} goes on from there"
                ended = self._finals.failed(why)
                self._sink([*ended, Notice(why if ended else "the training process has gone")])
        finally:
            with contextlib.suppress(OSError):
                self._conn.close()
            self.done.set()

    def send(self, command: Command) -> None:
        if self.detached:
            return
        self.stopped = self.stopped or command.verb is Verb.STOP
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(command)

    def detach(self) -> None:
        """Leave: the connection closes, the server forgets this app, training goes on."""
        self.detached = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
