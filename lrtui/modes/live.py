"""The live mode: the trainer as the app's source (the one place both meet), in a thread of
the app's process or, where `Ready.apart` says so, in a spawned process of its own."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from lrtui.engine.child import ChildTrainer, TrainerRecipe
from lrtui.engine.device import resolve_device
from lrtui.engine.kinds import task_kind
from lrtui.engine.resumable import make_trainer
from lrtui.engine.trainer import Trainer
from lrtui.modes.attach import hand_over
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
    device = resolve_device(exp.device)
    optimizer = optimizers_label(exp)  # the one optimizer, or each run's own

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

    what = task_kind(exp.task).label(exp)
    label = f"{device.type} · {what} · {optimizer} · seed {exp.seed} · {ready.engine}"
    return LiveApp(
        run_infos(exp), source, source_label=label, threshold=threshold, show_tracebacks=debug,
        side_sources=[SystemSampler],  # the machine's figures, sampled off the UI thread
        recording=None if log_sink is None else str(log_sink.root),
    )  # fmt: skip


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
    return (`run_guarded`). A recording app that ended by `d` or a hang-up (`LiveApp`) has
    stopped its trainer with a checkpoint: once its logs are closed, `modes.attach.hand_over`
    continues the comparison in the background."""
    run_guarded(app, _closing(app, close))
    done = getattr(app.source, "done", None)
    if done is not None:
        done.wait(FINAL_EVENTS_SECONDS)
    if isinstance(app, LiveApp) and app.handing_over() and close is not None:
        close()  # every run's last events written: the background process writes on
        return hand_over(app.recording, told=not app.hung_up.is_set()) or exit_code(app)  # type: ignore[arg-type]
    return exit_code(app)


def _closing(app: LrTuiApp, close: Callable[[], None] | None) -> Callable[[], None] | None:
    """What the hang-up guard runs before it ends the process (an app that never returned):
    the logs closed, and a recording comparison handed over to the background (unless the app
    failed: its runs were stopped, and the error is told, not trained on out of sight)."""
    if close is None or not isinstance(app, LiveApp) or app.recording is None:
        return close

    def close_and_hand_over() -> None:
        close()
        if not app.quitting and app.failure is None:
            hand_over(app.recording, told=False)  # type: ignore[arg-type]

    return close_and_hand_over
