"""The live app of a comparison that trains here (`lrtui`, `lrtui resume DIR`), with `d`.

`d` detaches where the comparison records (`--log-dir DIR`): training stops here with a
checkpoint of every run, and the mode that started the app hands it over (`lrtui resume DIR
--headless` in a process of its own session, which `lrtui attach DIR` reaches). A hang-up of
a recording app does the same: only a person's choice stops a comparison that can outlive its
terminal. Without a log directory there is nothing to continue from, so `d` says why it
cannot, and a hang-up stops every run as `q` does.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from lrtui.ui.app import LrTuiApp

CANNOT_DETACH = "d detaches only a comparison that records: start it with --log-dir DIR"


class LiveApp(LrTuiApp):
    """`LrTuiApp` over a trainer of this machine; `recording`: its `--log-dir`, if any."""

    BINDINGS = [Binding("d", "detach", "Detach")]

    def __init__(self, *args: Any, recording: str | None = None, **options: Any) -> None:
        super().__init__(*args, **options)
        self.recording = recording
        self.detaching = False
        self.quitting = False  # `q` or SIGTERM: a person's choice to stop, even if a hang-up follows

    def action_detach(self) -> None:
        if self.recording is None:
            self.notify(CANNOT_DETACH, title="Cannot detach", severity="warning", markup=False)
            return
        self.detaching = True
        self.stop_source()  # the trainer checkpoints every run as it stops
        self.exit(0)

    async def action_quit(self) -> None:
        if not self.hung_up.is_set():  # a hang-up quits through here too, its flag set first
            self.quitting = True
        await super().action_quit()

    def handing_over(self) -> bool:
        """Whether training goes on elsewhere once this app has ended: `d`, or a hang-up not
        preceded by `q`, of an app that records."""
        wanted = self.detaching or (self.hung_up.is_set() and not self.quitting)
        return self.recording is not None and wanted
