"""The grid of run panels: as many columns as fit, rows sharing the height."""

from __future__ import annotations

import math

from textual import events
from textual.containers import VerticalScroll

MIN_PANEL_WIDTH = 38
MIN_PANEL_HEIGHT = 7


class RunGrid(VerticalScroll, can_focus=False):
    """Panels in as many columns as fit; rows share the height, scrolling past a minimum.

    The panels take the focus, not the grid: it scrolls to whichever panel has it.
    """

    columns = 1

    def on_resize(self, event: events.Resize) -> None:
        self.relayout(event.size.width, event.size.height)

    def relayout(self, width: int | None = None, height: int | None = None) -> None:
        width = self.size.width if width is None else width
        height = self.size.height if height is None else height
        n = max(1, len(self.children))
        cols = max(1, min(n, width // MIN_PANEL_WIDTH))
        rows = math.ceil(n / cols)
        self.styles.grid_size_columns = cols
        self.styles.grid_rows = str(max(MIN_PANEL_HEIGHT, height // rows))
        self.columns = cols
