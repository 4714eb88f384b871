"""The line at the top: what trains where, how fast, for how long, and in what state."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from lrtui.state.runs import ExperimentState

STATE_STYLE = {
    "running": "bold green",
    "paused": "bold yellow",
    "frozen": "bold yellow",
    "finished": "bold cyan",
    "waiting": "dim",
}


def fmt_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $text;
    }
    """

    def show(self, state: ExperimentState, source: str, viewing: bool = False) -> None:
        overall = state.overall()
        if viewing and overall == "paused":
            overall = "frozen"  # a viewer's pause freezes the view, never the run
        parts: list[tuple[str, str] | str] = [
            (" lrtui ", "bold reverse"),
            " ",
            (f" {overall} ", STATE_STYLE.get(overall, "") + " reverse"),
            f"  {source}",
            f"  {state.steps_per_second():,.0f} steps/s",
            f"  {sum(r.step for r in state.runs):,} steps",  # as the panels count: R starts again
            f"  {fmt_duration(state.elapsed())}",
        ]
        if state.corrupt_lines:
            parts.append((f"  {state.corrupt_lines} corrupt lines skipped", "yellow"))
        if state.notice:
            parts.append((f"  {state.notice}", "bold red"))
        self.update(Text.assemble(*parts, no_wrap=True, overflow="ellipsis"), layout=False)
