"""Drawing a chart with plotext: the shared options, one canvas per plot, loss lines, marks.

LR lines are drawn as trained, never smoothed. Loss lines go through `state.traces`
(outliers clipped, debiased EMA over a faint raw trace, optional min/max envelope). Lines are
braille (2x4 dots a cell: the finest plotext draws, at the same cost); ticks are round
(`axes`); labels sit in headroom above the lines, on the chart's own background.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from textual.app import App
from textual.color import Color
from textual.message import Message
from textual_plotext import PlotextPlot

from lrtui.state.runlike import RunLike
from lrtui.state.traces import Trace, first_x, x_values, y_limits
from lrtui.ui.screens.axes import axis, even_axis
from lrtui.ui.screens.style import ChartOptions

DRAW_LIMIT = 1e300
POINTS = 400  # per line: enough for any terminal width, cheap for plotext
POINT_BUDGET = 20_000  # points in one chart, over all its lines
MIN_POINTS = 40  # ... but never fewer than this a line
PLOT_CHROME_ROWS = 5  # a plot's rows that are not its canvas: title, frame, x ticks, x label
MARKS_DRAWN = 40  # per line of marks: more would fill the chart

T = TypeVar("T")


def clamp(y: float) -> float:
    """A value plotext can scale without overflowing (LRs of 1e300 and losses of 1e308 exist)."""
    return max(-DRAW_LIMIT, min(DRAW_LIMIT, y))


def plan_points(run: RunLike, n: int) -> tuple[list[float], list[float]]:
    total = run.total_steps
    if run.plan is None or not total:
        return [], []
    xs = [1 + i * (total - 1) / max(1, n - 1) for i in range(n)]
    return xs, [run.planned_lr_at(round(x)) or 0.0 for x in xs]


def thin(items: Sequence[T], limit: int = MARKS_DRAWN) -> Sequence[T]:
    if len(items) <= limit:
        return items
    stride = math.ceil(len(items) / limit)
    return items[stride - 1 :: stride]


def regime_marks(run: RunLike) -> list[tuple[int, str, bool]]:
    """(step, label, planned) of every regime change: the ones trained, then the plan's ahead."""
    done = [(m.step, m.label, False) for m in run.marks]
    ahead = [(step, label, True) for step, _, label in run.planned_marks if step > run.step]
    return done + ahead


def x_limits(runs: list[RunLike], axis: str, log: bool = False) -> tuple[float, float]:
    """One x range for every run drawn: whole planned runs where their length is known. On a
    log axis it begins at the least positive x any run draws (`first_x`), not at 0, which a
    log axis cannot show."""
    if axis == "lr":
        lrs = [x for run in runs for x in _lr_range(run) if x > 0]
        return (min(lrs), max(lrs)) if lrs and max(lrs) > min(lrs) else (0.0, 1.0)
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
    if not log:
        return 0.0, hi
    firsts = [x for x in (first_x(run, axis) for run in runs) if math.isfinite(x) and x > 0]
    return min(firsts, default=min(1.0, hi)), hi


def _lr_range(run: RunLike) -> tuple[float, ...]:
    cols = run.lr_series.buckets()
    values = [c.low for c in cols] + [c.high for c in cols]
    return tuple(v for v in values if math.isfinite(v))


def ansi(app: App) -> bool:
    """Whether the app's theme uses the terminal's own colours (ansi-light, ansi-dark)."""
    return str(app.theme_variables.get("foreground", "")).startswith("ansi")


def fit_title(title: str, width: int) -> str:
    """A title that fits: plotext leaves out a title wider than the plot altogether, so the
    least important parts (the last, after " · ") go first, then the end is cut."""
    parts = title.split(" · ")
    while len(parts) > 1 and len(" · ".join(parts)) > width:
        parts.pop()
    text = " · ".join(parts)
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def fewer(xs: list[float], ys: list[float], limit: int) -> tuple[list[float], list[float]]:
    """At most `limit` points: consecutive points averaged in equal groups (the series are
    already bucketed means; this only matches them to the plot's resolution)."""
    n = len(xs)
    if n <= limit:
        return xs, ys
    size = math.ceil(n / limit)
    groups = range(0, n, size)
    return (
        [math.fsum(xs[i : i + size]) / len(xs[i : i + size]) for i in groups],
        [math.fsum(ys[i : i + size]) / len(ys[i : i + size]) for i in groups],
    )


