"""`?`: every key, on top of whatever screen is showing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

KEYS: list[tuple[str, str]] = [
    ("space", "pause or resume every run"),
    ("p", "pause or resume the focused run"),
    ("tab / shift+tab", "focus the next / previous run"),
    ("arrows", "move the focus across the grid"),
    ("1-9", "focus run 1-9"),
    ("r", "restart the focused run"),
    ("R", "restart every run"),
    ("enter", "full chart of the focused run"),
    ("c", "compare: every run's LR and loss on shared axes"),
    ("b", "leaderboard: the runs ranked"),
    ("l", "chart: log / linear y axis"),
    ("s / S", "chart: smooth the loss more / less"),
    ("e", "chart: min/max envelope of the loss"),
    ("x", "chart: x axis step / epoch / seconds"),
    ("f b a t", "leaderboard: by final, best, area, threshold"),
    ("escape", "back"),
    ("ctrl+p", "command palette"),
    ("?", "this help"),
    ("q", "quit"),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Static("[b]lrtui keys[/b]", id="help-title")
            table: DataTable = DataTable(show_cursor=False, zebra_stripes=True)
            table.add_columns("key", "what it does")
            for key, what in KEYS:
                table.add_row(f"[b]{key}[/b]", what)
            yield table
            yield Static(
                "The bright part of an LR line is trained; the dim part is the plan the scheduler "
                "will follow (schedules that follow the loss have no plan).",
                id="help-note",
            )
