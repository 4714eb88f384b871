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
import threading
import time
from collections.abc import Callable
from pathlib import Path

from lrtui.engine.control import AttachedSource, ControlServer
from lrtui.record import continued
from lrtui.record.system import SystemSampler
from lrtui.record.writer import LogDirSink
from lrtui.spec.commands import Command, Steerable, Verb
from lrtui.spec.describe import run_infos
from lrtui.spec.errors import SpecError, cannot_write
from lrtui.spec.events import Event, RunAdded, StatusEvent
from lrtui.spec.experiment import ExperimentSpec
from lrtui.spec.launch import self_argv


class ControlledLog:
    """The log directory's sink, telling every attached app what it wrote. Stands in for
    the `LogDirSink` it wraps wherever one is taken (`recording_tee`, closing).

    `linger`: the trainer lingers after every run has ended (a live app's, `r` restarts a
    run), for as long as an app is attached: once every run has ended and no app is
    attached, it is told to stop, and the comparison ends as a headless one does. Not before
    the first app has attached (the app of the terminal that started it may connect after a
    short comparison has ended), or `START_SECONDS` have passed without one."""

    def __init__(
        self,
        inner: LogDirSink,
        exp: ExperimentSpec,
        label: str,
        threshold: float | None,
        linger: bool = False,
    ) -> None:
        self.inner, self.root = inner, inner.root
        self._linger = linger
        self._ended = [False] * len(exp.runs)  # whether each run's newest status is a final one
        self._trainer: Steerable | None = None
        self._waited = threading.Event()  # an app has attached, or none came in time
        self._hello = {"infos": run_infos(exp), "label": label, "threshold": threshold}
        self.server = ControlServer(Path(inner.root), self._greeting, on_leave=self._end_if_idle)
        if linger:  # should no app come, the trainer ends as a headless one does
            timer = threading.Timer(START_SECONDS, self._no_app_came)
            timer.daemon = True
            timer.start()

    def _greeting(self) -> dict:
        """What an app gets as it attaches (under the publishing lock, the app counted next)."""
        self._waited.set()
        return {**self._hello, **self._lengths()}

    def _no_app_came(self) -> None:
        self._waited.set()
        self._end_if_idle()

    def steer(self, trainer: Steerable) -> None:
        self._trainer = trainer
        self.server.steer(trainer)

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
        for e in events:
            if isinstance(e, RunAdded) and e.run == len(self._ended):  # apps attaching later see it
                self._ended.append(False)
                self._hello["infos"] = [*self._hello["infos"], e.info]
            if isinstance(e, StatusEvent) and 0 <= e.run < len(self._ended):
                self._ended[e.run] = e.status.finished
        self._end_if_idle()

    def _end_if_idle(self) -> None:
        """A lingering trainer stops once every run has ended and no app is attached."""
        idle = self._waited.is_set() and not self.server.attached()
        if self._linger and self._trainer is not None and all(self._ended) and idle:
            self._trainer.send(Command(Verb.STOP))

    def untold_error(self) -> str | None:
        return self.inner.untold_error()

    def close(self) -> None:
        self.server.close()
        self.inner.close()


def steered(make: Callable[..., object], log: ControlledLog) -> Callable[..., object]:
    """A trainer factory whose trainer the attached apps steer."""

    def build(*args: object, **options: object) -> object:
        trainer = make(*args, **options)
        log.steer(trainer)  # type: ignore[arg-type]
        return trainer

    return build


def listening(
    log: LogDirSink | None,
    make: Callable[..., object],
    exp: ExperimentSpec,
    threshold: float | None,
    label: str | None = None,
    for_app: bool = False,
) -> tuple[LogDirSink | ControlledLog | None, Callable[..., object]]:
    """A headless comparison's log sink and trainer factory, open to `lrtui attach DIR`
    where it records; one line on standard error where the socket cannot be made. `label`:
    what the apps' status bars say of it; `for_app`: the trainer lingers while an app is
    attached after every run has ended (`ControlledLog`)."""
    if log is None:
        return None, make
    label = label or f"{exp.task} · {exp.optimizer.name} · seed {exp.seed} · headless"
    try:
        controlled = ControlledLog(log, exp, label, threshold, linger=for_app)
    except (SpecError, OSError) as exc:
        sys.stderr.write(f"lrtui: lrtui attach will not reach this comparison: {exc}\n")
        return log, make
    sys.stderr.write(f"lrtui: attach from another terminal with: lrtui attach {log.root}\n")
    return controlled, steered(make, controlled)


BACKGROUND_LOG = "lrtui-background.log"  # the background process's standard output and error
START_SECONDS = 300.0  # how long the background process may take to start training


