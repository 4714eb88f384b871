"""Full plotext charts: what every chart screen shares, and one run in detail.

LR lines are drawn as trained, never smoothed, with the schedule's regime changes marked.
Loss lines go through `traces` (outliers clipped, debiased EMA over a faint raw trace,
optional min/max envelope). The options are the app's, so every chart shares one x axis.
Against the LR (`x` to "learning rate") the LR chart gives its room to the loss.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, Static
from textual_plotext import PlotextPlot

from lrtui.spec.text import clean
from lrtui.state.configdiff import config_diff
from lrtui.state.forecast.live import LiveForecast
from lrtui.state.groups import views
from lrtui.state.runlike import RunLike
from lrtui.state.runs import ExperimentState
from lrtui.state.traces import SMOOTHING, X_AXES, X_LABELS, half_life, loss_trace, x_values
from lrtui.ui.keys import bindings
from lrtui.ui.screens.canvas import (
    POINTS,
    Canvas,
    ChartPlot,
    loss_lines,
    plan_points,
    regime_marks,
    thin,
    val_line,
    x_limits,
)
from lrtui.ui.screens.live import LiveScreen
from lrtui.ui.screens.style import (
    ENVELOPE_COLOR,
    EPOCH_COLOR,
    LOSS_COLOR,
    LR_COLOR,
    MARK_COLOR,
    PLAN_COLOR,
    RAW_COLOR,
    VAL_COLOR,
    ChartOptions,
    Entry,
    legend,
    rich_color,
)


class ChartBase(LiveScreen):
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
        super().__init__(state)
        self.options = options if options is not None else ChartOptions()
        self._seen: tuple = ()
        self._resized = False  # a redraw for a new plot size is already on its way
        self._drawn_at: tuple = ()  # the plots' sizes when last drawn
        self._legend: list[tuple[str, str]] = []

    @property
    def log_y(self) -> bool:
        return self.options.log_y

    def title_text(self) -> Text:  # pragma: no cover - overridden
        raise NotImplementedError

    def legend_entries(self) -> list[Entry]:  # pragma: no cover - overridden
        raise NotImplementedError

    def shown(self) -> list[RunLike]:
        """The runs this chart draws (compare can hide some): a schedule's seeds as one."""
        return views(self.state)

    def steps(self) -> int:
        """The longest run drawn, in steps: what the automatic smoothing is chosen for."""
        return max((run.total_steps or run.step for run in self.shown()), default=0)

    @property
    def weight(self) -> float:
        return self.options.weight_for(self.steps())

    def canvases(self) -> tuple[Canvas, Canvas]:
        """The LR and the loss canvas; against the LR, the LR chart hides and the loss grows."""
        o = self.options
        lr_plot = self.query_one("#lr-chart", PlotextPlot)
        lr_plot.display = o.x_axis != "lr"
        whole = o.x_axis in ("step", "epoch")
        return (
            Canvas(lr_plot, o.log_y, o.x_log, whole),
            Canvas(self.query_one("#loss-chart", PlotextPlot), o.log_y, o.x_log, whole),
        )

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text(), id="chart-title")
            yield Static(legend(self.legend_entries()), classes="legend")
            yield ChartPlot(id="lr-chart")
            yield ChartPlot(id="loss-chart")
        yield Footer()

    def action_toggle_log(self) -> None:
        self.options.log_y = not self.options.log_y
        self.redraw(force=True)

    def action_smoothing(self, delta: int) -> None:
        current = self.options.index_for(self.steps())
        self.options.smoothing = max(0, min(len(SMOOTHING) - 1, current + delta))
        self.redraw(force=True)

    def action_toggle_log_x(self) -> None:
        self.options.log_x = not self.options.log_x
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
        runs: list[tuple[RunLike, int]],
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
        if not self.whole():
            return  # the app is closing: the frame timer's last tick finds widgets gone
        entries = self.legend_entries()
        if entries != self._legend:  # a validation loss appears after the first epoch
            self._legend = entries
            self.query_one(".legend", Static).update(legend(entries, self.size.width - 2))
        if not self.query_one("#loss-chart", ChartPlot).size.height:
            return  # not laid out yet: drawn once it is (`on_chart_plot_resized`), not twice
        self._seen = now
        self._drawn_at = self._sizes()
        self.draw()

    def whole(self) -> bool:
        """Whether every widget a redraw uses is there (a screen being taken down loses its
        widgets one by one, between ticks of the frame timer)."""
        return all(self.query_one_optional(q) is not None for q in (".legend", "#lr-chart", "#loss-chart"))

    def on_resize(self) -> None:
        self._legend = []  # the legend breaks its lines by the width

    def on_chart_plot_resized(self) -> None:
        """Axes fit the plots' heights: drawn again once a height is known or changes (both)."""
        if not self._resized:
            self._resized = True
            self.call_after_refresh(self._draw_resized)

    def _draw_resized(self) -> None:
        self._resized = False
        if self._sizes() != self._drawn_at:  # not drawn at this size yet
            self.redraw(force=True)

    @property
    def drawn(self) -> bool:
        """Whether the plots have been drawn at a real size (the bench waits for it)."""
        return bool(self._drawn_at)

    def _sizes(self) -> tuple:
        return tuple(plot.size for plot in self.query(ChartPlot))

    def draw(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def loss_title(self, runs: str, outliers: int) -> str:
        o = self.options
        auto = "auto " if o.smoothing is None else ""
        parts = [f"loss{runs}", "log" if o.log_y else "linear", f"smoothing {auto}{half_life(self.weight)}"]
        if o.x_axis == "lr":
            parts.insert(1, "against the LR (log x)" if o.x_log else "against the LR")
        if outliers:
            parts.append(f"{outliers} outliers clipped")
        if o.envelope:
            parts.append("min/max shaded")
        if any(run.is_group for run in self.shown()):
            parts.append("mean over seeds, band: lowest to highest seed")
        return " · ".join(parts)


class RunChartScreen(ChartBase):
    """enter: LR and loss of one run, its regime changes marked, and what sets it apart."""

    def __init__(
        self,
        state: ExperimentState,
        index: int,
        options: ChartOptions | None = None,
        forecast: LiveForecast | None = None,
    ) -> None:
        super().__init__(state, options)
        self.index = index
        self.forecast = forecast  # the app's live forecast: drawn past the steps trained

    def title_text(self) -> Text:
        shown = views(self.state)
        run = shown[self.index]
        diff = config_diff([r.info for r in shown], self.index)
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

    def shown(self) -> list[RunLike]:
        return [views(self.state)[self.index]]

    def legend_entries(self) -> list[Entry]:
        val = [Entry("validation loss", rich_color(VAL_COLOR), "••")] if self.shown()[0].val_losses else []
        return [
            Entry("LR trained", rich_color(LR_COLOR)),
            Entry("LR planned", rich_color(PLAN_COLOR)),
            Entry("loss smoothed", rich_color(LOSS_COLOR)),
            Entry("loss raw", rich_color(RAW_COLOR)),
            Entry("regime change", rich_color(MARK_COLOR), "│"),
            *val,
            *self._forecast_entry(),
        ]

    def _forecast_entry(self) -> list[Entry]:
        run = self.shown()[0]
        if self.forecast is None or self.forecast.trusted(run.info.label) is None:
            return []
        band = self.forecast.band_of(run.info.label)
        return [Entry(f"loss forecast ± {100 * band:.1f}%", rich_color(PLAN_COLOR))]

    def draw(self) -> None:
        run = views(self.state)[self.index]
        o = self.options
        axis, xlabel = o.x_axis, X_LABELS[o.x_axis]
        xlim = x_limits([run], axis, o.x_log)
        lr, loss = self.canvases()
        marks = thin(regime_marks(run)) if axis != "lr" else []
        mark_xs = x_values(run, [m[0] for m in marks], axis)
        mark_colors = [PLAN_COLOR if planned else MARK_COLOR for _, _, planned in marks]
        if axis != "lr":
            self.draw_lr(lr, run, xlim, mark_xs, marks, mark_colors)
        if self.draw_scalar(loss, [(run, LOSS_COLOR)], xlim, xlabel, ""):
            return
        trace = loss_trace(run, self.weight, axis, loss.resolution)
        seeds = run.is_group
        fit = loss_lines(loss, trace, LOSS_COLOR, o, self.weight, RAW_COLOR, ENVELOPE_COLOR, band=seeds)
        fit += val_line(loss, run, axis, VAL_COLOR)
        fit += self._forecast(loss, run, axis)
        loss.marks(mark_xs, [""] * len(marks), mark_colors, None, xlim)
        loss.finish(self.loss_title("", trace.outliers), "loss", xlabel, xlim, fit)

    def _forecast(self, loss: Canvas, run: RunLike, axis: str) -> list[float]:
        """The trusted forecast of the steps ahead, dimmed, ± its held-out error (step axis only)."""
        predicted = self.forecast.trusted(run.info.label) if self.forecast is not None else None
        total = run.total_steps
        if predicted is None or axis != "step" or not total or run.step >= total:
            return []
        xs = [run.step + 1 + i * (total - run.step - 1) // (POINTS - 1) for i in range(POINTS)]
        ys = [float(predicted[x - 1]) for x in xs]
        band = self.forecast.band_of(run.info.label)  # type: ignore[union-attr]  # predicted came from it
        for factor in (1 - band, 1.0, 1 + band):
            loss.line(x_values(run, [float(x) for x in xs], axis), [y * factor for y in ys], PLAN_COLOR)
        return [y * (1 + band) for y in ys] + [y * (1 - band) for y in ys]

    def draw_lr(
        self,
        lr: Canvas,
        run: RunLike,
        xlim: tuple[float, float],
        mark_xs: list[float],
        marks: list[tuple[int, str, bool]],
        mark_colors: list[int],
    ) -> None:
        """The LR as planned (grey) and as trained, epoch ends, regime changes labelled above."""
        axis = self.options.x_axis
        fit: list[float] = []
        if axis != "time":  # the future has no wall time yet
            px, py = plan_points(run, POINTS)
            lr.line(x_values(run, px, axis), py, PLAN_COLOR)
            fit += py
        xs, ys = run.lr_series.points(min(POINTS, lr.resolution))
        lr.line(x_values(run, xs, axis), ys, LR_COLOR)
        fit += ys
        ends = x_values(run, [float(e) for e in thin(run.epoch_ends)], axis)
        lr.marks(ends, [""] * len(ends), [EPOCH_COLOR] * len(ends), None, xlim)
        scale = "log" if self.options.log_y else "linear"
        title = f"LR · {scale} · never smoothed · regime changes marked, epoch ends grey"
        top = lr.finish(title, "LR", X_LABELS[axis], xlim, fit, headroom=bool(marks))
        lr.marks(mark_xs, [m[1] for m in marks], mark_colors, top, xlim)
