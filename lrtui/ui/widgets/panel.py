"""One run's panel: name, setup, state, progress, current values, LR and loss sparklines.

The whole panel is one widget drawing its lines in `render()`: with a grid of panels updating
several times a second, one widget per panel (rather than one per line) keeps styling and
compositing cheap, which is what keeps keys responsive while training runs.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.widget import Widget

from lrtui.spec.events import RunStatus
from lrtui.state.runs import RunView
from lrtui.ui.widgets.spark import SparkData, columns_values, render_rows, scale, wants_log

STATUS_STYLE = {
    RunStatus.PENDING: "dim",
    RunStatus.RUNNING: "bold green",
    RunStatus.PAUSED: "bold yellow",
    RunStatus.DONE: "bold cyan",
    RunStatus.DIVERGED: "bold red",
    RunStatus.ERROR: "bold red",
    RunStatus.STOPPED: "dim",
}
LABEL_WIDTH = 5
MAX_MESSAGE_LINES = 3


def fmt_lr(value: float) -> str:
    if not math.isfinite(value):
        return "—"
    return f"{value:.6f}" if 1e-4 <= abs(value) < 1e3 or value == 0 else f"{value:.3e}"


def fmt_loss(value: float) -> str:
    if not math.isfinite(value):
        return "—"
    return f"{value:.4f}" if abs(value) < 1e4 else f"{value:.3e}"


def bar(fraction: float | None, width: int) -> Text:
    if fraction is None or width <= 0:
        return Text("")
    full = round(fraction * width)
    return Text.assemble(("━" * full, "green"), ("━" * (width - full), "grey30"))


def lr_data(v: RunView, width: int) -> SparkData:
    """The LR line: the whole planned run when the schedule is known ahead, else the run so far."""
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


def numbers_line(v: RunView) -> Text:
    """The current LR and loss, the best loss and, where the task evaluates, the validation loss
    (then spaced tighter, so the four fit a panel's width)."""
    gap = "  " if v.val_losses else "   "
    parts: list[tuple[str, str] | str] = [
        ("lr ", "dim"),
        (fmt_lr(v.lr), "bold"),
        (f"{gap}loss ", "dim"),
        (fmt_loss(v.loss), "bold"),
        (f"{gap}best ", "dim"),
        fmt_loss(v.best_loss) if v.best_loss != math.inf else "—",
    ]
    if v.val_losses:
        parts += [(f"{gap}val ", "dim"), (fmt_loss(v.val_loss), "bold")]
    return Text.assemble(*parts)


def regime_line(v: RunView) -> Text | None:
    """ReduceLROnPlateau's live counters, or the last and next regime change of the schedule."""
    p = v.plateau.counters if v.plateau is not None else None
    if p is not None:
        if not p.active:
            return Text.assemble(("plateau ", "bold"), ("waits for its phase", "dim"))
        best = fmt_loss(p.best)
        return Text.assemble(
            ("plateau ", "bold"),
            ("bad ", "dim"),
            (f"{p.bad_epochs}/{p.patience}", "bold yellow" if p.bad_epochs else ""),
            ("  cooldown ", "dim"),
            f"{p.cooldown_left}/{p.cooldown}",
            ("  cuts ", "dim"),
            (str(p.cuts), "bold magenta" if p.cuts else ""),
            ("  best ", "dim"),
            best,
        )
    last = v.marks[-1] if v.marks else None
    ahead = next((m for m in v.planned_marks if m[0] > v.step), None)
    if last is None and ahead is None:
        return None
    parts: list[tuple[str, str] | str] = []
    if last is not None:
        parts += [("last ", "dim"), (last.label, "magenta"), (f" @{last.step:,}", "dim")]
    if ahead is not None:
        parts += [("  next " if parts else "next ", "dim"), ahead[2], (f" @{ahead[0]:,}", "dim")]
    return Text.assemble(*parts)


def loss_data(v: RunView, width: int) -> SparkData:
    values = columns_values(v.loss_series.columns(width))
    return SparkData(values, len(values))


class RunPanel(Widget, can_focus=True):
    """Reads its `RunView` when told that it changed; never holds data of its own."""

    DEFAULT_CSS = """
    RunPanel {
        border: round $primary-darken-2;
        border-title-color: $text;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        padding: 0 1;
        height: 100%;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }

    RunPanel:focus {
        border: heavy $accent;
        border-title-color: $accent;
    }

    RunPanel.-paused {
        border-subtitle-color: $warning;
    }

    RunPanel.-failed {
        border: round $error;
        border-subtitle-color: $error;
    }

    RunPanel.-failed:focus {
        border: heavy $error;
    }

    RunPanel.-done {
        border-subtitle-color: $secondary;
    }

    RunPanel > .run-panel--detail {
        color: $text-muted;
    }

    RunPanel > .run-panel--label {
        color: $text-muted;
    }

    RunPanel > .run-panel--lr {
        color: $success;
    }

    RunPanel > .run-panel--loss {
        color: $warning;
    }

    RunPanel > .run-panel--plan {
        color: $text-disabled;
    }

    RunPanel > .run-panel--message {
        color: $error;
    }
    """
    COMPONENT_CLASSES = {
        "run-panel--detail",
        "run-panel--label",
        "run-panel--lr",
        "run-panel--loss",
        "run-panel--plan",
        "run-panel--message",
    }

    def __init__(self, index: int, view: RunView) -> None:
        super().__init__(id=f"run-{index}", classes="run-panel")
        self.index = index
        self.view = view
        self._seen = -1
        self._state: tuple = ()
        self._title = ""
        self._set_title()

    def on_mount(self) -> None:
        self.sync(force=True)
        if self.index == 0 and self.app.focused is None:
            self.focus()  # the first panel starts focused, also when it appears later (watch)

    def sync(self, force: bool = False, data: bool = True) -> None:
        """Redraw from the view if it changed since the last time.

        A change of state (paused, done, failed) shows at once; new numbers alone wait for a
        `data` frame, so a fast run costs a bounded number of redraws per second.
        """
        v = self.view
        if not force and v.version == self._seen:
            return
        state = (v.status, v.message, v.gen)
        if not (force or data or state != self._state):
            return
        self._seen = v.version
        self._state = state
        self._set_title()
        self.border_subtitle = v.status.value
        self.set_class(v.status is RunStatus.PAUSED, "-paused")
        self.set_class(v.status in (RunStatus.DIVERGED, RunStatus.ERROR), "-failed")
        self.set_class(v.status is RunStatus.DONE, "-done")
        self.refresh()

    def render(self) -> Text:
        v, info = self.view, self.view.info
        width, height = self.content_size.width, self.content_size.height
        if width <= 0 or height <= 0:
            return Text("")
        style = self.get_component_rich_style
        lines: list[Text] = [Text(info.detail, style=style("run-panel--detail"))]
        badge = Text(f" {v.status.value} ", style=STATUS_STYLE[v.status] + " reverse")
        epochs = f"/{info.epochs}" if info.epochs else ""
        steps = f"/{info.total_steps:,}" if info.total_steps else ""
        where = Text.assemble(badge, f" ep {v.epoch}{epochs} · step {v.step:,}{steps} ")
        lines.append(where + bar(v.progress, width - where.cell_len))
        lines.append(numbers_line(v))
        regime = regime_line(v)
        if regime is not None and height >= 7:
            lines.append(regime)
        if v.message and v.status in (RunStatus.DIVERGED, RunStatus.ERROR):
            wrapped = Text(v.message, style=style("run-panel--message")).wrap(self.app.console, width)
            lines.extend(list(wrapped)[:MAX_MESSAGE_LINES])
        lines += self._spark_rows(width, max(2, height - len(lines)))
        out = Text("\n", no_wrap=True, overflow="crop").join(lines[:height])
        out.no_wrap = True
        out.overflow = "crop"
        return out

    def _spark_rows(self, width: int, rows: int) -> list[Text]:
        """The LR sparkline over the loss sparkline, sharing `rows`; planned parts dimmed."""
        v, style = self.view, self.get_component_rich_style
        lr_rows, loss_rows = (rows + 1) // 2, rows // 2
        spark_width = max(1, width - LABEL_WIDTH)
        label = style("run-panel--label")
        lines: list[Text] = []
        for name, data, rows_here, done_style in (
            ("lr", lr_data(v, spark_width), lr_rows, style("run-panel--lr")),
            ("loss", loss_data(v, spark_width), loss_rows, style("run-panel--loss")),
        ):
            grid = render_rows(scale(data.values, data.log), rows_here)
            for r, row in enumerate(grid):
                text = "".join(row)
                lines.append(
                    Text.assemble(
                        ((name if r == 0 else "").ljust(LABEL_WIDTH), label),
                        (text[: data.done], done_style),
                        (text[data.done :], style("run-panel--plan")),
                    )
                )
        return lines

    def _set_title(self) -> None:
        """The run's name as plain text (a name from a file is never markup), numbered for the
        digit keys; it follows a run renamed in its file."""
        label = self.view.info.label
        if label != self._title:
            self._title = label
            self.border_title = Text(f"{self.index + 1} {label}" if self.index < 9 else label)
