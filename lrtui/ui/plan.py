"""`lrtui plan`: the planned LR curves of several schedules on one chart, with their key numbers
beside it. Fed plain numbers (the entry point computes them with torch); never trains."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Static
from textual_plotext import PlotextPlot

from lrtui.spec.text import clean
from lrtui.ui.screens.canvas import POINTS, Canvas, ChartPlot
from lrtui.ui.screens.style import PALETTE, rich_color

NUMBER_HEADERS = ("run", "peak LR", "at step", "LR after warm-up", "final LR", "steps > peak/2")


@dataclass(frozen=True)
class PlannedRun:
    """One schedule's plan for the view: its LR at every training step, or why it has none."""

    label: str
    lrs: list[float]  # empty: the schedule follows the loss
    marks: list[tuple[int, str, str]]
    numbers: tuple[str, ...]  # the row of the numbers table, after the label


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.6f}" if 1e-4 <= abs(value) < 1e3 or value == 0 else f"{value:.3e}"


def thin(lrs: list[float]) -> tuple[list[float], list[float]]:
    stride = max(1, math.ceil(len(lrs) / POINTS))
    xs = [float(s) for s in range(1, len(lrs) + 1, stride)]
    return xs, [lrs[int(x) - 1] for x in xs]


class PlanApp(App[int]):
    TITLE = "lrtui plan"
    BINDINGS = [Binding("l", "toggle_log", "Log y"), Binding("q,escape", "quit", "Quit")]
    DEFAULT_CSS = """
    PlanApp #plan-title { height: auto; padding: 0 1; background: $panel; }
    PlanApp #plan-chart { width: 3fr; }
    PlanApp #plan-numbers { width: 2fr; height: auto; max-height: 100%; }
    PlanApp #plan-body.-stacked { layout: vertical; }
    PlanApp #plan-body.-stacked #plan-chart { width: 1fr; height: 1fr; }
    PlanApp #plan-body.-stacked #plan-numbers { width: 1fr; max-height: 50%; }
    """

    def __init__(self, runs: list[PlannedRun], title: str) -> None:
        super().__init__()
        self.runs, self.plan_title, self.log_y = runs, title, False

    def compose(self) -> ComposeResult:
        yield Static(Text(clean(self.plan_title, 300)), id="plan-title")
        with Horizontal(id="plan-body"):
            yield ChartPlot(id="plan-chart")
            yield DataTable(id="plan-numbers", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#plan-numbers", DataTable)
        table.add_columns(*NUMBER_HEADERS)
        for i, run in enumerate(self.runs):
            table.add_row(Text(run.label, style=rich_color(PALETTE[i % len(PALETTE)])), *run.numbers)
        self.draw()

    def on_resize(self, event: events.Resize) -> None:
        """The numbers beside the chart where they fit in their share (2/5) of the width, else
        under it at full width: at 120 columns, beside it, they were cut to three columns."""
        self.query_one("#plan-body").set_class(self.table_width() > event.size.width * 2 / 5, "-stacked")

    def table_width(self) -> int:
        """Cells the numbers table needs: each column's widest cell, its padding, a scrollbar."""
        rows = [NUMBER_HEADERS] + [(run.label, *run.numbers) for run in self.runs]
        return sum(max(len(str(row[c])) for row in rows) + 2 for c in range(len(NUMBER_HEADERS))) + 2

    def action_toggle_log(self) -> None:
        self.log_y = not self.log_y
        self.draw()

    def draw(self) -> None:
        canvas = Canvas(self.query_one("#plan-chart", PlotextPlot), self.log_y)
        fit: list[float] = []
        xmax = 1
        for i, run in enumerate(self.runs):
            color = PALETTE[i % len(PALETTE)]
            xs, ys = thin(run.lrs)
            canvas.line(xs, ys, color)
            fit += ys
            xmax = max(xmax, len(run.lrs))
            marks = [m for m in run.marks if m[0] <= len(run.lrs)]
            canvas.marks([float(m[0]) for m in marks], [""] * len(marks), [color] * len(marks), None)
        scale = "log" if self.log_y else "linear"
        canvas.finish(
            f"planned LR · {scale} · lines mark regime changes", "LR", "training step", (1, xmax), fit
        )
