"""Attaching to a comparison that trains without a terminal: the training side (a `--headless
--log-dir` comparison, fresh or resumed, listens on `DIR/control.sock`) and `lrtui attach DIR`
(the app, with the logs as its past and the socket as its present, and every key).

The training side hands every batch to the log directory and then to the attached apps under
one lock, and an app's greeting (how long each file is) is taken under the same lock: an app
reads each file up to there and gets every later batch, so it sees each step once.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lrtui.engine.control import AttachedSource, ControlServer
from lrtui.record import continued
from lrtui.record.writer import LogDirSink
from lrtui.spec.describe import run_infos
from lrtui.spec.errors import SpecError
from lrtui.spec.events import Event
from lrtui.spec.experiment import ExperimentSpec


class ControlledLog:
    """The log directory's sink, telling every attached app what it wrote. Stands in for
    the `LogDirSink` it wraps wherever one is taken (`recording_tee`, closing)."""

    def __init__(self, inner: LogDirSink, exp: ExperimentSpec, label: str, threshold: float | None) -> None:
        self.inner, self.root = inner, inner.root
        hello = {"infos": run_infos(exp), "label": label, "threshold": threshold}
        self.server = ControlServer(Path(inner.root), lambda: {**hello, **self._lengths()})

    def _lengths(self) -> dict:
        return {
            "files": [p.name for p in self.inner.paths],
            "offsets": [p.stat().st_size for p in self.inner.paths],
        }

    def __call__(self, events: list[Event]) -> None:
        with self.server.locked():
            self.inner(events)
            if events is not getattr(self.inner, "_history", None):  # what the files held already
                self.server.publish(events)

    def untold_error(self) -> str | None:
        return self.inner.untold_error()

    def close(self) -> None:
        self.server.close()
        self.inner.close()


def steered(make: Callable[..., object], log: ControlledLog) -> Callable[..., object]:
    """A trainer factory whose trainer the attached apps steer."""

    def build(*args: object, **options: object) -> object:
        trainer = make(*args, **options)
        log.server.steer(trainer)  # type: ignore[arg-type]
        return trainer

    return build


def listening(
    log: LogDirSink | None, make: Callable[..., object], exp: ExperimentSpec, threshold: float | None
) -> tuple[LogDirSink | ControlledLog | None, Callable[..., object]]:
    """A headless comparison's log sink and trainer factory, open to `lrtui attach DIR`
    where it records; one line on standard error where the socket cannot be made."""
    if log is None:
        return None, make
    label = f"{exp.task} · {exp.optimizer.name} · seed {exp.seed} · headless"
    try:
        controlled = ControlledLog(log, exp, label, threshold)
    except (SpecError, OSError) as exc:
        sys.stderr.write(f"lrtui: lrtui attach will not reach this comparison: {exc}\n")
        return log, make
    sys.stderr.write(f"lrtui: attach from another terminal with: lrtui attach {log.root}\n")
    return controlled, steered(make, controlled)


BACKGROUND_LOG = "lrtui-background.log"  # the background process's standard output and error
START_SECONDS = 300.0  # how long the background process may take to start training


def in_background(argv: list[str], log_dir: str, debug: bool = False) -> int:
    """`lrtui --background --log-dir DIR ...` (and `lrtui resume DIR --background`): `lrtui
    ARGV` (a `--headless` comparison) trains in a process of its own session (no terminal's
    hang-up reaches it), and this terminal attaches to it:
    `d` and a hang-up detach, `lrtui attach DIR` comes back. An error of the comparison's
    (a bad task file) ends this command with the background process's last line."""
    return attach(log_dir, debug, start_background(argv, log_dir))


def start_background(argv: list[str], log_dir: str) -> AttachedSource:
    """`lrtui ARGV` (a `--headless --log-dir DIR` comparison) started in a process of its own
    session, output to `DIR/lrtui-background.log`; returns once it listens on its socket
    (connected: the greeting taken), or raises `SpecError` with its last line if it ended."""
    root = Path(log_dir)
    child = spawn(argv, root)
    deadline = time.monotonic() + START_SECONDS
    while True:
        with contextlib.suppress(SpecError):
            return AttachedSource(root)
        code = child.poll()
        if code is not None:
            lines = (root / BACKGROUND_LOG).read_text(errors="replace").strip().splitlines() or [""]
            raise SpecError(lines[-1].removeprefix("lrtui: error: ") or f"training ended with code {code}")
        if time.monotonic() > deadline:
            raise SpecError(
                f"training did not start within {START_SECONDS:.0f} s (see {root / BACKGROUND_LOG})"
            )
        time.sleep(0.2)


def spawn(argv: list[str], root: Path) -> subprocess.Popen:
    """`lrtui ARGV` in a process of its own session (no terminal's hang-up reaches it), its
    output appended to `DIR/lrtui-background.log`."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / BACKGROUND_LOG).open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "lrtui", *argv], stdin=subprocess.DEVNULL, stdout=out,
            stderr=out, start_new_session=True,
        )  # fmt: skip


def hand_over(log_dir: str, told: bool) -> int:
    """The live app's `d` (`told`: this terminal is there to hear) or its hang-up, where it
    records: its trainer has stopped with a checkpoint of every run and its logs are closed;
    `lrtui resume DIR --headless` goes on from there in the background (bit for bit what the
    runs would have done, as `lrtui resume` is), open to `lrtui attach DIR`."""
    from lrtui.engine.checkpoint import listed
    from lrtui.modes.resume import checkpoints_of

    if not listed(checkpoints_of(log_dir)):  # every run had finished: they were removed
        if told:
            sys.stderr.write("lrtui: every run has finished: nothing goes on to detach\n")
        return 0
    argv = ["resume", log_dir, "--headless"]
    if not told:  # nobody to tell, nothing to wait for
        spawn(argv, Path(log_dir))
        return 0
    sys.stderr.write("lrtui: detaching: training goes on from its checkpoint in the background\n")
    try:
        start_background(argv, log_dir).detach()
    except SpecError as exc:
        sys.stderr.write(f"lrtui: error: could not detach: {exc} (lrtui resume {log_dir} continues it)\n")
        return 2
    sys.stderr.write(f"lrtui: detached; attach again with: lrtui attach {log_dir}\n")
    return 0


def attach(log_dir: str, debug: bool = False, source: AttachedSource | None = None) -> int:
    """`lrtui attach DIR`: the app on the comparison training there, until detached or quit."""
    from lrtui.modes.guard import run_guarded
    from lrtui.ui.attached import AttachedApp
    from lrtui.ui.exitcode import exit_code

    root = Path(log_dir)
    source = source or AttachedSource(root)
    hello = source.hello
    past = [
        event
        for run, (name, length) in enumerate(zip(hello["files"], hello["offsets"], strict=True))
        for event in continued.history(root / name, run, upto=length)
    ]

    def start(sink) -> AttachedSource:  # type: ignore[no-untyped-def]
        sink(past)
        return source.attach(sink)

    app = AttachedApp(
        hello["infos"], start, source_label=f"attached · {hello['label']}", threshold=hello["threshold"],
        show_tracebacks=debug,
    )  # fmt: skip
    run_guarded(app, None)
    source.done.wait(2.0)
    return exit_code(app)
