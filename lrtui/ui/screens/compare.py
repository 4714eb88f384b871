"""Compare: every run's LR and loss on shared axes, each run told apart by colour and line style.

Runs can be hidden (digits, or a `/` filter on names and setups) and one pinned as the
baseline (`P`): the loss chart then draws every other run as its difference to it, which is
where two close schedules part. Past a few runs the faint raw traces would make a grey block,
so they are left out.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, Input, Static

from lrtui.state.groups import views
from lrtui.state.runlike import RunLike
from lrtui.state.traces import X_LABELS, difference, loss_trace, x_values
from lrtui.ui.keys import bindings
from lrtui.ui.screens.canvas import POINTS, Canvas, ChartPlot, loss_lines, thin, val_line, x_limits
from lrtui.ui.screens.charts import ChartBase
from lrtui.ui.screens.style import RAW_COLOR, Entry, rich_color, run_style

RAW_RUNS_MAX = 4  # more runs than this and their raw traces and regime lines are left out
HIDDEN_COLOR = "grey42"


def matches(run: RunLike, query: str) -> bool:
    """Whether every word of `query` is in the run's name or setup (any case)."""
    text = f"{run.info.label} {run.info.detail}".casefold()
    return all(word in text for word in query.casefold().split())


class CompareScreen(ChartBase):
    """c: every run's LR, and every run's loss (or its difference to a baseline), with a legend."""

    SCOPE = "compare"
    BINDINGS = bindings("compare")
    AUTO_FOCUS = ""  # nothing: the filter field takes keys only once `/` opens it
    DEFAULT_CSS = """
    CompareScreen #filter {
        dock: bottom;
        display: none;
        height: 3;
    }
    CompareScreen #filter.-open {
        display: block;
    }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text(), id="chart-title")
            yield Static(classes="legend")
            yield ChartPlot(id="lr-chart")
            yield ChartPlot(id="loss-chart")
        yield Input(
            self.options.query, placeholder="show runs whose name or setup has these words", id="filter"
        )
        yield Footer()

    def title_text(self) -> Text:
        o = self.options
        parts: list[tuple[str, str] | str] = [("Compare", "bold"), " — every run on shared axes"]
        if o.query:
            parts += [" · filter ", (o.query, "bold")]
        if o.hidden:
            parts.append(f" · {len(o.hidden)} hidden (digits show them, a: all)")
        return Text.assemble(*parts)

    def dark(self) -> bool:
        return self.app.current_theme.dark if self.is_mounted else True

    def visible(self) -> list[int]:
        o = self.options
        return [
            i
            for i, run in enumerate(views(self.state))
            if i not in o.hidden and (not o.query or matches(run, o.query))
        ]

    def shown(self) -> list[RunLike]:
        return [views(self.state)[i] for i in self.visible()]

    def baseline(self) -> int | None:
        base = self.options.baseline
        return base if base is not None and base in self.visible() and self.options.x_axis != "lr" else None

    def legend_entries(self) -> list[Entry]:
        visible, base = set(self.visible()), self.baseline()
        entries = []
        for i, run in enumerate(views(self.state)):
            color, _, sample = run_style(i, self.dark())
            name = f"{i + 1} {run.info.label}" + (" (baseline)" if i == base else "")
            if i in visible:
                entries.append(Entry(name, rich_color(color), sample))
            elif not self.options.query or matches(run, self.options.query):
                entries.append(Entry(name, HIDDEN_COLOR, "  ", "dim strike"))
        return entries

    def redraw(self, force: bool = False) -> None:
        title = self.query_one_optional("#chart-title", Static)
        if title is not None:  # gone while the app closes (`whole`)
            title.update(self.title_text())
        super().redraw(force)

    # ---- keys ---------------------------------------------------------------------------
    def action_toggle_run(self, index: int) -> None:
        """Show or hide run `index` (digits 1-9)."""
        if 0 <= index < len(views(self.state)):
            self.options.hidden ^= {index}
            self.redraw(force=True)

    def action_show_all(self) -> None:
        self.options.hidden.clear()
        self.options.query = ""
        self.query_one("#filter", Input).value = ""
        self.redraw(force=True)

    def action_next_baseline(self) -> None:
        """Pin the next shown run as the baseline; after the last, none."""
        visible = self.visible()
        base = self.options.baseline
        later = [i for i in visible if base is None or i > base]
        self.options.baseline = later[0] if later else None
        self.redraw(force=True)

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.add_class("-open")
        field.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.options.query = event.value.strip()
        self.redraw(force=True)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        field = self.query_one("#filter", Input)
        field.remove_class("-open")
        self.set_focus(None)

    # ---- drawing ------------------------------------------------------------------------
    def draw(self) -> None:
        o = self.options
        axis, xlabel = o.x_axis, X_LABELS[o.x_axis]
        shown = [(i, views(self.state)[i]) for i in self.visible()]
        runs = [run for _, run in shown]
        xlim = x_limits(runs or views(self.state), axis, o.x_log)
        lr, loss = self.canvases()
        lr.lines = loss.lines = max(1, len(shown))
        if axis != "lr":
            self.draw_lrs(lr, shown, xlim)
        styles = [(run, run_style(i, self.dark())) for i, run in shown]
        if self.draw_scalar(loss, [(run, style[0]) for run, style in styles], xlim, xlabel, " of every run"):
            return
        base = self.baseline()
        if base is not None:
            self.draw_difference(loss, shown, base, xlim)
            return
        self.draw_losses(loss, shown, xlim)

    def draw_lrs(self, lr: Canvas, shown: list[tuple[int, RunLike]], xlim: tuple[float, float]) -> None:
        axis, fit = self.options.x_axis, []
        marked = len(shown) <= RAW_RUNS_MAX  # past a few runs, their marks would bar the chart
        for i, run in shown:
            color, marker, _ = run_style(i, self.dark())
            xs, ys = run.lr_series.points(min(POINTS, lr.resolution))
            lr.line(x_values(run, xs, axis), ys, color, marker)
            fit += ys
            mark_xs = x_values(run, [m.step for m in thin(run.marks)], axis) if marked else []
            lr.marks(mark_xs, [""] * len(mark_xs), [color] * len(mark_xs), None, xlim)
        scale = "log" if self.options.log_y else "linear"
        marks = "lines mark regime changes" if marked else f"regime changes marked up to {RAW_RUNS_MAX} runs"
        title = f"LR of {self.count(shown)} · {scale} · never smoothed · {marks}"
        lr.finish(title, "LR", X_LABELS[axis], xlim, fit)

    def count(self, shown: list[tuple[int, RunLike]]) -> str:
        total = len(views(self.state))
        return "every run" if len(shown) == total else f"{len(shown)} of {total} runs"

    def draw_losses(self, loss: Canvas, shown: list[tuple[int, RunLike]], xlim: tuple[float, float]) -> None:
        o, weight = self.options, self.weight
        traces = [(i, run, loss_trace(run, weight, o.x_axis, loss.resolution)) for i, run in shown]
        raw = weight > 0 and len(shown) <= RAW_RUNS_MAX
        for _, _, trace in traces if raw else ():  # all raw traces first: none covers a smooth line
            if not trace.constant:
                loss.line(trace.xs, trace.raw, RAW_COLOR)
        fit: list[float] = []
        outliers = 0
        for i, run, trace in traces:
            color, marker, _ = run_style(i, self.dark())
            fit += loss_lines(loss, trace, color, o, weight, None, color, marker, raw, run.is_group)
            fit += val_line(loss, run, o.x_axis, color)
            outliers += trace.outliers
        title = self.loss_title(f" of {self.count(shown)}", outliers)
        if weight > 0 and not raw:
            title += f" · no raw traces past {RAW_RUNS_MAX} runs"
        loss.finish(title, "loss", X_LABELS[o.x_axis], xlim, fit)

    def draw_difference(
        self, loss: Canvas, shown: list[tuple[int, RunLike]], base: int, xlim: tuple[float, float]
    ) -> None:
        """Each run's smoothed loss less the baseline's, at the same x; the baseline is zero."""
        o, weight = self.options, self.weight
        loss.log = False  # a difference is signed: never on a log axis
        ref = loss_trace(views(self.state)[base], weight, o.x_axis, loss.resolution)
        color, _, _ = run_style(base, self.dark())
        loss.line(list(xlim), [0.0, 0.0], color)
        fit: list[float] = [0.0]
        for i, run in shown:
            if i == base:
                continue
            xs, ys = difference(loss_trace(run, weight, o.x_axis, loss.resolution), ref)
            run_color, marker, _ = run_style(i, self.dark())
            loss.line(xs, ys, run_color, marker)
            fit += ys
        name = views(self.state)[base].info.label
        title = (
            f"loss minus {name} (baseline, smoothed) · below 0: lower than the baseline · P: next baseline"
        )
        loss.finish(title, "Δ loss", X_LABELS[o.x_axis], xlim, fit)
