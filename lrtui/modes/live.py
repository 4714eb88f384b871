"""The live mode: the trainer as the app's source (the one place both meet), in a thread of
the app's process or, where `Ready.apart` says so, in a spawned process of its own. A
comparison that records (`--log-dir`) in a terminal is not run here: it trains in a process
of its own session, this terminal attached (`modes.attach.in_background`), so `d` and a
hang-up leave it training."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from lrtui.engine.child import ChildTrainer, TrainerRecipe
from lrtui.engine.device import resolve_device
from lrtui.engine.kinds import task_kind
from lrtui.engine.resumable import make_trainer
from lrtui.engine.trainer import Trainer
from lrtui.modes.guard import FINAL_EVENTS_SECONDS, run_guarded
from lrtui.modes.prepare import Ready
from lrtui.record.system import SystemSampler
from lrtui.record.writer import LogDirSink, recording_tee
from lrtui.schedule.build import check_runs
from lrtui.spec.describe import optimizers_label, run_infos
from lrtui.spec.events import Event, Sink
from lrtui.ui.app import LrTuiApp
from lrtui.ui.exitcode import exit_code
from lrtui.ui.liveapp import LiveApp

# Events reach the app in batches this often: a screen redraws panels once a second, so
# smaller batches would only cost the UI thread more wake-ups.
LIVE_FLUSH_SECONDS = 0.1


def check_unless_apart(ready: Ready) -> Ready:
    """torch's checks of every run, now, unless the app's trainer will run in a process of its
    own: that process checks them itself while the first screen is drawn (the checks import
    torch._dynamo, 1.5 s), and a refusal ends the app with the same one-line error."""
    if ready.apart:
        return ready
    check_runs(ready.exp)
    return replace(ready, checked=True)


def build_app(
    ready: Ready,
    log_sink: LogDirSink | None = None,
    threshold: float | None = None,
    debug: bool = False,
    isolate: bool = True,
    history: Sequence[Event] = (),
) -> LrTuiApp:
    """The app with the trainer as its source; `isolate=False` keeps the trainer in a thread
    of this process even where `ready.apart` would spawn it. `history`: what a resumed
    comparison's logs hold, shown before the trainer's first events."""
    exp = ready.exp

    def trainer(sink: Sink) -> Trainer:  # in a thread of this process
        if not ready.checked:
            check_runs(exp)
        return make_trainer(
            exp, sink, workload=ready.workload, plans=True, linger=True, flush_interval=LIVE_FLUSH_SECONDS,
            checkpoints=ready.checkpoints,
        )  # fmt: skip

    # as preparation decided (on the CPU): a spawned process that loads the task again by name
    apart = isolate and ready.apart
    recipe = TrainerRecipe(
        exp, checked=ready.checked, flush_interval=LIVE_FLUSH_SECONDS, checkpoints=ready.checkpoints
    )
    child = ChildTrainer(recipe) if apart else None

    def source(sink: Sink) -> Trainer | ChildTrainer:
        out = sink if log_sink is None else recording_tee(log_sink, sink)
        if history:
            sink(list(history))  # the app's only: the logs hold it already
        return child.attach(out) if child is not None else trainer(out)

    return LiveApp(
        run_infos(exp), source, source_label=app_label(ready), threshold=threshold, show_tracebacks=debug,
        side_sources=[SystemSampler],  # the machine's figures, sampled off the UI thread
    )  # fmt: skip


def app_label(ready: Ready) -> str:
    """What the status bar says of a comparison: device, task, optimizer, seed, engine (also
    the label a `--for-app` background comparison greets its apps with)."""
    exp = ready.exp
    what, device = task_kind(exp.task).label(exp), resolve_device(exp.device).type
    return f"{device} · {what} · {optimizers_label(exp)} · seed {exp.seed} · {ready.engine}"


def run_app(
    ready: Ready, log_sink: LogDirSink | None = None, threshold: float | None = None, debug: bool = False
) -> int:
    """The app until quit; then the trainer's last events (every run's final status) are
    written before the log directory closes."""
    close = log_sink.close if log_sink is not None else None
    return run_built(build_app(ready, log_sink, threshold, debug), close)


def run_built(app: LrTuiApp, close: Callable[[], None] | None = None) -> int:
    """`run_app` for an app already built (`lrtui.compare` keeps it, to read its state after).
    `close`: what to close (the log directory) should the terminal hang up and the app never
    return (`run_guarded`). (A recording comparison in a terminal trains in a process of its
    own instead, this terminal attached: `modes.attach.in_background`.)"""
    run_guarded(app, close)
    done = getattr(app.source, "done", None)
    if done is not None:
        done.wait(FINAL_EVENTS_SECONDS)
    return exit_code(app)
