"""The machines the runs train on: CPU, RAM and each GPU, one line per machine, under the
status bar; hidden until a source sends figures."""

from __future__ import annotations

import math

from rich.text import Text
from textual.widgets import Static

from lrtui.spec.events import SystemFigures
from lrtui.spec.text import clean

MAX_MACHINES = 3


def _pct(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:.0f}%"


def machine_line(f: SystemFigures) -> Text:
    parts: list[tuple[str, str] | str] = [(f" {clean(f.host, 30)} ", "bold")]
    if math.isfinite(f.cpu):
        parts += [("cpu ", "dim"), _pct(f.cpu), ("  ram ", "dim"), f"{f.ram_used:.1f}/{f.ram_total:.0f} GiB"]
    for g in f.gpus:
        hot = "bold red" if g.temp >= 85 else ""
        parts += [(f"  gpu{g.index} ", "dim"), _pct(g.util), f" {g.mem_used:.1f}/{g.mem_total:.0f} GiB"]
        parts += [(f" {g.temp:.0f}°C", hot), f" {g.power:.0f} W"]
    if f.note:
        parts.append((f"  {clean(f.note, 120)}", "yellow"))
    return Text.assemble(*parts, no_wrap=True, overflow="ellipsis")


class MachineBar(Static):
    DEFAULT_CSS = """
    MachineBar {
        height: auto;
        max-height: 4;
        background: $panel;
        display: none;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    MachineBar.-shown {
        display: block;
    }
    """

    def show(self, machines: dict[str, SystemFigures]) -> None:
        if not machines:
            return
        lines = [machine_line(f) for f in list(machines.values())[:MAX_MACHINES]]
        if len(machines) > MAX_MACHINES:
            lines.append(Text(f" and {len(machines) - MAX_MACHINES} more machines", style="dim"))
        self.add_class("-shown")
        self.update(Text("\n").join(lines), layout=True)
