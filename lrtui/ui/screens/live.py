"""A screen drawn from the experiment's state while it changes (charts, leaderboard, ranks).

The app's frame timer redraws the screen on top only when it is a `LiveScreen`, so a new
live view plugs in by deriving from this and writing `redraw`; the timer needs no list of
screen kinds. Help and other still screens derive from Textual's `Screen` and are left alone.
"""

from __future__ import annotations

from textual.screen import Screen

from lrtui.state.runs import ExperimentState


class LiveScreen(Screen[None]):
    """Redraws itself from `state`: at once when mounted, then each time the frame timer asks.

    `redraw` is called a few times a second whatever happened, so it must be cheap when nothing
    changed (compare the runs' versions with those last drawn) and draw everything with `force`.
    """

    def __init__(self, state: ExperimentState) -> None:
        super().__init__()
        self.state = state

    def on_mount(self) -> None:
        self.redraw(force=True)

    def redraw(self, force: bool = False) -> None:  # pragma: no cover - overridden
        raise NotImplementedError
