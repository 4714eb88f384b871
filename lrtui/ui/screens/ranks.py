"""`k`: the ranks of each run recorded from several ranks (DDP), side by side: steps, recent
step time and throughput, stragglers flagged with the figure that makes them one."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Static

from lrtui.spec.text import clean
from lrtui.state.ranks import STRAGGLER, WINDOW, rank_groups
from lrtui.state.runs import ExperimentState
from lrtui.ui.keys import bindings
from lrtui.ui.screens.live import LiveScreen

HEADERS = ("run", "rank", "steps", "step time", "steps/s", "")


class RanksScreen(LiveScreen):
    SCOPE = "ranks"
    BINDINGS = bindings("ranks")
    DEFAULT_CSS = """
    RanksScreen #ranks-title, RanksScreen #ranks-note { height: auto; padding: 0 1; }
    RanksScreen #ranks-title { background: $panel; }
    RanksScreen #ranks { height: auto; max-height: 1fr; }
    """

    def __init__(self, state: ExperimentState) -> None:
        super().__init__(state)
        self._seen: tuple = ()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text.assemble(("Ranks", "bold"), " — each rank of a run recorded with all_ranks=True"),
                id="ranks-title",
            )
            table: DataTable = DataTable(id="ranks", zebra_stripes=True, cursor_type="row")
            table.add_columns(*HEADERS)
            yield table
            yield Static(id="ranks-note")
        yield Footer()

    def redraw(self, force: bool = False) -> None:
        now = tuple(r.version for r in self.state.runs)
        if not force and now == self._seen:
            return
        self._seen = now
        groups = rank_groups(self.state.runs)
        table = self.query_one("#ranks", DataTable)
        table.clear()
        for group in groups:
            for row in group.rows:
                ms = f"{row.step_ms:.1f} ms" if row.step_ms else "—"
                rate = f"{row.steps_per_second:,.1f}" if row.steps_per_second else "—"
                style = "bold red" if row.flag else ""
                cells = [clean(group.name, 40), str(row.rank), f"{row.steps:,}", ms, rate, row.flag]
                table.add_row(*[Text(c, style=style) for c in cells])
        note = (
            f"step time: over each rank's last {WINDOW} steps · a straggler's is over "
            f"{STRAGGLER:g}x the median of its run's ranks"
            if groups
            else "No run has files from several ranks: record with RunRecorder(all_ranks=True) under DDP."
        )
        self.query_one("#ranks-note", Static).update(Text(note, style="dim"))