def flat_runs_cut(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    """The same line with the inner points of each flat stretch left out (a StepLR is a few
    corners, not hundreds of points: plotext's cost is per point)."""
    if len(ys) < 3:
        return xs, ys
    keep = [0, *(i for i in range(1, len(ys) - 1) if not ys[i - 1] == ys[i] == ys[i + 1]), len(ys) - 1]
    return [xs[i] for i in keep], [ys[i] for i in keep]


class ChartPlot(PlotextPlot):
    """A plot that asks its screen to draw it again when its size changes (its y axis is
    fitted to its height: ticks a whole number of rows apart), and that keeps its axes and
    ticks under the terminal's own colours: textual-plotext builds its colours from the
    theme's, which ANSI themes leave unnamed, and drew black on black."""

    @dataclass
    class Resized(Message):
        plot: ChartPlot

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _: self._follow_theme())
        self._follow_theme()

    def _follow_theme(self) -> None:
        self.theme = "clear" if ansi(self.app) else "auto"

    def on_resize(self) -> None:
        self.post_message(self.Resized(self))


class Canvas:
    """One plot being built: lines in data units, log10 applied here (plotext's own log scale
    applies log10 to its stored data in place on every build, so a widget that re-renders would
    take the log of a log), round ticks and limits decided last."""

    def __init__(self, plot: PlotextPlot, log: bool, log_x: bool = False, whole_x: bool = True) -> None:
        self.plot = plot
        self.plt = plot.plt
        self.log = log
        self.log_x = log_x
        self.whole_x = whole_x  # steps and epochs tick at whole numbers
        self.plt.clear_figure()
        self.dropped = 0
        self.lines = 1  # how many lines share the chart: they share its budget of points

    def points(self, xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
        """Points plotext can draw: finite, within a float's comfortable range, and positive on
        a log axis (where they are drawn as their log10)."""
        keep = [
            (x, clamp(y))
            for x, y in zip(xs, ys, strict=True)
            if math.isfinite(x) and math.isfinite(y) and (x > 0 or not self.log_x)
        ]
        if self.log:
            before = len(keep)
            keep = [(x, y) for x, y in keep if y > 0]
            self.dropped += before - len(keep)
        return (
            [math.log10(x) if self.log_x else x for x, _ in keep],
            [math.log10(y) if self.log else y for _, y in keep],
        )

    def x(self, value: float) -> float:
        return math.log10(value) if self.log_x and value > 0 else value

    def x_range(self, xlim: tuple[float, float]) -> tuple[float, float]:
        """`xlim` in the axis's units, never empty. A log axis is given its start (`x_limits`);
        should a caller give none, it shows three decades below the end rather than 300."""
        lo, hi = xlim
        if self.log_x:
            hi = hi if hi > 0 else 1.0
            lo, hi = math.log10(lo if lo > 0 else hi / 1e3), math.log10(hi)
        return (lo, hi) if hi > lo else (lo, lo + 1)

    def line(self, xs: list[float], ys: list[float], color: int, marker: str = "braille") -> None:
        xs, ys = flat_runs_cut(*fewer(*self.points(xs, ys), self.resolution))
        if xs:
            self.plt.plot(xs, ys, color=color, marker=marker)

    @property
    def resolution(self) -> int:
        """The most points a line can show: braille has 2 dots a cell across. plotext's cost
        grows with the points it is given, so a line never gets more, and where hundreds of
        lines share a chart (and cover each other) they share a budget."""
        cells = max(20, self.plot.size.width or self.plot.app.size.width)
        return max(MIN_POINTS, min(2 * cells, POINT_BUDGET // max(1, self.lines)))

    def finish(
        self,
        title: str,
        ylabel: str,
        xlabel: str,
        xlim: tuple[float, float],
        fit: list[float],
        headroom: bool = False,
    ) -> float | None:
        """Limits, round ticks and titles; with `headroom`, a strip above the lines for labels,
        whose height (in the axis's units) is returned."""
        plt = self.plt
        limits = y_limits(fit, self.log, pad=False)  # round ticks are the padding
        top = None
        if limits is not None:
            rows = (self.plot.size.height or 0) - PLOT_CHROME_ROWS
            (lo, hi), ticks, labels = even_axis(*limits, rows, self.log, 2 if headroom else 0)
            plt.ylim(lo, hi)
            plt.yticks(ticks, labels)
            top = hi if headroom else None
        x_lo, x_hi = self.x_range(xlim)
        plt.xlim(x_lo, x_hi)
        ticks, labels = axis(x_lo, x_hi, self.log_x, whole=self.whole_x)
        if ticks:
            plt.xticks(ticks, labels)
        note = f"  ({self.dropped} points <= 0 hidden)" if self.dropped else ""
        plt.title(fit_title(title + note, (self.plot.size.width or self.plot.app.size.width) - 4))
        plt.xlabel(xlabel)
        plt.ylabel(ylabel)
        self.plot.refresh()
        return top

    def marks(
        self,
        xs: list[float],
        labels: list[str],
        colors: list[int],
        top: float | None,
        xlim: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        """Vertical lines; labels at `top` (the headroom) where they fit without running into
        the previous one, on the chart's own background."""
        width = self.plot.size.width or self.plot.app.size.width  # before the first layout: the app's
        cells = max(20, width - 10)  # less the y axis
        x_lo, x_hi = self.x_range(xlim)
        per_cell = (x_hi - x_lo) / cells
        app = self.plot.app
        background = "default" if ansi(app) else Color.parse(app.theme_variables.get("surface", "black")).rgb
        free_from = -math.inf
        for raw, label, color in zip(xs, labels, colors, strict=True):
            if not math.isfinite(raw) or (self.log_x and raw <= 0):
                continue
            x = self.x(raw)
            self.plt.vline(x, color)
            if label and top is not None and x >= free_from:
                self.plt.text(label, x, top, color=color, background=background, alignment="left")
                free_from = x + (len(label) + 1) * per_cell


def loss_lines(
    canvas: Canvas,
    trace: Trace,
    color: int,
    options: ChartOptions,
    weight: float,
    raw_color: int | None,
    envelope_color: int,
    marker: str = "braille",
    raw_elsewhere: bool = False,
    band: bool = False,
) -> list[float]:
    """Draw one run's loss; return the values its y axis should fit (outliers left out).

    With smoothing on, the raw trace is drawn faint in `raw_color`, or not at all (None; with
    `raw_elsewhere` it is drawn by the caller and fitted here). A schedule over several seeds
    (`band`) draws its lowest and highest seed around the mean.
    """
    keep = [i for i, out in enumerate(trace.outlier) if not out]
    raw_shown = weight <= 0 or trace.constant or raw_color is not None or raw_elsewhere
    fit = [trace.raw[i] for i in keep] if raw_shown else []
    if options.envelope or band:  # with seeds, the band is always drawn
        canvas.line(trace.xs, trace.low, envelope_color)
        canvas.line(trace.xs, trace.high, envelope_color)
        fit += [trace.low[i] for i in keep] + [trace.high[i] for i in keep]
    if weight > 0 or trace.constant:
        if raw_color is not None and not trace.constant:
            canvas.line(trace.xs, trace.raw, raw_color)
        canvas.line(trace.xs, trace.smooth, color, marker)
        fit += trace.smooth
    else:
        canvas.line(trace.xs, trace.raw, color, marker)
    return fit


def val_line(canvas: Canvas, run: RunLike, axis: str, color: int) -> list[float]:
    """The run's validation losses, one point per evaluation, joined; the values drawn."""
    if not run.val_losses:
        return []
    steps = [float(step) for step, _ in run.val_losses]
    values = [loss for _, loss in run.val_losses]
    canvas.line(x_values(run, steps, axis), values, color, marker="dot")
    return [v for v in values if math.isfinite(v)]
