"""The Textual app: a grid of run panels fed by a source running in a worker thread.

Events arrive in batches on an asyncio queue (filled thread-safely from the worker); a timer
drains the queue into `ExperimentState` and redraws what changed at a bounded rate. Keys
become commands to the source; the screen shows their effect on the next frame.
"""

from __future__ import annotations

import asyncio
import gc
import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer

from lrtui.events import Event, RunInfo
from lrtui.screens.charts import ChartOptions, CompareScreen, RunChartScreen, _ChartBase
from lrtui.screens.help import HelpScreen
from lrtui.screens.leaderboard import LeaderboardScreen
from lrtui.sources import Source, SourceFactory
from lrtui.state import ExperimentState
from lrtui.widgets.panel import RunPanel
from lrtui.widgets.statusbar import StatusBar

FRAME_HZ = 10  # the queue is drained this often; state changes (pause, done) show on the next frame
PANEL_EVERY = 10  # panels redraw their numbers and lines every 10th frame (once a second), all at once
CHART_EVERY = 3  # charts likewise: plotext is the costly part
COMMAND_ECHO_SECONDS = 0.02
GIL_SWITCH_SECONDS = 0.001

MIN_PANEL_WIDTH = 38
MIN_PANEL_HEIGHT = 7


class RunGrid(VerticalScroll, can_focus=False):
    """Panels in as many columns as fit; rows share the height, scrolling past a minimum.

    The panels take the focus, not the grid: it scrolls to whichever panel has it.
    """

    columns = 1

    def on_resize(self, event: events.Resize) -> None:
        self.relayout(event.size.width, event.size.height)

    def relayout(self, width: int | None = None, height: int | None = None) -> None:
        width = self.size.width if width is None else width
        height = self.size.height if height is None else height
        n = max(1, len(self.children))
        cols = max(1, min(n, width // MIN_PANEL_WIDTH))
        rows = math.ceil(n / cols)
        self.styles.grid_size_columns = cols
        self.styles.grid_rows = str(max(MIN_PANEL_HEIGHT, height // rows))
        self.columns = cols


class LrTuiApp(App[int]):
    CSS_PATH = Path(__file__).with_name("lrtui.tcss")
    TITLE = "lrtui"
    BINDINGS = [
        Binding("space", "toggle_all", "Pause all"),
        Binding("p", "toggle_focused", "Pause run"),
        Binding("r", "restart_focused", "Restart run"),
        Binding("R", "restart_all", "Restart all", key_display="R"),
        Binding("enter", "open_chart", "Chart"),
        Binding("c", "compare", "Compare"),
        Binding("b", "leaderboard", "Leaderboard"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("left", "move(-1, 0)", show=False),
        Binding("right", "move(1, 0)", show=False),
        Binding("up", "move(0, -1)", show=False),
        Binding("down", "move(0, 1)", show=False),
        *[Binding(str(n), f"focus_run({n - 1})", show=False) for n in range(1, 10)],
    ]

    def __init__(
        self,
        infos: Sequence[RunInfo],
        source_factory: SourceFactory,
        *,
        source_label: str,
        clock: Callable[[], float] = time.monotonic,
        threshold: float | None = None,
    ) -> None:
        super().__init__()
        self.chart_options = ChartOptions()  # one x axis and smoothing for every chart
        self.threshold = threshold
        self.state = ExperimentState(infos, clock)
        self._source_factory = source_factory
        self._source_label = source_label
        self.source: Source | None = None
        self._queue: asyncio.Queue[list[Event]] = asyncio.Queue()
        self._switch_interval = sys.getswitchinterval()
        self._frame = 0
        # held, not queried: while a chart screen is on top, queries search that screen instead
        self.grid = RunGrid(id="grid")

    # ---- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with self.grid:
            for i, view in enumerate(self.state.runs):
                yield RunPanel(i, view)
        yield Footer()

    def on_mount(self) -> None:
        # The trainer thread holds the GIL between torch calls; each time the UI thread wakes it
        # waits for the switch interval (5 ms by default) to get it back, several times per key.
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        # torch and Textual leave ~300k long-lived objects; a full collection that scans them
        # stops both threads for 100-200 ms. Frozen, they are left out of every collection.
        gc.freeze()
        loop = asyncio.get_running_loop()

        def sink(batch: list[Event]) -> None:  # called on the worker thread
            loop.call_soon_threadsafe(self._queue.put_nowait, batch)

        self.source = self._source_factory(sink)
        self._status()
        self.set_interval(1 / FRAME_HZ, self.frame, name="frame")
        # the first screen is drawn before training takes the CPU: it shows at once, and
        # laying it out does not compete with the trainer for the GIL
        self.call_after_refresh(self._run_source)

    @property
    def _columns(self) -> int:
        return self.grid.columns

    def panels(self) -> list[RunPanel]:
        return [w for w in self.grid.children if isinstance(w, RunPanel)]

    # ---- the worker and the frame -------------------------------------------------------
    @work(thread=True, exclusive=True, group="source", exit_on_error=False)
    def _run_source(self) -> None:
        assert self.source is not None
        self.source.run()

    def frame(self) -> None:
        """Drain every waiting batch into state, then redraw what changed."""
        self._frame += 1
        self.drain(data=self._frame % PANEL_EVERY == 0)
        if isinstance(self.screen, (_ChartBase, LeaderboardScreen)) and self._frame % CHART_EVERY == 0:
            self.screen.redraw()

    def drain(self, data: bool = True) -> None:
        """Apply waiting events; redraw panels whose state changed, and with `data` all panels.

        All panels redraw in the same frame, so side by side they always show the same moment.
        """
        batches = []
        while not self._queue.empty():
            batches.append(self._queue.get_nowait())
        for batch in batches:
            self.state.apply(batch)
        self._add_panels()
        for panel in self.panels():
            panel.sync(data=data)
        if data:
            self._status()

    def _add_panels(self) -> None:
        """Runs that appeared since the last frame (watched files) get panels."""
        grid = self.grid
        have = len(grid.children)
        if have == len(self.state.runs):
            return
        grid.mount_all(RunPanel(i, self.state.runs[i]) for i in range(have, len(self.state.runs)))
        grid.relayout()

    def _status(self) -> None:
        bar = self.query_one_optional("#status", StatusBar)
        if bar is not None:
            bar.show(self.state, self._source_label)

    # ---- keys ---------------------------------------------------------------------------

    def focused_run(self) -> int | None:
        focused = self.focused
        return focused.index if isinstance(focused, RunPanel) else None

    def _command(self, verb: str, run: int | None) -> None:
        if self.source is None:
            return
        getattr(self.source, verb)(run)
        # the source answers within a step; show its state now rather than at the next regular
        # frame (new numbers wait for their frame, so a key never costs a full redraw twice)
        self.set_timer(COMMAND_ECHO_SECONDS, self._echo, name="echo")

    def _echo(self) -> None:
        self.drain(data=False)

    def action_toggle_all(self) -> None:
        self._toggle(None)

    def action_toggle_focused(self) -> None:
        run = self.focused_run()
        if run is not None:
            self._toggle(run)

    def _toggle(self, run: int | None) -> None:
        self._command("toggle_pause", run)
        self.state.expect_toggle(run)  # shown now; the source's own status events confirm it
        self.drain(data=False)

    def action_restart_focused(self) -> None:
        run = self.focused_run()
        if run is not None:
            self._command("restart", run)

    def action_restart_all(self) -> None:
        self._command("restart", None)

    def action_focus_run(self, index: int) -> None:
        panels = self.panels()
        if 0 <= index < len(panels) and not isinstance(self.screen, _ChartBase):
            panels[index].focus()

    def action_move(self, dx: int, dy: int) -> None:
        panels = self.panels()
        current = self.focused_run()
        if not panels or current is None:
            return
        target = current + dx + dy * self._columns
        if 0 <= target < len(panels):
            panels[target].focus()

    def action_open_chart(self) -> None:
        run = self.focused_run()
        if run is not None:
            self.push_screen(RunChartScreen(self.state, run, self.chart_options))

    def action_compare(self) -> None:
        if not isinstance(self.screen, CompareScreen):
            self.push_screen(CompareScreen(self.state, self.chart_options))

    def action_leaderboard(self) -> None:
        if not isinstance(self.screen, LeaderboardScreen):
            self.push_screen(LeaderboardScreen(self.state, self.threshold))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        self.stop_source()
        self.exit(0)

    def stop_source(self) -> None:
        if self.source is not None:
            self.source.stop()

    def on_unmount(self) -> None:
        self.stop_source()
        sys.setswitchinterval(self._switch_interval)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Pause or resume all", "Pause every run, or resume them (space)", self.action_toggle_all
        )
        yield SystemCommand("Pause or resume run", "The focused run only (p)", self.action_toggle_focused)
        yield SystemCommand(
            "Restart run", "Restart the focused run from its first step (r)", self.action_restart_focused
        )
        yield SystemCommand(
            "Restart all", "Restart every run from its first step (R)", self.action_restart_all
        )
        yield SystemCommand(
            "Open chart", "Full LR and loss chart of the focused run (enter)", self.action_open_chart
        )
        yield SystemCommand("Compare runs", "Every run's LR and loss on shared axes (c)", self.action_compare)
        yield SystemCommand(
            "Leaderboard",
            "Runs ranked by final, best, area and steps to threshold (b)",
            self.action_leaderboard,
        )
        yield SystemCommand("Keys", "Show every key (?)", self.action_help)