def in_background(argv: list[str], log_dir: str, debug: bool = False, started_here: bool = False) -> int:
    """`lrtui ARGV` (a `--headless` comparison) trains in a process of its own session (no
    terminal's hang-up reaches it), and this terminal attaches to it: `d` and a hang-up
    detach, `lrtui attach DIR` comes back. An error of the comparison's (a bad task file) ends
    this command with the background process's last line.

    `started_here`: a recording live comparison (`lrtui --log-dir DIR`, `lrtui resume DIR`):
    its app is this terminal's, so `q` stops training without a question (`StartedApp`), and
    the trainer is the live app's (`--for-app`: planned curves, and every key, `r` included,
    while an app is attached after every run has ended). Without it (`--background`), the
    app asks as `lrtui attach` does."""
    if started_here:
        argv = [*argv, "--for-app"]
        try:  # said before the folder's path is printed as where the output goes
            Path(log_dir).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise cannot_write(log_dir, exc) from None
        sys.stderr.write(f"lrtui: starting training (its output: {Path(log_dir) / BACKGROUND_LOG})…\n")
        sys.stderr.flush()
    return attach(log_dir, debug, start_background(argv, log_dir), started_here=started_here)


def start_background(argv: list[str], log_dir: str) -> AttachedSource:
    """`lrtui ARGV` (a `--headless --log-dir DIR` comparison) started in a process of its own
    session, output to `DIR/lrtui-background.log`; returns once it listens on its socket
    (connected: the greeting taken), or raises `SpecError` with its last line if it ended."""
    root = Path(log_dir)
    said = _size(root / BACKGROUND_LOG)
    child = spawn(argv, root)
    deadline = time.monotonic() + START_SECONDS
    while True:
        with contextlib.suppress(SpecError):
            source = AttachedSource(root)
            _relay(root / BACKGROUND_LOG, said)
            return source
        code = child.poll()
        if code is not None:
            raise _ended(root / BACKGROUND_LOG, said, code)
        if time.monotonic() > deadline:
            raise SpecError(
                f"training did not start within {START_SECONDS:.0f} s (see {root / BACKGROUND_LOG})"
            )
        time.sleep(0.05)


def spawn(argv: list[str], root: Path) -> subprocess.Popen:
    """`lrtui ARGV` in a process of its own session (no terminal's hang-up reaches it), its
    output appended to `DIR/lrtui-background.log`."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        out = (root / BACKGROUND_LOG).open("ab")
    except OSError as exc:
        raise cannot_write(root, exc) from None
    with out:
        return subprocess.Popen(
            self_argv(*argv), stdin=subprocess.DEVNULL, stdout=out,
            stderr=out, start_new_session=True,
        )  # fmt: skip


def _ended(path: Path, start: int, code: int) -> SpecError:
    """The error of a background process that ended before it listened: its last line; what
    it said before (its traceback, with `--debug`) as the detail `--debug` shows."""
    with path.open("rb") as log:
        log.seek(start)
        lines = log.read().decode(errors="replace").strip().splitlines() or [""]
    error = SpecError(lines[-1].removeprefix("lrtui: error: ") or f"training ended with code {code}")
    error.detail = "".join(line + "\n" for line in lines[:-1])  # type: ignore[attr-defined]
    return error


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def _relay(path: Path, start: int) -> None:
    """What the background process said on standard error as it started (a resumed run's
    checkpoint and step, a checkpoint passed over), said here too: this terminal is looking."""
    with contextlib.suppress(OSError), path.open("rb") as log:
        log.seek(start)
        said = log.read().decode(errors="replace").splitlines()
    for line in said:
        if line.startswith("lrtui: ") and not line.startswith("lrtui: attach from another terminal"):
            sys.stderr.write(line + "\n")


def attach(
    log_dir: str, debug: bool = False, source: AttachedSource | None = None, started_here: bool = False
) -> int:
    """`lrtui attach DIR`: the app on the comparison training there, until detached or quit;
    `started_here`: this terminal started it (`in_background`), `q` stops it and waits for
    training to write its last events (every run's final status, its checkpoint), as the
    live app does before it returns. A detach says how to come back."""
    from lrtui.modes.guard import FINAL_EVENTS_SECONDS, run_guarded
    from lrtui.ui.attached import AttachedApp, StartedApp
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
        return source.attach(sink, past)

    kind, label = (
        (StartedApp, hello["label"]) if started_here else (AttachedApp, f"attached · {hello['label']}")
    )
    app = kind(
        hello["infos"], start, source_label=label, threshold=hello["threshold"], show_tracebacks=debug,
        side_sources=[SystemSampler] if started_here else [],  # the machine's figures, as the live app
    )  # fmt: skip
    run_guarded(app, None)
    source.done.wait(FINAL_EVENTS_SECONDS if started_here and source.stopped else 2.0)
    if source.detached and not (source.ended or source.gone or app.hung_up.is_set() or app.failure):
        if app.all_finished:  # the trainer waited for attached apps only: it ends with this one
            sys.stderr.write(f"lrtui: every run had finished: lrtui watch {log_dir} shows them, "
                             f"lrtui forecast {log_dir} fits them\n")  # fmt: skip
        else:
            sys.stderr.write(
                f"lrtui: detached; training goes on: attach again with: lrtui attach {log_dir}\n"
            )
    return exit_code(app)
