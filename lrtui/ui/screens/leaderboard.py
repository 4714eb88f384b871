"""`b`: the runs ranked by final loss, best (smoothed) loss, area under the loss curve, steps
to a loss threshold and, where the task evaluates, the validation loss (then the default
order), with failed and blowing-up runs flagged. Updates live while training."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Static

from lrtui.state import leaderboard, seedboard
from lrtui.state.forecast import standings
from lrtui.state.forecast.live import LiveForecast
from lrtui.state.leaderboard import HEADERS, METRIC_TITLES, METRICS, Board, cells, headers, ties
from lrtui.state.runs import ExperimentState
from lrtui.ui.keys import bindings
from lrtui.ui.screens.live import LiveScreen


class LeaderboardScreen(LiveScreen):
    SCOPE = "board"
    BINDINGS = bindings("board")
    DEFAULT_CSS = """
    LeaderboardScreen #board-title, LeaderboardScreen #board-note, LeaderboardScreen #board-forecast {
        height: auto;
        padding: 0 1;
    }
    LeaderboardScreen #board-title {
        background: $panel;
    }
    LeaderboardScreen #board {
        height: auto;
        max-height: 1fr;
    }
    """

    def __init__(
        self, state: ExperimentState, threshold: float | None = None, forecast: LiveForecast | None = None
    ) -> None:
        super().__init__(state)
        self.threshold = threshold
        self.forecast = forecast  # the app's live forecast: where each run will end (`standings`)
        self.by: str | None = None  # None: the board's default (validation loss where there is one)
        self._seen: tuple = ()
        self._columns = HEADERS
        self._has_val = False
        self._forecast: dict[str, str] | None = None  # the forecast column's cells, by run

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="board-title")
            table: DataTable = DataTable(cursor_type="row", zebra_stripes=True, id="board")
            table.add_columns(*HEADERS)
            yield table
            yield Static(id="board-note")
            if self.forecast is not None and self.forecast.enabled:
                yield Static(id="board-forecast")
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`v` (by validation loss) is offered, in the footer too, only once a run has one."""
        if action == "sort" and parameters == ("val",):
            return any(r.val_losses for r in self.state.runs)
        return True

    def action_sort(self, metric: str) -> None:
        if metric in METRICS:
            self.by = metric
            self.redraw(force=True)

    def redraw(self, force: bool = False) -> None:
        answer = self.forecast.latest if self.forecast is not None else None
        now = (*(r.version for r in self.state.runs), self.by, id(answer))
        if not force and now == self._seen:
            return
        self._seen = now
        board = leaderboard.board(self.state.runs, self.by, self.threshold)
        self._forecast = None
        if self.forecast is not None and self.forecast.enabled:
            done = {s.label: s.final for s, r in zip(board.rows, self._runs(board), strict=True) if r}
            self._forecast = standings.cells(standings.standings(answer, done))
            self.query_one("#board-forecast", Static).update(Text("\n".join(standings.lines(answer, done))))
        if board.has_val != self._has_val:  # the first validation loss: `v` joins the footer
            self._has_val = board.has_val
            self.refresh_bindings()
        seeds = seedboard.seed_board(self.state.runs, board)
        if seeds is not None:
            self.show_seeds(seeds)
        else:
            self.show(board)

    def _runs(self, b: Board) -> list[bool]:
        """Whether each row's run has ended for good (its final is then observed, not forecast):
        a run stopped before its plan's end is ranked by where the forecast ends it, not by
        where it stopped (an added run stopped at step 338 of 1,200 ranked last, by its loss
        there); one that diverged or failed has ended whatever its step."""
        return [standings.ended(self.state.runs[s.index]) for s in b.rows]

    def _table(self, columns: list[str]) -> DataTable:
        table = self.query_one("#board", DataTable)
        table.clear(columns=columns != self._columns)
        if columns != self._columns:
            table.add_columns(*columns)
            self._columns = columns
        return table

    def show_seeds(self, sb: seedboard.SeedBoard) -> None:
        """One row per schedule: mean ± spread over its seeds, and whom it cannot be told from."""
        self.query_one("#board-title", Static).update(
            Text.assemble(
                ("Leaderboard", "bold"),
                f" of schedules over {sb.seeds} seeds — ranked by {METRIC_TITLES[sb.by]}; "
                "mean ± standard deviation",
            )
        )
        heads, *rows = seedboard.seed_table(sb)
        table = self._table(heads)
        for row, r in zip(rows, sb.rows, strict=True):
            table.add_row(*[Text(c, style="bold red" if r.flag else "") for c in row])
        self.query_one("#board-note", Static).update(Text(seedboard.WITHIN_NOTE))

    def show(self, b: Board) -> None:
        self.query_one("#board-title", Static).update(
            Text.assemble(
                ("Leaderboard", "bold"), f" — ranked by {METRIC_TITLES[b.by]}; (n) is each metric's rank"
            )
        )
        forecast = self._forecast
        table = self._table(headers(b) + ([standings.HEAD] if forecast is not None else []))
        tied = ties(b)
        for position, s in enumerate(b.rows, 1):
            row = cells(s, position, b.has_val, tied) + (
                [forecast.get(s.label, "—")] if forecast is not None else []
            )
            style = "bold red" if s.flag else ""
            table.add_row(*[Text(c, style=style) for c in row])
        thr = f"{b.threshold:.4f}" if b.threshold is not None else "none yet"
        how = "the loss every healthy run reached" if b.threshold_auto else "--loss-threshold"
        self.query_one("#board-note", Static).update(
            Text.assemble(
                ("final", "bold"),
                f" = mean loss over the last {leaderboard.FINAL_FRACTION:.0%} of steps · ",
                ("best", "bold"),
                " = lowest smoothed loss · ",
                ("area", "bold"),
                " = sum of the losses over the steps · ",
                ("threshold", "bold"),
                f" {thr} ({how}) · flagged: diverged (NaN), failed, or final loss over "
                f"{leaderboard.BLOWUP:g}x its best stretch of as many steps · (n=) ties",
                *((("  ·  " + b.caveat(), "bold yellow"),) if b.caveat() else ()),
            )
        )
