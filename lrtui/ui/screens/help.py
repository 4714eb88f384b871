"""`?`: every key, on top of whatever screen is showing (rows from the one key list)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from lrtui.ui.keys import help_rows


class HelpScreen(ModalScreen[None]):
    # a modal screen hides the app's keys: q is bound here too, to quit as everywhere
    BINDINGS = [Binding("escape,question_mark", "app.pop_screen", "Close"), Binding("q", "app.quit", "Quit")]
    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen #help {
        width: 76;  /* the keys table, its padding and the scrollbar */
        height: auto;
        max-height: 100%;  /* every row at 120x40; a smaller terminal scrolls */
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen #help DataTable {
        height: auto;
    }
    HelpScreen #help-title {
        padding: 0 0 1 0;
    }
    HelpScreen #help-note {
        color: $text-muted;
        padding: 1 0 0 0;
    }
    """

    def __init__(self, viewing: bool = False) -> None:
        super().__init__()
        self.viewing = viewing  # `lrtui watch`: freeze and re-read, not pause and restart

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):  # taller than a small terminal: it scrolls, never cuts
            yield Static("[b]lrtui keys[/b]", id="help-title")
            table: DataTable = DataTable(show_cursor=False, zebra_stripes=True)
            table.can_focus = False  # the box takes the keys: up, down, page keys scroll it
            table.add_columns("key", "what it does")
            for key, what in help_rows(self.viewing):
                table.add_row(f"[b]{key}[/b]", what)
            yield table
            yield Static(
                "The bright part of an LR line is trained; the dim part is the plan the scheduler "
                "will follow (schedules that follow the loss have no plan).",
                id="help-note",
            )
