"""One run's panel: name, setup, state, progress, current values, LR and loss sparklines."""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label, Static

from lrtui.events import RunStatus
from lrtui.state import RunView
from lrtui.widgets.spark import SparkData, SparkLine, columns_values, wants_log

STATUS_STYLE = {
    RunStatus.PENDING: "dim",
    RunStatus.RUNNING: "bold green",
    RunStatus.PAUSED: "bold yellow",
    RunStatus.DONE: "bold cyan",
    RunStatus.DIVERGED: "bold red",
    RunStatus.ERROR: "bold red",
    RunStatus.STOPPED: "dim",
}


def fmt_lr(value: float) -> str:
    if not math.isfinite(value):
        return "—"
    return f"{value:.6f}" if 1e-4 <= abs(value) < 1e3 or value == 0 else f"{value:.3e}"


def fmt_loss(value: float) -> str:
    return f"{value:.4f}" if math.isfinite(value) else "—"


def bar(fraction: float | None, width: int) -> Text:
    if fraction is None or width <= 0:
        return Text("")
    full = round(fraction * width)
    return Text.assemble(("━" * full, "green"), ("━" * (width - full), "grey30"))


class RunPanel(Widget, can_focus=True):
    """Reads its `RunView` when told that it changed; never holds data of its own."""

    def __init__(self, index: int, view: RunView) -> None:
        super().__init__(id=f"run-{index}", classes="run-panel")
        self.index = index
        self.view = view
        self._seen = -1
        self._ready = False  # children exist only once mounted
        self._message: str | None = None  # what the message line shows; None: not set yet
        self._state: tuple = ()
        self.border_title = f"{index + 1} {view.info.label}" if index < 9 else view.info.label

    def compose(self) -> ComposeResult:
        yield Static(classes="detail")
        yield Static(classes="progress")
        yield Static(classes="values")
        yield Static(classes="message")
        with Horizontal(classes="spark-row lr-row"):
            yield Label("lr  ", classes="spark-label")
            yield SparkLine(self._lr_data, classes="lr-spark")
        with Horizontal(classes="spark-row loss-row"):
            yield Label("loss", classes="spark-label")
            yield SparkLine(self._loss_data, classes="loss-spark")

    def on_mount(self) -> None:
        self._ready = True
        self.sync(force=True)
        if self.index == 0 and self.app.focused is None:
            self.focus()  # the first panel starts focused, also when it appears later (watch)

    def on_resize(self) -> None:
        self.sync(force=True)

    def sync(self, force: bool = False, data: bool = True) -> None:
        """Redraw from the view if it changed since the last time.

        A change of state (paused, done, failed) shows at once; new numbers alone wait for a
        `data` frame, so a fast run costs a bounded number of redraws per second.
        """
        v = self.view
        if not self._ready or (not force and v.version == self._seen):
            return
        state = (v.status, v.message, v.gen)
        if not (force or data or state != self._state):
            return
        self._seen = v.version
        self._state = state
        info = v.info
        # fixed-height lines: no layout pass needed (a layout of the whole screen per update is
        # what makes a busy grid slow)
        self.query_one(".detail", Static).update(
            Text(info.detail, style="dim", overflow="ellipsis", no_wrap=True), layout=False
        )
        badge = Text(f" {v.status.value} ", style=STATUS_STYLE[v.status] + " reverse")
        self.border_subtitle = f"{v.status.value}"
        self.set_class(v.status is RunStatus.PAUSED, "-paused")
        self.set_class(v.status in (RunStatus.DIVERGED, RunStatus.ERROR), "-failed")
        self.set_class(v.status is RunStatus.DONE, "-done")
        epochs = f"/{info.epochs}" if info.epochs else ""
        steps = f"/{info.total_steps:,}" if info.total_steps else ""
        where = Text.assemble(badge, f" ep {v.epoch}{epochs} · step {v.step:,}{steps} ")
        width = max(0, self.content_region.width - where.cell_len)
        self.query_one(".progress", Static).update(where + bar(v.progress, width), layout=False)
        self.query_one(".values", Static).update(
            Text.assemble(
                ("lr ", "dim"),
                (fmt_lr(v.lr), "bold"),
                ("   loss ", "dim"),
                (fmt_loss(v.loss), "bold"),
                ("   best ", "dim"),
                fmt_loss(v.best_loss) if v.best_loss != math.inf else "—",
            ),
            layout=False,
        )
        shown = v.message if v.status in (RunStatus.DIVERGED, RunStatus.ERROR) else ""
        if shown != self._message:  # the one line whose height changes: lay out only then
            self._message = shown
            message = self.query_one(".message", Static)
            message.display = bool(shown)
            message.update(Text(shown, style="red"))
        for spark in self.query(SparkLine):
            spark.refresh()

    def _lr_data(self, width: int) -> SparkData:
        v = self.view
        total = v.total_steps
        if v.plan is not None and total:
            trained = v.lr_series.columns(width, until=total)
            values: list[float | None] = []
            done = 0
            for c, col in enumerate(trained):
                if col is not None and col.last <= v.step:
                    values.append(col.mean)
                    done = c + 1
                else:
                    values.append(v.planned_lr_at(c * total // width + 1))
            return SparkData(values, done, wants_log(values))
        values = columns_values(v.lr_series.columns(width))
        return SparkData(values, len(values), wants_log(values))

    def _loss_data(self, width: int) -> SparkData:
        values = columns_values(self.view.loss_series.columns(width))
        return SparkData(values, len(values))
