"""The grid of run panels: columns and rows chosen so each panel can show its numbers and lines."""

from __future__ import annotations

import math

from textual import events
from textual.containers import VerticalScroll

MIN_PANEL_WIDTH = 39  # two columns at 80: state, step and the numbers line, uncut
MIN_PANEL_HEIGHT = 7  # state, numbers, and a sparkline of two rows over one of one
ASPECT = 1.5  # the panel shape that reads best: width over twice the height (cells are tall)
GUTTER = 1


def choose_layout(n: int, width: int, height: int) -> tuple[int, int]:
    """(columns, row height) for `n` panels in `width` x `height` cells.

    Among the layouts that show every panel at its minimum size or more, the one whose panels
    are closest to a pleasant shape (so six panels at 250x70 are three wide, not six skinny
    ones); when none does, as many columns as fit, rows at their minimum, and the grid scrolls.
    """
    n = max(1, n)
    best: tuple[tuple[bool, float], int, int] | None = None
    for cols in range(1, n + 1):
        w = (width - GUTTER * (cols - 1)) // cols
        if w < MIN_PANEL_WIDTH and cols > 1:
            break
        rows = math.ceil(n / cols)
        h = height // rows
        fits = h >= MIN_PANEL_HEIGHT
        score = -abs(math.log(max(1, w) / (2 * max(1, h)) / ASPECT)) if fits else float(cols)
        if best is None or (fits, score) > best[0]:
            best = ((fits, score), cols, max(MIN_PANEL_HEIGHT, h))
    assert best is not None
    return best[1], best[2]


class RunGrid(VerticalScroll, can_focus=False):
    """Panels in a grid chosen by `choose_layout`; scrolling past the minimum size.

    The panels take the focus, not the grid: it scrolls to whichever panel has it.
    """

    columns = 1

    def on_resize(self, event: events.Resize) -> None:
        self.relayout(event.size.width, event.size.height)

    def relayout(self, width: int | None = None, height: int | None = None) -> None:
        width = self.size.width if width is None else width
        height = self.size.height if height is None else height
        cols, row_height = choose_layout(len(self.children), width, height)
        self.styles.grid_size_columns = cols
        self.styles.grid_rows = str(row_height)
        self.columns = cols
