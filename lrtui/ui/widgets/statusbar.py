"""The line at the top: what trains where, how fast, for how long, and in what state."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from lrtui.spec.commands import STALL_SECONDS
from lrtui.state.runs import ExperimentState

STATE_STYLE = {
    "running": "bold green",
    "paused": "bold yellow",
    "frozen": "bold yellow",
    "finished": "bold cyan",
    "failed": "bold red",
    "waiting": "dim",
}

MIN_SOURCE = 24  # cells the source keeps when the line is short of room


def fmt_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class StatusBar(Static):
    _notice_shown = ""
    _width_shown = 0
    DEFAULT_CSS = """
    StatusBar {
        height: auto;
        max-height: 4;  /* a notice of 200 characters at 80 columns, under the line */
        background: $panel;
        color: $text;
    }
    """

    def show(self, state: ExperimentState, source: str, viewing: bool = False) -> None:
        line = status_line(state, source, viewing, self.size.width)
        notice = state.notice
        # the source's own trouble (nothing to read here, recording stopped) has a line of its
        # own under the rest, wrapped rather than cut, as it says what to do
        shown = Group(line, Text(f" {notice}", style="bold red")) if notice else line
        # its height may change with the notice, and with the width the line was cut for (the
        # first line, drawn before layout, is cut for no width and measured two rows high)
        width = self.size.width
        self.update(shown, layout=notice != self._notice_shown or width != self._width_shown)
        self._notice_shown, self._width_shown = notice, width


def status_line(state: ExperimentState, source: str, viewing: bool = False, width: int = 0) -> Text:
    """The first line: the state (and a stuck trainer, first), what trains where, its speed,
    steps and time; in `width` cells the source gives way, so the counters stay in view."""
    overall = state.overall()
    if viewing and overall == "paused":
        overall = "frozen"  # a viewer's pause freezes the view, never the run
    parts: list[tuple[str, str] | str] = [
        (" lrtui ", "bold reverse"),
        " ",
        (f" {overall} ", STATE_STYLE.get(overall, "") + " reverse"),
        *_stall(state, viewing),
        f"  {source}",
        f"  {state.steps_per_second():,.0f} steps/s",
        f"  {sum(r.step for r in state.runs):,} steps",  # as the panels count: R starts again
        f"  {fmt_duration(state.elapsed())}",
    ]
    if state.corrupt_lines:
        parts.append((f"  {state.corrupt_lines} corrupt lines skipped", "yellow"))
    if width:
        at = parts.index(f"  {source}")
        parts[at] = "  " + shorten(source, width - _length(parts) + len(source))
    return Text.assemble(*parts, no_wrap=True, overflow="ellipsis")


def _stall(state: ExperimentState, viewing: bool) -> list[tuple[str, str]]:
    """Live, a trainer silent for long is said to be so, first: a silent `step 0` is
    otherwise indistinguishable from a slow start (a viewer's logs may rest for hours)."""
    stalled = 0.0 if viewing else state.stalled()
    if stalled < STALL_SECONDS:
        return []
    return [(f"  no step for {stalled:.0f} s — still in batches()/loss()?", "bold yellow")]


def _length(parts: list[tuple[str, str] | str]) -> int:
    return sum(len(p if isinstance(p, str) else p[0]) for p in parts)


def shorten(text: str, room: int, least: int = MIN_SOURCE) -> str:
    """`text` in `room` cells (never fewer than `least`: past that, the line's own `…` ends
    it), cut after a whole word where one ends in the second half, and marked `…`."""
    room = max(room, least)
    if len(text) <= room:
        return text
    cut = text[: room - 1]
    words = cut.rsplit(" ", 1)[0].rstrip(" ·:,(")
    return (words if len(words) >= room // 2 else cut) + "…"
