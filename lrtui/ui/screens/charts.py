"""Full plotext charts: one run in detail, or every run overlaid on shared axes.

LR lines are drawn as trained, never smoothed, with the schedule's regime changes marked.
Loss lines go through `traces` (outliers clipped, debiased EMA over a faint raw trace,
optional min/max envelope). The options are the app's, so every chart shares one x axis.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual_plotext import PlotextPlot

from lrtui.spec.text import clean
from lrtui.state.configdiff import config_diff
from lrtui.state.runs import ExperimentState, RunView
from lrtui.state.traces import SMOOTHING, X_AXES, X_LABELS, half_life, loss_trace, x_values
from lrtui.ui.keys import bindings
from lrtui.ui.screens.canvas import (
    ENVELOPE_COLOR,
    EPOCH_COLOR,
    LOSS_COLOR,
    LR_COLOR,
    MARK_COLOR,
    PALETTE,
    PLAN_COLOR,
    POINTS,
    RAW_COLOR,
    VAL_COLOR,
    Canvas,
    ChartOptions,
    legend,
    loss_lines,
    plan_points,
    regime_marks,
    rich_color,
    thin,
    val_line,
    x_limits,
)


class ChartBase(Screen[None]):
    SCOPE = "chart"
    BINDINGS = bindings("chart")
    DEFAULT_CSS = """
    ChartBase .legend {
        height: auto;
        padding: 0 1;
    }
    ChartBase #chart-title {
        height: auto;
        padding: 0 1;
        background: $panel;
    }
    """

    def __init__(self, state: ExperimentState, options: ChartOptions | None = None) -> None:
        super().__init__()
        self.state = state
        self.options = options if options is not None else ChartOptions()
        self._seen: tuple = ()
        self._legend: list[tuple[str, str]] = []

    @property
    def log_y(self) -> bool:
        return self.options.log_y

    def title_text(self) -> Text:  # pragma: no cover - overridden
        raise NotImplementedError

    def legend_entries(self) -> list[tuple[str, str]]:  # pragma: no cover - overridden
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text(), id="chart-title")
            yield Static(legend(self.legend_entries()), classes="legend")
            yield PlotextPlot(id="lr-chart")
            yield PlotextPlot(id="loss-chart")
        yield Footer()

    def on_mount(self) -> None:
        self.redraw(force=True)

    def action_toggle_log(self) -> None:
        self.options.log_y = not self.options.log_y
        self.redraw(force=True)

    def action_smoothing(self, delta: int) -> None:
        self.options.smoothing = max(0, min(len(SMOOTHING) - 1, self.options.smoothing + delta))
        self.redraw(force=True)

    def action_toggle_envelope(self) -> None:
        self.options.envelope = not self.options.envelope
        self.redraw(force=True)

    def action_next_series(self) -> None:
        """The lower chart: the loss, then each other scalar the runs log (TensorBoard tags)."""
        choices = ["loss", *sorted({tag for run in self.state.runs for tag in run.scalars})]
        current = choices.index(self.options.series) if self.options.series in choices else 0
        self.options.series = choices[(current + 1) % len(choices)]
        self.redraw(force=True)

    def draw_scalar(
        self,
        canvas: Canvas,
        runs: list[tuple[RunView, int]],
        xlim: tuple[float, float],
        xlabel: str,
        which: str,
    ) -> bool:
        """The chosen other scalar of each run, as logged (never smoothed); False when the
        lower chart shows the loss."""
        tag = self.options.series
        if tag == "loss":
            return False
        fit: list[float] = []
        for run, color in runs:
            series = run.scalars.get(tag)
            if series is not None and len(series):
                xs, ys = series.points(POINTS)
                canvas.line(x_values(run, xs, self.options.x_axis), ys, color)
                fit += ys
        scale = "log" if self.options.log_y else "linear"
        shown = "no run logs it yet" if not fit else "as logged, never smoothed"
        canvas.finish(
            f"{clean(tag, 60)}{which} · {scale} · {shown} · t: next scalar", tag[:12], xlabel, xlim, fit
        )
        return True

    def action_next_axis(self) -> None:
        self.options.x_axis = X_AXES[(X_AXES.index(self.options.x_axis) + 1) % len(X_AXES)]
        self.redraw(force=True)

    def versions(self) -> tuple[int, ...]:
        return tuple(r.version for r in self.state.runs)

    def redraw(self, force: bool = False) -> None:
        now = (*self.versions(), *self.options.key())
        if not force and now == self._seen:
            return
        self._seen = now
        entries = self.legend_entries()
        if entries != self._legend:  # a validation loss appears after the first epoch
            self._legend = entries
            self.query_one(".legend", Static).update(legend(entries))
        self.draw()

    def draw(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def loss_title(self, runs: str, outliers: int) -> str:
        o = self.options
        parts = [f"loss{runs}", "log" if o.log_y else "linear", f"smoothing {half_life(o.weight)}"]
        if outliers:
            parts.append(f"{outliers} outliers clipped")
        if o.envelope:
            parts.append("min/max shaded")
        return " · ".join(parts)


class RunChartScreen(ChartBase):
    """enter: LR and loss of one run, its regime changes marked, and what sets it apart."""

    def __init__(self, state: ExperimentState, index: int, options: ChartOptions | None = None) -> None:
        super().__init__(state, options)
        self.index = index

    def title_text(self) -> Text:
        run = self.state.runs[self.index]
        diff = config_diff([r.info for r in self.state.runs], self.index)
        seed = dict(run.info.config).get("seed")
        lines: list[Text | str] = [Text.assemble((run.info.label, "bold"), " — ", run.info.detail)]
        if diff.differs or seed is not None:
            differs = diff.describe(diff.differs) or "nothing: same setup as every other run"
            lines.append(
                Text.assemble(
                    ("seed ", "dim"),
                    (seed or "?", "bold"),
                    ("  differs from the other runs in: ", "dim"),
                    differs,
                    ("  same for all: ", "dim"),
                    diff.describe(tuple(p for p in diff.shared if p[0] != "seed")),
                )
            )
        return Text("\n").join(Text(x) if isinstance(x, str) else x for x in lines)

    def legend_entries(self) -> list[tuple[str, str]]:
        return [
            ("LR trained", rich_color(LR_COLOR)),
            ("LR planned", rich_color(PLAN_COLOR)),
            ("loss smoothed", rich_color(LOSS_COLOR)),
            ("loss raw", rich_color(RAW_COLOR)),
            ("regime change", rich_color(MARK_COLOR)),
            *([("validation loss", rich_color(VAL_COLOR))] if self.state.runs[self.index].val_losses else []),
        ]

    def draw(self) -> None:
        run = self.state.runs[self.index]
        o = self.options
        axis, xlabel = o.x_axis, X_LABELS[o.x_axis]
        xlim = x_limits([run], axis)
        marks = thin(regime_marks(run))
        mark_xs = x_values(run, [m[0] for m in marks], axis)
        mark_colors = [PLAN_COLOR if planned else MARK_COLOR for _, _, planned in marks]

        lr = Canvas(self.query_one("#lr-chart", PlotextPlot), o.log_y)
        fit: list[float] = []
        if axis != "time":  # the future has no wall time yet
            px, py = plan_points(run, POINTS)
            lr.line(x_values(run, px, axis), py, PLAN_COLOR)
            fit += py
        xs, ys = run.lr_series.points(POINTS)
        lr.line(x_values(run, xs, axis), ys, LR_COLOR)
        fit += ys
        ends = x_values(run, [float(e) for e in thin(run.epoch_ends)], axis)
        lr.marks(ends, [""] * len(ends), [EPOCH_COLOR] * len(ends), None)
        scale = "log" if o.log_y else "linear"
        title = f"LR · {scale} · never smoothed · regime changes marked, epoch ends grey"
        limits = lr.finish(title, "LR", xlabel, xlim, fit)
        lr.marks(mark_xs, [m[1] for m in marks], mark_colors, limits[1] if limits else None, xlim)

        loss = Canvas(self.query_one("#loss-chart", PlotextPlot), o.log_y)
        if self.draw_scalar(loss, [(run, LOSS_COLOR)], xlim, xlabel, ""):
            return
        trace = loss_trace(run, o.weight, axis)
        fit = loss_lines(loss, trace, LOSS_COLOR, o, RAW_COLOR, ENVELOPE_COLOR)
        fit += val_line(loss, run, axis, VAL_COLOR)
        loss.marks(mark_xs, [""] * len(marks), mark_colors, None)
        loss.finish(self.loss_title("", trace.outliers), "loss", xlabel, xlim, fit)


class CompareScreen(ChartBase):
    """c: every run's LR, and every run's loss, on shared axes with a legend."""

    def title_text(self) -> Text:
        return Text.assemble(("Compare", "bold"), " — every run on shared axes; lines mark regime changes")

    def legend_entries(self) -> list[tuple[str, str]]:
        return [(r.info.label, rich_color(PALETTE[i % len(PALETTE)])) for i, r in enumerate(self.state.runs)]

    def draw(self) -> None:
        o = self.options
        axis, xlabel = o.x_axis, X_LABELS[o.x_axis]
        runs = self.state.runs
        xlim = x_limits(runs, axis)
        lr = Canvas(self.query_one("#lr-chart", PlotextPlot), o.log_y)
        loss = Canvas(self.query_one("#loss-chart", PlotextPlot), o.log_y)
        lr_fit: list[float] = []
        loss_fit: list[float] = []
        outliers = 0
        scalar = o.series != "loss"
        traces = [loss_trace(run, o.weight, axis) for run in runs] if not scalar else []
        if o.weight > 0:  # every faint raw trace first, so no run's raw line covers another's smooth one
            for trace in traces:
                if not trace.constant:
                    loss.line(trace.xs, trace.raw, RAW_COLOR)
        for i, run in enumerate(runs):
            color = PALETTE[i % len(PALETTE)]
            xs, ys = run.lr_series.points(POINTS)
            lr.line(x_values(run, xs, axis), ys, color)
            lr_fit += ys
            mark_xs = x_values(run, [m.step for m in thin(run.marks)], axis)  # trained ones only
            lr.marks(mark_xs, [""] * len(mark_xs), [color] * len(mark_xs), None)
            if not scalar:
                trace = traces[i]
                loss_fit += loss_lines(loss, trace, color, o, None, color)
                loss_fit += val_line(loss, run, axis, color)
                outliers += trace.outliers
        scale = "log" if o.log_y else "linear"
        lr.finish(f"LR of every run · {scale} · never smoothed", "LR", xlabel, xlim, lr_fit)
        colors = [(run, PALETTE[i % len(PALETTE)]) for i, run in enumerate(runs)]
        if not self.draw_scalar(loss, colors, xlim, xlabel, " of every run"):
            loss.finish(self.loss_title(" of every run", outliers), "loss", xlabel, xlim, loss_fit)
