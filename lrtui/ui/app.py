"""The Textual app: a grid of run panels fed by a source running in a worker thread.

Events arrive in batches on an asyncio queue (filled thread-safely from the worker); a timer
drains the queue into `ExperimentState` and redraws what changed at a bounded rate. Keys
become commands to the source; the screen shows their effect on the next frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.screen import Screen
from textual.widgets import Footer

from lrtui.spec.commands import Command, Source, Verb
from lrtui.spec.events import Event, RunInfo, Sink
from lrtui.state.groups import members, views
from lrtui.state.runs import ExperimentState
from lrtui.ui import forecasting
from lrtui.ui.exitcode import failure_of
from lrtui.ui.grid import RunGrid
from lrtui.ui.keys import bindings, palette_entries
from lrtui.ui.screens.charts import ChartBase, RunChartScreen
from lrtui.ui.screens.compare import CompareScreen
from lrtui.ui.screens.help import HelpScreen
from lrtui.ui.screens.leaderboard import LeaderboardScreen
from lrtui.ui.screens.live import LiveScreen
from lrtui.ui.screens.ranks import RanksScreen
from lrtui.ui.screens.style import ChartOptions
from lrtui.ui.signals import listen_for_signals
from lrtui.ui.widgets.lines import shared_lr_scale
from lrtui.ui.widgets.machine import MachineBar
from lrtui.ui.widgets.panel import RunPanel
from lrtui.ui.widgets.statusbar import StatusBar

SourceFactory = Callable[[Sink], Source]

FRAME_HZ = 10  # the queue is drained this often; state changes (pause, done) show on the next frame
PANEL_EVERY = 10  # panels redraw their numbers and lines every 10th frame (once a second), all at once
CHART_EVERY = 3  # charts likewise: plotext is the costly part
COMMAND_ECHO_SECONDS = 0.02
GIL_SWITCH_SECONDS = 0.001
FULL_GC_SECONDS = 30


class LrTuiApp(App[int]):
    CSS_PATH = Path(__file__).with_name("lrtui.tcss")
    TITLE = "lrtui"
    BINDINGS = bindings("app")

    def __init__(
        self,
        infos: Sequence[RunInfo],
        source_factory: SourceFactory,
        *,
        source_label: str,
        clock: Callable[[], float] = time.monotonic,
        threshold: float | None = None,
        show_tracebacks: bool = False,
        side_sources: Sequence[SourceFactory] = (),
        viewing: bool = False,
    ) -> None:
        super().__init__()
        self.viewing = viewing  # watching files: keys freeze and re-read views
        self.fatal = ""  # why the source could not go on (the app ended with code 2)
        self.hung_up = threading.Event()  # the terminal went away (SIGHUP)
        self.show_tracebacks = show_tracebacks
        self._side_factories = list(side_sources)  # e.g. the machine's figures, beside training
        self._side: list[Source] = []
        self.chart_options = ChartOptions()  # one x axis and smoothing for every chart
        self.one_lr_scale = False  # panels draw the LR on one scale, for reading across them
        self.threshold = threshold
        self.state = ExperimentState(infos, clock)
        self.forecast = forecasting.LiveForecast()  # refitted on its own thread as the runs train (`F`)
        self.offered: set[str] = set()  # suggested schedules added as runs: `N` adds each once
        self._source_factory = source_factory
        self._source_label = source_label
        self.source: Source | None = None
        self._queue: asyncio.Queue[list[Event]] = asyncio.Queue()
        self._switch_interval = sys.getswitchinterval()
        self._frame = 0
        self._gc_threshold = gc.get_threshold()
        # held, not queried: while a chart screen is on top, queries search that screen instead
        self.grid = RunGrid(id="grid")

    # ---- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield MachineBar(id="machines")
        with self.grid:
            for i, view in enumerate(views(self.state)):
                yield RunPanel(i, view, self.viewing)
        yield Footer()

    def on_mount(self) -> None:
        # The trainer thread holds the GIL between torch calls; each time the UI thread wakes it
        # waits for the switch interval (5 ms by default) to get it back, several times per key.
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        # torch and Textual leave ~300k long-lived objects: frozen, no collection scans them
        gc.freeze()
        # full collections (40-150 ms, keys waiting) every FULL_GC_SECONDS in `frame`, not ~1/s
        gc.set_threshold(self._gc_threshold[0], self._gc_threshold[1], 1_000_000)
        loop = asyncio.get_running_loop()
        listen_for_signals(loop, self.action_quit, self.call_next, self.hung_up)

        def sink(batch: list[Event]) -> None:  # called on the worker thread
            with contextlib.suppress(RuntimeError):  # the app has closed: nobody is watching
                loop.call_soon_threadsafe(self._queue.put_nowait, batch)

        self.source = self._source_factory(sink)
        self._side = [factory(sink) for factory in self._side_factories]
        for side in self._side:
            self._run_side(side)
        self._status()
        self.set_interval(1 / FRAME_HZ, self.frame, name="frame")
        # the first screen is drawn before training takes the CPU: it shows at once, and
        # laying it out does not compete with the trainer for the GIL
        self.call_after_refresh(self._run_source)

    def _fatal_error(self) -> None:  # Textual's own, which prints a traceback: no public hook
        """An unhandled error ends the app with the terminal restored and, from the command,
        one line naming it (`failure`); `show_tracebacks` keeps Textual's traceback."""
        if self.show_tracebacks:
            super()._fatal_error()
            return
        self.bell()
        self.panic()  # closes the app as Textual's own report does, with nothing to print

    @property
    def failure(self) -> BaseException | None:
        """The error that ended the app, if one did."""
        return failure_of(self)

    def panels(self) -> list[RunPanel]:
        return [w for w in self.grid.children if isinstance(w, RunPanel)]

    # ---- the worker and the frame -------------------------------------------------------
    @work(thread=True, exclusive=True, group="source", exit_on_error=False)
    def _run_source(self) -> None:
        assert self.source is not None
        self.source.run()

    @work(thread=True, group="side", exit_on_error=False)
    def _run_side(self, source: Source) -> None:
        source.run()

    def frame(self) -> None:
        """Drain every waiting batch into state, then redraw what changed."""
        self._frame += 1
        if self._frame % (FRAME_HZ * FULL_GC_SECONDS) == 0:
            gc.collect()
        if not self.screen_stack:
            return  # the app is closing: a last tick of the timer finds no screen to draw
        self.drain(data=self._frame % PANEL_EVERY == 0)
        # a screen just pushed is on the stack before it has composed: it draws itself on mount
        screen = self.screen
        if isinstance(screen, LiveScreen) and screen.is_mounted and self._frame % CHART_EVERY == 0:
            screen.redraw()

    def drain(self, data: bool = True) -> None:
        """Apply waiting events; redraw panels whose state changed, and with `data` all panels.

        All panels redraw in the same frame, so side by side they always show the same moment.
        """
        batches = []
        while not self._queue.empty():
            batches.append(self._queue.get_nowait())
        for batch in batches:
            self.state.apply(batch)
        if self.state.fatal and not self.fatal:  # the source cannot go on: the command prints why
            self.fatal = self.state.fatal
            self.exit(return_code=2)
        self._add_panels()
        panels = self.panels()
        if data or batches:
            scale = shared_lr_scale(views(self.state)) if self.one_lr_scale else None
            for panel in panels:
                panel.share_lr_scale(scale)
        if data:
            forecasting.refresh(self.forecast, views(self.state), panels)
        for panel in panels:
            panel.sync(data=data)
        if data:
            self._status()

    def _add_panels(self) -> None:
        """Runs that appeared since the last frame (watched files) get panels."""
        grid = self.grid
        have = len(grid.children)
        shown = views(self.state)
        if have == len(shown):
            return
        grid.mount_all(RunPanel(i, shown[i], self.viewing) for i in range(have, len(shown)))
        grid.relayout()

    def _status(self) -> None:
        bar = self.query_one_optional("#status", StatusBar)
        if bar is not None:
            bar.show(self.state, self._source_label, self.viewing)
        machines = self.query_one_optional("#machines", MachineBar)
        if machines is not None and self.state.machines:
            machines.show(self.state.machines)

    # ---- keys ---------------------------------------------------------------------------
    def focused_run(self) -> int | None:
        focused = self.focused
        return focused.index if isinstance(focused, RunPanel) else None

    def _command(self, verb: Verb, run: int | None) -> None:
        if self.source is None:
            return
        for member in [None] if run is None else members(self.state, run):  # a schedule: its seeds
            self.source.send(Command(verb, member))
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
        self._command(Verb.TOGGLE, run)
        for member in [None] if run is None else members(self.state, run):
            self.state.expect_toggle(member)  # shown now; the source's own status events confirm it
        self.drain(data=False)

    def action_restart_focused(self) -> None:
        run = self.focused_run()
        if run is not None:
            self._command(Verb.RESTART, run)

    def action_restart_all(self) -> None:
        self._command(Verb.RESTART, None)

    def action_one_lr_scale(self) -> None:
        """Every panel's LR on one scale (log if any needs it), or each on its own."""
        self.one_lr_scale = not self.one_lr_scale
        self.drain()
        self.notify("one LR scale for every panel" if self.one_lr_scale else "each panel's own LR scale")

    def action_pin_baseline(self) -> None:
        """The focused run becomes compare's baseline (pressed again on it: none)."""
        run, options = self.focused_run(), self.chart_options
        if run is not None:
            options.baseline = None if options.baseline == run else run
            label = views(self.state)[run].info.label
            said = f"compare against {label}" if options.baseline is not None else "no baseline"
            self.notify(said, markup=False)  # a name from a file is never markup

    def action_focus_run(self, index: int) -> None:
        panels = self.panels()
        if 0 <= index < len(panels) and not isinstance(self.screen, ChartBase):
            self.set_focus(panels[index])  # at once: a digit then enter opens that digit's run

    def action_move(self, dx: int, dy: int) -> None:
        panels = self.panels()
        current = self.focused_run()
        if not panels or current is None:
            return
        target = current + dx + dy * self.grid.columns
        if 0 <= target < len(panels):
            panels[target].focus()

    def action_open_chart(self) -> None:
        run = self.focused_run()
        if run is not None:
            self.push_screen(RunChartScreen(self.state, run, self.chart_options, self.forecast))

    def action_compare(self) -> None:
        if not isinstance(self.screen, CompareScreen):
            self.push_screen(CompareScreen(self.state, self.chart_options))

    def action_leaderboard(self) -> None:
        if not isinstance(self.screen, LeaderboardScreen):
            self.push_screen(LeaderboardScreen(self.state, self.threshold, self.forecast))

    def action_forecast(self, suggest: bool = False) -> None:
        forecasting.show(self, self.forecast, views(self.state) if suggest else None)

    def action_ranks(self) -> None:
        if not isinstance(self.screen, RanksScreen):
            self.push_screen(RanksScreen(self.state))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.viewing))

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save an SVG of the screen to ~/Downloads, or to the working directory where that
        does not exist, and say where."""
        downloads = Path.home() / "Downloads"
        folder = path or (str(downloads) if downloads.is_dir() else str(Path.cwd()))
        saved = self.save_screenshot(filename, folder)
        self.notify(f"saved {saved}", title="Screenshot", markup=False)

    async def action_quit(self) -> None:
        self.stop_source()
        self.exit(0)

    def stop_source(self) -> None:
        for source in [self.source, *self._side]:
            if source is not None:
                source.send(Command(Verb.STOP))

    def on_unmount(self) -> None:
        self.stop_source()
        sys.setswitchinterval(self._switch_interval)
        gc.set_threshold(*self._gc_threshold)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own commands, then every action of the key list that works here: the
        app's, and those of the screen on top (a chart's options, the leaderboard's order)."""
        yield from super().get_system_commands(screen)
        targets: list[tuple[str, object]] = [("app", self)]
        scope = getattr(screen, "SCOPE", None)
        if scope is not None:
            targets.append((scope, screen))
        for scope_name, target in targets:
            for title, help_text, action in palette_entries(scope_name, self.viewing):
                yield SystemCommand(title, help_text, partial(target.run_action, action))  # type: ignore[attr-defined]


class WatchApp(LrTuiApp):
    """`lrtui watch`: the same app, its keys and states named for viewing files (freeze,
    re-read), since nothing a viewer does pauses or restarts a run."""

    BINDINGS = bindings("app", viewing=True)

    def __init__(self, infos: Sequence[RunInfo], source_factory: SourceFactory, **kw) -> None:
        super().__init__(infos, source_factory, viewing=True, **kw)
