"""The live app of a comparison that trains in this process (`lrtui` without `--log-dir`).

Its trainer lives and dies with this app: there is no log directory to continue from and no
socket to attach through, so `d` says how to start a comparison that can be detached (`lrtui
--log-dir DIR`: it trains in a process of its own, the terminal attached, `ui.attached`), and
a hang-up stops every run as `q` does.
"""

from __future__ import annotations

from textual.binding import Binding

from lrtui.ui.app import LrTuiApp

CANNOT_DETACH = "d detaches only a comparison that records: start it with --log-dir DIR"


class LiveApp(LrTuiApp):
    """`LrTuiApp` over a trainer of this process (or of a child it spawned)."""

    BINDINGS = [Binding("d", "detach", "Detach")]

    def action_detach(self) -> None:
        self.notify(CANNOT_DETACH, title="Cannot detach", severity="warning", markup=False)
