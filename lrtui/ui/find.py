"""`lrtui find`: the LR range test, live: loss against LR on a log axis, smoothed over a faint
raw trace, and at the end the suggestions marked on the chart and written under it, with the
command to try them. Fed by callables from the entry point (which trains with torch); the view
never imports torch."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static
from textual_plotext import PlotextPlot

from lrtui.ui.screens.axes import power_label
from lrtui.ui.screens.canvas import ChartPlot
from lrtui.ui.screens.style import LOSS_COLOR, RAW_COLOR

RunTest = Callable[[Callable[[Any], None], Callable[[], bool]], Any]  # (on_step, stopped) -> result
Advice = Callable[[Any], list[str]]  # result -> the lines `lrtui find --headless` prints
SUGGESTION_COLORS = {"steepest": 46, "valley": 226, "min/10": 208}


class FindApp(App[int]):
    TITLE = "lrtui find"
    BINDINGS = [Binding("q,escape", "quit", "Quit")]
    DEFAULT_CSS = """
    FindApp #find-title { height: auto; padding: 0 1; background: $panel; }
    FindApp #find-advice { height: auto; padding: 0 1; background: $panel; display: none; }
    """

    def __init__(self, run_test: RunTest, suggest: Callable[[Any], Any], title: str, advise: Advice) -> None:
        super().__init__()
        self._run_test, self._suggest, self._title, self._advise = run_test, suggest, title, advise
        self.result: Any = None
        self.suggestions: Any = None
        self.advice: list[str] = []
        self.failure_text = ""
        self._quitting = False

    def compose(self) -> ComposeResult:
        yield Static(Text(self._title), id="find-title")
        yield ChartPlot(id="find-chart")
        yield Static(id="find-advice")  # the suggestions and the command, once the test ends
        yield Footer()

    def on_mount(self) -> None:
        self._test()

    @work(thread=True, exit_on_error=False)
    def _test(self) -> None:
        shown = [0]

        def on_step(result: Any) -> None:
            if len(result.lrs) - shown[0] >= 4:  # a redraw every few steps keeps the UI light
                shown[0] = len(result.lrs)
                self.call_from_thread(self._draw, result, None)

        try:
            result = self._run_test(on_step, lambda: self._quitting)
        except Exception as exc:  # shown, then the app ends with the error
            self.failure_text = str(exc)
            self.call_from_thread(self.exit, 2)
            return
        self.result, self.suggestions, self.advice = result, self._suggest(result), self._advise(result)
        self.call_from_thread(self._done, result)

    def action_quit(self) -> None:
        self._quitting = True
        self.exit(0)

    def _done(self, result: Any) -> None:
        """The suggestions marked on the chart and said under it, where they can be copied
        before quitting (they are printed again after the app ends)."""
        self._draw(result, self.suggestions)
        advice = self.query_one("#find-advice", Static)
        advice.update(Text("\n".join(self.advice) + "\nq: quit (the lines above are printed on exit)"))
        advice.display = True

    def _draw(self, result: Any, suggestions: Any) -> None:
        plot = self.query_one("#find-chart", PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        xs = [math.log10(lr) for lr in result.lrs]
        if xs:
            plt.plot(xs, result.losses, color=RAW_COLOR, marker="hd")
            plt.plot(xs, result.smoothed, color=LOSS_COLOR, marker="hd")
            ticks = list(range(math.floor(min(xs)), math.ceil(max(xs)) + 1))
            plt.xticks(ticks, [power_label(t, 1) for t in ticks])
            fit = [v for v in result.smoothed if math.isfinite(v)]
            if fit:
                lo, hi = min(fit), max(fit)
                plt.ylim(lo - 0.05 * (hi - lo + 1e-12), hi + 0.05 * (hi - lo + 1e-12))
        title = f"loss against LR (log) · {len(xs)} steps · raw grey, smoothed (EMA 0.98) orange"
        if suggestions is not None:
            for name, lr in (
                ("steepest", suggestions.steepest),
                ("valley", suggestions.valley),
                ("min/10", suggestions.min_tenth),
            ):
                if lr:
                    plt.vline(math.log10(lr), SUGGESTION_COLORS[name])
            title += " · steepest green, valley yellow, min/10 orange · q: done"
        plt.title(title + (f" · {result.stopped}" if result.stopped else ""))
        plt.xlabel("learning rate")
        plt.ylabel("loss")
        plot.refresh()
