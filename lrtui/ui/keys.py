"""Every key of the app, once: the footers, the help screen and the command palette are built
from this list, so none of them can miss an action or describe it differently.

Each entry is one row of help. `scope` says where its bindings live: the app (every screen),
the chart screens or the leaderboard. An entry with a palette title is also a command in the
palette while its scope is on screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    shown: str  # the key as help writes it
    what: str  # what it does, for help and the palette
    scope: str = "app"  # "app", "chart", "compare" (which has the chart's keys too) or "board"
    binds: tuple[tuple[str, str, str], ...] = ()  # (key, action, footer label; "" = not in footer)
    palette: str = ""  # the palette's title for it; "" = not in the palette
    viewing: tuple[str, str, str] = ("", "", "")  # in `lrtui watch`: what, footer label, palette

    def words(self, viewing: bool) -> tuple[str, str, str]:
        """(what, footer label, palette title): a viewer freezes and re-reads where a trainer
        pauses and restarts."""
        label = self.binds[0][2] if self.binds else ""
        what, view_label, palette = self.viewing
        if not viewing or not what:
            return self.what, label, self.palette
        return what, view_label or label, palette or self.palette


def _digits(action: str = "focus_run") -> tuple[tuple[str, str, str], ...]:
    return tuple((str(n), f"{action}({n - 1})", "") for n in range(1, 10))


BACK = Key("escape", "back", "screen", (("escape", "app.pop_screen", "Back"),))

KEYS: tuple[Key, ...] = (
    Key(
        "space",
        "pause or resume every run",
        "app",
        (("space", "toggle_all", "Pause all"),),
        "Pause or resume all",
        ("freeze or follow every run's file", "Freeze all", "Freeze or follow all"),
    ),
    Key(
        "p",
        "pause or resume the focused run",
        "app",
        (("p", "toggle_focused", ""),),
        "Pause or resume run",
        ("freeze or follow the focused run's file", "", "Freeze or follow run"),
    ),
    Key("tab / shift+tab", "focus the next / previous run"),
    Key(
        "arrows",
        "move the focus across the grid",
        "app",
        tuple(
            (k, f"move({dx}, {dy})", "")
            for k, dx, dy in (("left", -1, 0), ("right", 1, 0), ("up", 0, -1), ("down", 0, 1))
        ),
    ),
    Key("1-9", "focus run 1-9", "app", _digits()),
    Key(
        "r",
        "restart the focused run",
        "app",
        (("r", "restart_focused", ""),),
        "Restart run",
        ("re-read the focused run's file from its start", "", "Re-read run"),
    ),
    Key(
        "R",
        "restart every run",
        "app",
        (("R", "restart_all", ""),),
        "Restart all",
        ("re-read every file from its start", "", "Re-read all"),
    ),
    Key(
        "y",
        "panels: one LR scale for all / each its own",
        "app",
        (("y", "one_lr_scale", ""),),
        "Panels: one LR scale for all",
    ),
    Key("enter", "full chart of the focused run", "app", (("enter", "open_chart", "Chart"),), "Open chart"),
    Key(
        "c",
        "compare: every run's LR and loss on shared axes",
        "app",
        (("c", "compare", "Compare"),),
        "Compare runs",
    ),
    Key("b", "leaderboard: the runs ranked", "app", (("b", "leaderboard", "Leaderboard"),), "Leaderboard"),
    Key("k", "ranks: step time per rank, stragglers", "app", (("k", "ranks", ""),), "Ranks of DDP runs"),
    Key("l", "chart: log / linear y axis", "chart", (("l", "toggle_log", "Log y"),), "Chart: log / linear y"),
    Key(
        "s / S",
        "chart: smooth the loss more / less",
        "chart",
        (("s", "smoothing(1)", "Smoother"), ("S", "smoothing(-1)", "Less smooth")),
        "Chart: smooth the loss more",
    ),
    Key(
        "e",
        "chart: min/max envelope of the loss",
        "chart",
        (("e", "toggle_envelope", "Min/max"),),
        "Chart: min/max envelope",
    ),
    Key(
        "P",
        "pin the focused run as compare's baseline",
        "app",
        (("P", "pin_baseline", ""),),
        "Pin run as baseline",
    ),
    Key(
        "x",
        "chart: x axis step / epoch / seconds / LR",
        "chart",
        (("x", "next_axis", "X axis"),),
        "Chart: next x axis",
    ),
    Key("X", "chart: log / linear x axis", "chart", (("X", "toggle_log_x", ""),), "Chart: log / linear x"),
    Key(
        "t",
        "chart: loss, or another scalar the runs log",
        "chart",
        (("t", "next_series", "Scalar"),),
        "Chart: next logged scalar",
    ),
    Key("1-9", "compare: show / hide run 1-9", "compare", _digits("toggle_run")),
    Key(
        "a",
        "compare: show every run, clear the filter",
        "compare",
        (("a", "show_all", ""),),
        "Compare: show all",
    ),
    Key(
        "P",
        "compare: next baseline (others drawn less it)",
        "compare",
        (("P", "next_baseline", "Baseline"),),
        "Compare: next baseline",
    ),
    Key(
        "/",
        "compare: filter runs by name or setup",
        "compare",
        (("slash", "filter", "Filter"),),
        "Compare: filter runs",
    ),
    Key(
        "f b a t v",
        "leaderboard: by final, best, area, threshold, val",
        "board",
        (
            ("f", "sort('final')", "By final"),
            ("b", "sort('best')", "By best"),
            ("a", "sort('area')", "By area"),
            ("t", "sort('reach')", "By threshold"),
            ("v", "sort('val')", "By val"),
        ),
    ),
    BACK,
    Key(
        "F / N",
        "forecast: the fit / its best schedule",
        "app",
        (("F", "forecast", ""), ("N", "forecast(True)", "")),
        "Forecast: the fitted loss law",
    ),
    Key("ctrl+p", "command palette"),
    Key("?", "this help", "app", (("question_mark", "help", "Help"),), "Help"),
    Key("q", "quit", "app", (("q", "quit", "Quit"),)),
)

# Keys whose name is not what a footer should print.
_DISPLAY = {"question_mark": "?", "R": "R", "S": "S", "P": "P", "X": "X", "slash": "/"}
# Screens whose keys include another scope's: compare is a chart.
_INCLUDES = {"compare": ("chart", "compare")}


def bindings(scope: str, viewing: bool = False) -> list[Binding]:
    """The bindings of a scope, in help order; a screen's "back" leads its footer. The footer
    shows the few keys a newcomer needs (so `? Help` and `q Quit` fit 80 columns); help and
    the palette have every one."""
    scopes = _INCLUDES.get(scope, (scope,))
    entries = [k for k in KEYS if k.scope in scopes]
    if scope != "app":
        entries.insert(0, BACK)
    out = []
    for entry in entries:
        first_label = entry.words(viewing)[1]
        for n, (key, action, label) in enumerate(entry.binds):
            shown = first_label if n == 0 else label
            out.append(Binding(key, action, shown, show=bool(shown), key_display=_DISPLAY.get(key)))
    return out


def help_rows(viewing: bool = False) -> list[tuple[str, str]]:
    return [(k.shown, k.words(viewing)[0]) for k in KEYS]


def palette_entries(scope: str, viewing: bool = False) -> list[tuple[str, str, str]]:
    """(title, help, action) of the palette commands of a scope; the help names the key."""
    out = []
    for k in KEYS:
        what, _, title = k.words(viewing)
        if k.scope in _INCLUDES.get(scope, (scope,)) and title:
            out.append((title, f"{what[0].upper()}{what[1:]} ({k.shown})", k.binds[0][1]))
    return out
