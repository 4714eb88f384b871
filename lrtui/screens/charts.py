"""Full plotext charts: one run in detail, or every run overlaid on shared axes.

LR lines are drawn as trained, never smoothed, with the schedule's regime changes marked.
Loss lines go through `traces` (outliers clipped, debiased EMA over a faint raw trace,
optional min/max envelope). The options are the app's, so every chart shares one x axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual_plotext import PlotextPlot

from lrtui.state import ExperimentState, RunView, config_diff
from lrtui.traces import SMOOTHING, X_AXES, X_LABELS, Trace, half_life, loss_trace, x_values, y_limits

POINTS = 400  # per line: enough for any terminal width, cheap for plotext
MAX_MARKS = 40
# 256-colour codes, read the same by plotext and Rich, so the legend matches the lines.
PALETTE = [51, 208, 118, 201, 33, 196, 226, 141, 215, 87, 156, 219, 110, 255, 245]
PLAN_COLOR, LR_COLOR, LOSS_COLOR = 245, 51, 208
RAW_COLOR, ENVELOPE_COLOR, MARK_COLOR, EPOCH_COLOR = 240, 94, 141, 238


@dataclass
class ChartOptions:
    """How charts draw, shared by every chart screen of the app (one x axis for all)."""

    smoothing: int = 3  # index into SMOOTHING
    envelope: bool = False
    x_axis: str = "step"
    log_y: bool = False

    @property
    def weight(self) -> float:
        return SMOOTHING[self.smoothing]

    def key(self) -> tuple:
        return (self.smoothing, self.envelope, self.x_axis, self.log_y)


def rich_color(code: int) -> str:
    return f"color({code})"


def legend(entries: list[tuple[str, str]]) -> Text:
    """A legend line above the chart (plotext's own legend covers the start of the lines)."""
    parts: list[tuple[str, str] | str] = []
    for name, color in entries:
        parts += [("━━ ", color), (name, "bold"), "   "]
    return Text.assemble(*parts)


def positive_only(xs: list[float], ys: list[float]) -> tuple[list[float], list[float], int]:
    """Points a log axis can show (plotext fails on log of 0), and how many were dropped."""
    keep = [(x, y) for x, y in zip(xs, ys, strict=True) if y > 0 and math.isfinite(y)]
    return [x for x, _ in keep], [y for _, y in keep], len(xs) - len(keep)


def log_axis(ys: list[float]) -> tuple[list[float], list[str]]:
    """Tick positions (log10 units) and labels for a log y axis drawn from log10 data.

    We plot log10 values on a linear axis ourselves: plotext's own log scale applies log10 to
    its stored data in place on every build, so a widget that re-renders would take the log
    of a log.
    """
    if not ys:
        return [], []
    lo, hi = math.floor(min(ys)), math.ceil(max(ys))
    mantissas = (1,) if hi - lo >= 3 else (1, 2, 5)
    ticks = [e + math.log10(m) for e in range(lo, hi + 1) for m in mantissas]
    ticks = [t for t in ticks if min(ys) - 1e-9 <= t <= max(ys) + 1e-9]
    if len(ticks) >= 2:
        return ticks, [f"{10**t:.0e}" for t in ticks]
    low, high = min(ys), max(ys)  # a narrow range: evenly spaced ticks, labelled with real values
    if high - low < 1e-12:
        return [low], [f"{10**low:.3g}"]
    ticks = [low + i * (high - low) / 4 for i in range(5)]
    return ticks, [f"{10**t:.3g}" for t in ticks]


def plan_points(run: RunView, n: int) -> tuple[list[float], list[float]]:
    total = run.total_steps
    if run.plan is None or not total:
        return [], []
    xs = [1 + i * (total - 1) / max(1, n - 1) for i in range(n)]
    return xs, [run.planned_lr_at(round(x)) or 0.0 for x in xs]


def _thin(items: list, limit: int = MAX_MARKS) -> list:
    if len(items) <= limit:
        return items
    stride = math.ceil(len(items) / limit)
    return items[stride - 1 :: stride]


def regime_marks(run: RunView) -> list[tuple[int, str, bool]]:
    """(step, label, planned) of every regime change: the ones trained, then the plan's ahead."""
    done = [(m.step, m.label, False) for m in run.marks]
    ahead = [(step, label, True) for step, _, label in run.planned_marks if step > run.step]
    return done + ahead


def x_limits(runs: list[RunView], axis: str) -> tuple[float, float]:
    """One x range for every run drawn: whole planned runs where their length is known."""
    hi = 1.0
    for run in runs:
        end = run.total_steps or run.step
        if axis == "step":
            hi = max(hi, float(end))
        elif axis == "epoch":
            hi = max(hi, *(x_values(run, [end], "epoch") or [1.0]))
        else:
            t = run.time_series.last_value if len(run.time_series) else 0.0
            hi = max(hi, t if math.isfinite(t) else 0.0)
    lo = 1.0 if axis == "step" else 0.0
    return lo, max(hi, lo + 1)


class _Canvas:
    """One plot being built: lines in data units, log10 applied here (see `log_axis` for why
    not by plotext), y limits decided last."""

    def __init__(self, plot: PlotextPlot, log: bool) -> None:
        self.plot = plot
        self.plt = plot.plt
        self.log = log
        self.plt.clear_figure()
        self.dropped = 0

    def ys(self, xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
        if not self.log:
            return xs, ys
        xs, ys, dropped = positive_only(xs, ys)
        self.dropped += dropped
        return xs, [math.log10(y) for y in ys]

    def line(self, xs: list[float], ys: list[float], color: int) -> None:
        xs, ys = self.ys(xs, ys)
        if xs:
            self.plt.plot(xs, ys, color=color, marker="hd")

    def finish(
        self, title: str, ylabel: str, xlabel: str, xlim: tuple[float, float], fit: list[float]
    ) -> tuple[float, float] | None:
        plt = self.plt
        limits = y_limits(fit, self.log)
        if limits is not None:
            plt.ylim(*limits)
            if self.log:
                ticks, labels = log_axis(list(limits))
                if ticks:
                    plt.yticks(ticks, labels)
        plt.xlim(*xlim)
        note = f"  ({self.dropped} points <= 0 hidden)" if self.dropped else ""
        plt.title(title + note)
        plt.xlabel(xlabel)
        plt.ylabel(ylabel)
        self.plot.refresh()
        return limits

    def marks(
        self,
        xs: list[float],
        labels: list[str],
        colors: list[int],
        top: float | None,
        xlim: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        """Vertical lines; labels at `top` where they fit without running into the previous one."""
        width = self.plot.size.width or self.plot.app.size.width  # before the first layout: the app's
        cells = max(20, width - 10)  # less the y axis
        per_cell = (xlim[1] - xlim[0]) / cells
        free_from = -math.inf
        for x, label, color in zip(xs, labels, colors, strict=True):
            if not math.isfinite(x):
                continue
            self.plt.vline(x, color)
            if label and top is not None and x >= free_from:
                self.plt.text(label, x, top, color=color, alignment="left")
                free_from = x + (len(label) + 1) * per_cell


def loss_lines(
    canvas: _Canvas,
    trace: Trace,
    color: int,
    options: ChartOptions,
    raw_color: int | None,
    envelope_color: int,
) -> list[float]:
    """Draw one run's loss; return the values its y axis should fit (outliers left out).

    With smoothing on, the raw trace is drawn faint in `raw_color` (None: drawn elsewhere).
    """
    keep = [i for i, out in enumerate(trace.outlier) if not out]
    fit = [trace.raw[i] for i in keep]
    if options.envelope:
        canvas.line(trace.xs, trace.low, envelope_color)
        canvas.line(trace.xs, trace.high, envelope_color)
        fit += [trace.low[i] for i in keep] + [trace.high[i] for i in keep]
    if options.weight > 0 or trace.constant:
        if raw_color is not None and not trace.constant:
            canvas.line(trace.xs, trace.raw, raw_color)
        canvas.line(trace.xs, trace.smooth, color)
        fit += trace.smooth
    else:
        canvas.line(trace.xs, trace.raw, color)
    return fit


class _ChartBase(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("l", "toggle_log", "Log y"),
        Binding("s", "smoothing(1)", "Smoother"),
        Binding("S", "smoothing(-1)", "Less smooth", key_display="S"),
        Binding("e", "toggle_envelope", "Min/max"),
        Binding("x", "next_axis", "X axis"),
    ]

    def __init__(self, state: ExperimentState, options: ChartOptions | None = None) -> None:
        super().__init__()
        self.state = state
        self.options = options if options is not None else ChartOptions()
        self._seen: tuple = ()

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


class RunChartScreen(_ChartBase):
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
        ]

    def draw(self) -> None:
        run = self.state.runs[self.index]
        o = self.options
        axis, xlabel = o.x_axis, X_LABELS[o.x_axis]
        xlim = x_limits([run], axis)
        marks = _thin(regime_marks(run))
        mark_xs = x_values(run, [m[0] for m in marks], axis)
        mark_colors = [PLAN_COLOR if planned else MARK_COLOR for _, _, planned in marks]

        lr = _Canvas(self.query_one("#lr-chart", PlotextPlot), o.log_y)
        fit: list[float] = []
        if axis != "time":  # the future has no wall time yet
            px, py = plan_points(run, POINTS)
            lr.line(x_values(run, px, axis), py, PLAN_COLOR)
            fit += py
        xs, ys = run.lr_series.points(POINTS)
        lr.line(x_values(run, xs, axis), ys, LR_COLOR)
        fit += ys
        ends = x_values(run, [float(e) for e in _thin(run.epoch_ends)], axis)
        lr.marks(ends, [""] * len(ends), [EPOCH_COLOR] * len(ends), None)
        scale = "log" if o.log_y else "linear"
        title = f"LR · {scale} · never smoothed · regime changes marked, epoch ends grey"
        limits = lr.finish(title, "LR", xlabel, xlim, fit)
        lr.marks(mark_xs, [m[1] for m in marks], mark_colors, limits[1] if limits else None, xlim)

        loss = _Canvas(self.query_one("#loss-chart", PlotextPlot), o.log_y)
        trace = loss_trace(run, o.weight, axis)
        fit = loss_lines(loss, trace, LOSS_COLOR, o, RAW_COLOR, ENVELOPE_COLOR)
        loss.marks(mark_xs, [""] * len(marks), mark_colors, None)
        loss.finish(self.loss_title("", trace.outliers), "loss", xlabel, xlim, fit)


class CompareScreen(_ChartBase):
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
        lr = _Canvas(self.query_one("#lr-chart", PlotextPlot), o.log_y)
        loss = _Canvas(self.query_one("#loss-chart", PlotextPlot), o.log_y)
        lr_fit: list[float] = []
        loss_fit: list[float] = []
        outliers = 0
        traces = [loss_trace(run, o.weight, axis) for run in runs]
        if o.weight > 0:  # every faint raw trace first, so no run's raw line covers another's smooth one
            for trace in traces:
                if not trace.constant:
                    loss.line(trace.xs, trace.raw, RAW_COLOR)
        for i, (run, trace) in enumerate(zip(runs, traces, strict=True)):
            color = PALETTE[i % len(PALETTE)]
            xs, ys = run.lr_series.points(POINTS)
            lr.line(x_values(run, xs, axis), ys, color)
            lr_fit += ys
            mark_xs = x_values(run, [m.step for m in _thin(run.marks)], axis)  # trained ones only
            lr.marks(mark_xs, [""] * len(mark_xs), [color] * len(mark_xs), None)
            loss_fit += loss_lines(loss, trace, color, o, None, color)
            outliers += trace.outliers
        scale = "log" if o.log_y else "linear"
        lr.finish(f"LR of every run · {scale} · never smoothed", "LR", xlabel, xlim, lr_fit)
        loss.finish(self.loss_title(" of every run", outliers), "loss", xlabel, xlim, loss_fit)
