"""The app's side of the live forecast (`state.forecast.live`): once a second the forecaster is
asked whether a refit is due (it fits on its own thread), and each panel is handed its run's
predicted loss and band, which it draws dimmed past the steps trained, as the LR plan is
drawn; a panel gets none until the forecast is trusted. `F` shows the fit (`describe`); `N`
adds the schedule the law likes best as a new run (`offer`).

Where the app trains (its source takes `Verb.ADD`: the live app, attached or not), `N` adds
the suggested schedule to the comparison: the trainer trains it from step 0 on the batches
the others had, and it gets a panel, a log file and a place in the leaderboard like the rest
(`engine.steering`). Each suggestion is added once. Where the app only watches, `N` gives the
exact command line that trains it beside the runs' setup. Either way that command is copied
to the clipboard."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from textual.app import App

from lrtui.spec.commands import Command, Source, Verb
from lrtui.spec.describe import train_command
from lrtui.spec.parse import parse_run_parts
from lrtui.state.forecast.live import LiveForecast
from lrtui.state.forecast.suggest import Suggested
from lrtui.state.runlike import RunLike
from lrtui.ui.widgets.panel import RunPanel

__all__ = ["LiveForecast", "added", "command_line", "describe", "offer", "offer_text", "refresh", "show"]


def refresh(live: LiveForecast, views: Sequence[RunLike], panels: Sequence[RunPanel]) -> None:
    live.tick(views)
    for panel in panels:
        label = panel.view.info.label
        predicted, band = live.trusted(label), live.band_of(label)  # wider where the laws part
        if predicted is not panel.forecast or band != panel.forecast_band:
            panel.forecast, panel.forecast_band = predicted, band
            panel.refresh()


def describe(live: LiveForecast) -> str:
    return "\n".join(live.describe())


def command_line(spec: str, views: Sequence[RunLike]) -> str:
    """The command that trains `spec` as the first run was (`describe.train_command`)."""
    return train_command(spec, dict(views[0].info.config) if views else {})


def offer(live: LiveForecast, views: Sequence[RunLike]) -> str | None:
    """The suggested schedule as the command that trains it, or None (with `describe` saying
    why) while there is no trusted forecast to suggest from."""
    answer = live.latest
    found = answer.suggested if answer is not None and not answer.why else None
    if found is None:
        return None
    return command_line(found.spec, views)


def offer_text(live: LiveForecast, views: Sequence[RunLike]) -> tuple[str, str | None]:
    """What `N` shows, and the command it copies (None: nothing to copy)."""
    command = offer(live, views)
    answer = live.latest
    if command is None or answer is None or answer.suggested is None:
        trusted = answer is not None and answer.result is not None and not answer.why
        why = live.describe()[-1]  # "no forecast yet (why)", not the whole fit
        return ("no suggestion yet (searching)" if trusted else f"no suggestion yet: {why}"), None
    return (
        f"{headline(answer.suggested)}; train it as these runs were trained with (copied):\n{command}",
        command,
    )


def headline(found: Suggested) -> str:
    """What `N` says of a suggestion: its length and predicted final, and that this is a
    forecast nothing has checked: a suggestion is the shape the law likes best, a shape no run
    trained, where a law's errors gather (its held-out error is measured on the runs' shapes)."""
    return (
        f"suggested schedule, {found.curve.size:,} steps, predicted final {found.predicted_final:.4f} "
        "(a shape no run has trained: how far off the law is there shows only once it is trained)"
    )


class Adding(Protocol):
    """What `N` needs of the app to add a run: its source, and the suggestions added so far."""

    source: Source | None
    offered: set[str]


def show(app: App, live: LiveForecast, views: Sequence[RunLike] | None) -> None:
    """`F` (views None): the fit. `N`: the suggested schedule added as a run where the app
    trains (`added`), its command copied to the clipboard. Neither is markup: run names come
    from files and every spec holds `[...]`."""
    if views is None:
        app.clear_notifications()  # `F` again: the fit now in place of the last, not stacked
        app.notify(describe(live), title="Forecast", timeout=15, markup=False)
        return
    text, command = offer_text(live, views)
    if command is not None:
        app.copy_to_clipboard(command)
        text = added(app, live, text, views)  # type: ignore[arg-type]
    app.notify(text, title="Suggested schedule", timeout=30, markup=False)


def added(app: Adding, live: LiveForecast, text: str, views: Sequence[RunLike] = ()) -> str:
    """Add the suggested schedule as a run, where the source trains and it was not added yet
    (by this app, or by another attached to the same comparison: a run of that spec is there);
    what `N` says then (else `text`: its command, to train it elsewhere)."""
    answer = live.latest
    source = app.source
    if answer is None or answer.suggested is None or not getattr(source, "adds_runs", False):
        return text
    found = answer.suggested
    head = headline(found)
    schedule = str(parse_run_parts(found.spec)[1])
    if found.spec in app.offered or any(v.info.spec == schedule for v in views):
        return f"{head}: added already (a new suggestion comes as the runs train on)"
    app.offered.add(found.spec)
    source.send(Command(Verb.ADD, text=found.spec))  # type: ignore[union-attr]
    return f"{head}: added as a new run, trained from step 0 on the same batches"
