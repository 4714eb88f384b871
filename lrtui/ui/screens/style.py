"""How charts look and what they show: the options every chart screen shares, the colours
and line styles that tell runs apart, and the legend above a chart."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text

from lrtui.state.traces import SMOOTHING, auto_smoothing

# 256-colour codes, read the same by plotext and Rich, so the legend matches the lines: ten
# that differ in hue, then again with another line style (run 11 is run 1's colour, dotted).
PALETTE = [51, 208, 118, 201, 33, 196, 226, 141, 255, 180]
LIGHT_PALETTE = [25, 166, 28, 127, 160, 30, 94, 91, 236, 136]  # the same hues, readable on white
STYLES = (("braille", "⠉⠉"), ("dot", "••"), ("+", "++"), ("x", "xx"))  # plotext marker, legend sample
PLAN_COLOR, LR_COLOR, LOSS_COLOR = 245, 51, 208
RAW_COLOR, ENVELOPE_COLOR, MARK_COLOR, EPOCH_COLOR = 240, 94, 141, 238
VAL_COLOR = 46


@dataclass
class ChartOptions:
    """How charts draw, shared by every chart screen of the app (one x axis for all)."""

    smoothing: int | None = None  # index into SMOOTHING; None: chosen by the run's length
    envelope: bool = False
    x_axis: str = "step"
    log_y: bool = False
    log_x: bool = False  # against the LR, a log axis unless this asks for linear
    series: str = "loss"  # the lower chart: the loss, or another scalar the runs log
    hidden: set[int] = field(default_factory=set)  # compare: runs switched off
    baseline: int | None = None  # compare: the run the others' loss is drawn against
    query: str = ""  # compare: only runs whose name or setup has every word of it

    def index_for(self, steps: int) -> int:
        return self.smoothing if self.smoothing is not None else auto_smoothing(steps)

    def weight_for(self, steps: int) -> float:
        return SMOOTHING[self.index_for(steps)]

    @property
    def x_log(self) -> bool:
        """Whether the x axis is logarithmic: by default only against the LR."""
        return self.log_x != (self.x_axis == "lr")

    def key(self) -> tuple:
        return (
            self.smoothing,
            self.envelope,
            self.x_axis,
            self.log_y,
            self.log_x,
            self.series,
            frozenset(self.hidden),
            self.baseline,
            self.query,
        )


def rich_color(code: int) -> str:
    return f"color({code})"


def palette(dark: bool) -> list[int]:
    return PALETTE if dark else LIGHT_PALETTE


def run_style(index: int, dark: bool = True) -> tuple[int, str, str]:
    """(colour, plotext marker, legend sample) of the `index`th run: every run its own pair."""
    colors = palette(dark)
    marker, sample = STYLES[(index // len(colors)) % len(STYLES)]
    return colors[index % len(colors)], marker, sample


@dataclass(frozen=True)
class Entry:
    """One legend entry: a sample of the line in its colour, then the name."""

    name: str
    color: str
    sample: str = "━━"
    style: str = "bold"


def legend(entries: list[Entry], width: int = 0) -> Text:
    """A legend above the chart (plotext's own covers the start of the lines); within `width`
    a line breaks between entries, never inside a name."""
    out = Text(no_wrap=True, overflow="ellipsis")
    used = 0
    for entry in entries:
        piece = Text.assemble((entry.sample + " ", entry.color), (entry.name, entry.style))
        if used and width and used + 3 + piece.cell_len > width:
            out.append("\n")
            used = 0
        elif used:
            out.append("   ")
            used += 3
        out.append_text(piece)
        used += piece.cell_len
    return out
