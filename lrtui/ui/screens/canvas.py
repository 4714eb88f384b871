"""Drawing a chart with plotext: the shared options, one canvas per plot, loss lines, marks.

LR lines are drawn as trained, never smoothed. Loss lines go through `state.traces`
(outliers clipped, debiased EMA over a faint raw trace, optional min/max envelope).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.text import Text
from textual_plotext import PlotextPlot

from lrtui.state.runs import RunView
from lrtui.state.traces import SMOOTHING, Trace, x_values, y_limits

DRAW_LIMIT = 1e300
POINTS = 400  # per line: enough for any terminal width, cheap for plotext
MARKS_DRAWN = 40  # per line of marks: more would fill the chart
# 256-colour codes, read the same by plotext and Rich, so the legend matches the lines.
PALETTE = [51, 208, 118, 201, 33, 196, 226, 141, 215, 87, 156, 219, 110, 255, 245]
PLAN_COLOR, LR_COLOR, LOSS_COLOR = 245, 51, 208
RAW_COLOR, ENVELOPE_COLOR, MARK_COLOR, EPOCH_COLOR = 240, 94, 141, 238
VAL_COLOR = 46


@dataclass
class ChartOptions:
    """How charts draw, shared by every chart screen of the app (one x axis for all)."""

    smoothing: int = 3  # index into SMOOTHING
    envelope: bool = False
    x_axis: str = "step"
    log_y: bool = False
    series: str = "loss"  # the lower chart: the loss, or another scalar the runs log

    @property
    def weight(self) -> float:
        return SMOOTHING[self.smoothing]

    def key(self) -> tuple:
        return (self.smoothing, self.envelope, self.x_axis, self.log_y, self.series)


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


def clamp(y: float) -> float:
    """A value plotext can scale without overflowing (LRs of 1e300 and losses of 1e308 exist)."""
    return max(-DRAW_LIMIT, min(DRAW_LIMIT, y))


def power_label(t: float, digits: int) -> str:
    """10**t written out, for any t (10**t itself overflows past 308)."""
    exponent = math.floor(t)
    mantissa = 10 ** (t - exponent)
    if mantissa >= 9.995:
        mantissa, exponent = 1.0, exponent + 1
    if -4 <= exponent < 6 and digits > 1:
        return f"{mantissa * 10.0**exponent:.{digits}g}"
    return f"{mantissa:.{max(0, digits - 1)}f}e{exponent:+03d}"


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
        return ticks, [power_label(t, 1) for t in ticks]
    low, high = min(ys), max(ys)  # a narrow range: evenly spaced ticks, labelled with real values
    if high - low < 1e-12:
        return [low], [power_label(low, 3)]
    ticks = [low + i * (high - low) / 4 for i in range(5)]
    return ticks, [power_label(t, 3) for t in ticks]


def plan_points(run: RunView, n: int) -> tuple[list[float], list[float]]:
    total = run.total_steps
    if run.plan is None or not total:
        return [], []
    xs = [1 + i * (total - 1) / max(1, n - 1) for i in range(n)]
    return xs, [run.planned_lr_at(round(x)) or 0.0 for x in xs]


def thin(items: list, limit: int = MARKS_DRAWN) -> list:
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


class Canvas:
    """One plot being built: lines in data units, log10 applied here (see `log_axis` for why
    not by plotext), y limits decided last."""

    def __init__(self, plot: PlotextPlot, log: bool) -> None:
        self.plot = plot
        self.plt = plot.plt
        self.log = log
        self.plt.clear_figure()
        self.dropped = 0

    def ys(self, xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
        """Points plotext can draw: finite, within a float's comfortable range, and positive on
        a log axis (where they are drawn as their log10)."""
        keep = [(x, clamp(y)) for x, y in zip(xs, ys, strict=True) if math.isfinite(x) and math.isfinite(y)]
        xs, ys = [x for x, _ in keep], [y for _, y in keep]
        if not self.log:
            return xs, ys
        xs, ys, dropped = positive_only(xs, ys)
        self.dropped += dropped
        return xs, [math.log10(y) for y in ys]

    def line(self, xs: list[float], ys: list[float], color: int, marker: str = "hd") -> None:
        xs, ys = self.ys(xs, ys)
        if xs:
            self.plt.plot(xs, ys, color=color, marker=marker)

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
    canvas: Canvas,
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


def val_line(canvas: Canvas, run: RunView, axis: str, color: int) -> list[float]:
    """The run's validation losses, one point per evaluation, joined; the values drawn."""
    if not run.val_losses:
        return []
    steps = [float(step) for step, _ in run.val_losses]
    values = [loss for _, loss in run.val_losses]
    canvas.line(x_values(run, steps, axis), values, color, marker="dot")
    return [v for v in values if math.isfinite(v)]
