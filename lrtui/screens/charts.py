"""Full plotext charts: one run in detail, or every run overlaid on shared axes."""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual_plotext import PlotextPlot

from lrtui.state import ExperimentState, RunView

POINTS = 400  # per line: enough for any terminal width, cheap for plotext
MAX_MARKS = 40
# 256-colour codes, read the same by plotext and Rich, so the legend matches the lines.
PALETTE = [51, 208, 118, 201, 33, 196, 226, 141, 215, 87, 156, 219, 110, 255, 245]
PLAN_COLOR, LR_COLOR, LOSS_COLOR = 245, 51, 208


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


def _marks(run: RunView) -> list[int]:
    ends = run.epoch_ends
    if len(ends) <= MAX_MARKS:
        return ends
    stride = math.ceil(len(ends) / MAX_MARKS)
    return ends[stride - 1 :: stride]


class _ChartBase(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("l", "toggle_log", "Log y"),
    ]

    def __init__(self, state: ExperimentState) -> None:
        super().__init__()
        self.state = state
        self.log_y = False
        self._seen: tuple[int, ...] = ()
        self._log_values: list[float] = []

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
        self.log_y = not self.log_y
        self.redraw(force=True)

    def versions(self) -> tuple[int, ...]:
        return tuple(r.version for r in self.state.runs)

    def redraw(self, force: bool = False) -> None:
        now = (*self.versions(), self.log_y)
        if not force and now == self._seen:
            return
        self._seen = now
        self.draw()

    def draw(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _line(self, plot: PlotextPlot, xs: list[float], ys: list[float], color: int, log: bool) -> None:
        if log:
            ys = [math.log10(y) for y in ys]
            self._log_values.extend(ys)
        plot.plt.plot(xs, ys, color=color, marker="hd")

    def _axes(self, plot: PlotextPlot, title: str, ylabel: str, log: bool, note: str = "") -> None:
        plt = plot.plt
        plt.title(title + (f"  ({note})" if note else ""))
        plt.xlabel("step")
        plt.ylabel(ylabel)
        if log:
            ticks, labels = log_axis(self._log_values)
            if ticks:
                plt.yticks(ticks, labels)
        self._log_values = []
        plot.refresh()


class RunChartScreen(_ChartBase):
    """enter: LR and loss of one run against step, with epoch boundaries marked."""

    def __init__(self, state: ExperimentState, index: int) -> None:
        super().__init__(state)
        self.index = index

    def title_text(self) -> Text:
        run = self.state.runs[self.index]
        return Text.assemble((run.info.label, "bold"), " — ", run.info.detail)

    def legend_entries(self) -> list[tuple[str, str]]:
        return [
            ("LR trained", rich_color(LR_COLOR)),
            ("LR planned", rich_color(PLAN_COLOR)),
            ("loss", rich_color(LOSS_COLOR)),
        ]

    def draw(self) -> None:
        run = self.state.runs[self.index]
        log = self.log_y
        for plot_id, series, what in (
            ("#lr-chart", run.lr_series, "LR"),
            ("#loss-chart", run.loss_series, "loss"),
        ):
            plot = self.query_one(plot_id, PlotextPlot)
            plt = plot.plt
            plt.clear_figure()
            xs, ys = series.points(POINTS)
            dropped = 0
            if what == "LR":
                px, py = plan_points(run, POINTS)
                if log:
                    px, py, _ = positive_only(px, py)
                if px:
                    self._line(plot, px, py, PLAN_COLOR, log)
            if log:
                xs, ys, dropped = positive_only(xs, ys)
            if xs:
                self._line(plot, xs, ys, LR_COLOR if what == "LR" else LOSS_COLOR, log)
            for step in _marks(run):
                plt.vline(step, 240)
            plt.xlim(1, max(2, run.total_steps or run.step))  # both charts span the whole run
            note = f"{dropped} points <= 0 hidden" if dropped else ""
            scale = "log" if log else "linear"
            self._axes(plot, f"{what} · {scale} · epoch ends marked", what, log, note)


class CompareScreen(_ChartBase):
    """c: every run's LR, and every run's loss, overlaid on shared axes with a legend."""

    def title_text(self) -> Text:
        return Text.assemble(("Compare", "bold"), " — every run on shared axes")

    def legend_entries(self) -> list[tuple[str, str]]:
        return [(r.info.label, rich_color(PALETTE[i % len(PALETTE)])) for i, r in enumerate(self.state.runs)]

    def draw(self) -> None:
        log = self.log_y
        for plot_id, what in (("#lr-chart", "LR"), ("#loss-chart", "loss")):
            plot = self.query_one(plot_id, PlotextPlot)
            plt = plot.plt
            plt.clear_figure()
            dropped = 0
            for i, run in enumerate(self.state.runs):
                series = run.lr_series if what == "LR" else run.loss_series
                xs, ys = series.points(POINTS)
                if log:
                    xs, ys, d = positive_only(xs, ys)
                    dropped += d
                if xs:
                    self._line(plot, xs, ys, PALETTE[i % len(PALETTE)], log)
            note = f"{dropped} points <= 0 hidden" if dropped else ""
            self._axes(plot, f"{what} of every run · {'log' if log else 'linear'}", what, log, note)
