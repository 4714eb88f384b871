"""Glue for the live app: the trainer as the app's source (the one place both meet)."""

from __future__ import annotations

from lrtui.engine.builtin import DATA_TASKS
from lrtui.engine.device import resolve_device
from lrtui.engine.trainer import Trainer
from lrtui.launch import Ready
from lrtui.spec.describe import run_infos
from lrtui.spec.events import Event, Sink
from lrtui.ui.app import LrTuiApp

# Events reach the app in batches this often: a screen redraws panels once a second, so
# smaller batches would only cost the UI thread more wake-ups.
LIVE_FLUSH_SECONDS = 0.1


def tee(*sinks: Sink) -> Sink:
    """One sink that hands every batch to each of `sinks` in turn."""

    def both(events: list[Event]) -> None:
        for sink in sinks:
            sink(events)

    return both


def build_app(ready: Ready, log_sink: Sink | None = None, threshold: float | None = None) -> LrTuiApp:
    exp = ready.exp
    device = resolve_device(exp.device)
    optimizer = exp.optimizer.name if not exp.optimizer.kwargs else str(exp.optimizer)

    def source(sink: Sink) -> Trainer:
        out = sink if log_sink is None else tee(log_sink, sink)
        return Trainer(
            exp, out, workload=ready.workload, plans=True, linger=True, flush_interval=LIVE_FLUSH_SECONDS
        )

    what = f"{exp.model} · {exp.task}" if exp.task in DATA_TASKS else exp.task
    label = f"{device.type} · {what} · {optimizer} · seed {exp.seed} · {ready.engine}"
    return LrTuiApp(run_infos(exp), source, source_label=label, threshold=threshold)


def run_app(ready: Ready, log_sink: Sink | None = None, threshold: float | None = None) -> int:
    app = build_app(ready, log_sink, threshold)
    app.run()
    return 0 if app.return_code in (None, 0) else app.return_code
