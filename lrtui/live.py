"""Glue for the live app: the trainer as the app's source (the one place both meet)."""

from __future__ import annotations

from lrtui.engine.builtin import DATA_TASKS
from lrtui.engine.child import ChildTrainer, TrainerRecipe, trains_apart
from lrtui.engine.device import resolve_device
from lrtui.engine.kinds import loadable
from lrtui.engine.trainer import Trainer
from lrtui.launch import Ready
from lrtui.record.system import SystemSampler
from lrtui.record.writer import LogDirSink
from lrtui.schedule.build import check_runs
from lrtui.spec.describe import run_infos
from lrtui.spec.events import Event, Notice, Sink
from lrtui.spec.text import clean
from lrtui.ui.app import LrTuiApp
from lrtui.ui.exitcode import exit_code

# Events reach the app in batches this often: a screen redraws panels once a second, so
# smaller batches would only cost the UI thread more wake-ups.
LIVE_FLUSH_SECONDS = 0.1


FINAL_EVENTS_SECONDS = 5.0  # after quitting, how long the trainer may take to write its last events


def recording_tee(log_sink: LogDirSink, sink: Sink) -> Sink:
    """Every batch to the log directory, then to the app; when recording stops (a full disk)
    the app hears of it once, in its status bar, and training goes on."""

    def both(events: list[Event]) -> None:
        log_sink(events)
        error = log_sink.untold_error()
        sink([*events, Notice(error)] if error else events)

    return both


def build_app(
    ready: Ready,
    log_sink: LogDirSink | None = None,
    threshold: float | None = None,
    debug: bool = False,
    isolate: bool = True,
) -> LrTuiApp:
    exp = ready.exp
    device = resolve_device(exp.device)
    optimizer = exp.optimizer.name if not exp.optimizer.kwargs else str(exp.optimizer)

    def trainer(sink: Sink) -> Trainer:  # in a thread of this process
        if not ready.checked:
            check_runs(exp)
        return Trainer(
            exp, sink, workload=ready.workload, plans=True, linger=True, flush_interval=LIVE_FLUSH_SECONDS
        )

    # on the CPU the trainer gets a process of its own, spawned: it loads the task again by name
    apart = isolate and trains_apart(device.type, loadable(exp.task))
    recipe = TrainerRecipe(exp, checked=ready.checked, flush_interval=LIVE_FLUSH_SECONDS)
    child = ChildTrainer(recipe) if apart else None

    def source(sink: Sink) -> Trainer | ChildTrainer:
        out = sink if log_sink is None else recording_tee(log_sink, sink)
        return child.attach(out) if child is not None else trainer(out)

    what = f"{exp.model} · {exp.task}" if exp.task in DATA_TASKS else clean(exp.task, 80)
    label = f"{device.type} · {what} · {optimizer} · seed {exp.seed} · {ready.engine}"
    return LrTuiApp(
        run_infos(exp), source, source_label=label, threshold=threshold, show_tracebacks=debug,
        side_sources=[SystemSampler],  # the machine's figures, sampled off the UI thread
    )  # fmt: skip


def run_app(
    ready: Ready, log_sink: LogDirSink | None = None, threshold: float | None = None, debug: bool = False
) -> int:
    """The app until quit; then the trainer's last events (every run's final status) are
    written before the log directory closes."""
    return run_built(build_app(ready, log_sink, threshold, debug))


def run_built(app: LrTuiApp) -> int:
    """`run_app` for an app already built (`lrtui.compare` keeps it, to read its state after)."""
    app.run()
    done = getattr(app.source, "done", None)
    if done is not None:
        done.wait(FINAL_EVENTS_SECONDS)
    return exit_code(app)
