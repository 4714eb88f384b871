"""One run's panel: name and setup (its title), state, progress, current values, LR and loss
sparklines with their scales.

The whole panel is one widget drawing its lines in `render()`: with a grid of panels updating
several times a second, one widget per panel (rather than one per line) keeps styling and
compositing cheap, which is what keeps keys responsive while training runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from lrtui.spec.events import RunStatus
from lrtui.state.runlike import RunLike
from lrtui.ui.widgets.lines import (
    AXIS_WIDTH,
    LABEL_WIDTH,
    LineStyles,
    axis_labels,
    loss_data,
    lr_data,
    numbers_line,
    regime_line,
    status_word,
    where_line,
)
from lrtui.ui.widgets.spark import (
    Scale,
    SparkData,
    levels,
    loss_scale,
    lr_scale,
    render_rows,
    shade_band,
)

MAX_MESSAGE_LINES = 3


class RunPanel(Widget, can_focus=True):
    """Reads its view (a run, or a schedule over its seeds) when told that it changed;
    never holds data of its own."""

    DEFAULT_CSS = """
    RunPanel {
        border: round $primary-darken-2;
        border-title-color: $text;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        padding: 0 1;
        height: 100%;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }

    RunPanel:focus {
        border: heavy $accent;
        border-title-color: $accent;
    }

    RunPanel.-paused {
        border-subtitle-color: $warning;
    }

    RunPanel.-failed {
        border: round $error;
        border-subtitle-color: $error;
    }

    RunPanel.-failed:focus {
        border: heavy $error;
    }

    RunPanel.-done {
        border-subtitle-color: $secondary;
    }

    RunPanel > .run-panel--label {
        color: $text-muted;
    }

    RunPanel > .run-panel--lr {
        color: $success;
    }

    RunPanel > .run-panel--loss {
        color: $warning;
    }

    RunPanel > .run-panel--plan {
        color: $text-disabled;
    }

    RunPanel > .run-panel--message {
        color: $error;
    }

    RunPanel > .run-panel--clip {
        color: $error;
        text-style: bold;
    }

    /* the lines' roles (`LineStyles`): the state's badge, the progress bar, regime changes.
       ANSI colours follow the theme's ANSI palette (the terminal's own under ansi-dark and
       ansi-light); $success, $warning, $error would redraw every grid picture in new hues */
    RunPanel > .run-panel--running { color: ansi_green; text-style: bold; }
    RunPanel > .run-panel--paused { color: ansi_yellow; text-style: bold; }
    RunPanel > .run-panel--done { color: ansi_cyan; text-style: bold; }
    RunPanel > .run-panel--failed { color: ansi_red; text-style: bold; }
    RunPanel > .run-panel--idle { text-style: dim; }
    RunPanel > .run-panel--progress { color: ansi_green; }
    RunPanel > .run-panel--track { color: #4e4e4e; }
    RunPanel > .run-panel--warn { color: ansi_yellow; text-style: bold; }
    RunPanel > .run-panel--mark { color: ansi_magenta; }
    RunPanel > .run-panel--cut { color: ansi_magenta; text-style: bold; }
    """
    COMPONENT_CLASSES = {
        "run-panel--label",
        "run-panel--lr",
        "run-panel--loss",
        "run-panel--plan",
        "run-panel--message",
        "run-panel--clip",
        *(f"run-panel--{role}" for role in LineStyles.roles()),
    }

    def __init__(self, index: int, view: RunLike, viewing: bool = False) -> None:
        super().__init__(id=f"run-{index}", classes="run-panel")
        self.index = index
        self.view = view
        self.viewing = viewing  # `lrtui watch`: a paused run is a frozen view
        self._seen = -1
        self._state: tuple = ()
        self._title: tuple[str, str] = ("", "")
        self.shared_lr: Scale | None = None  # one LR scale for every panel, when asked for
        self.forecast: Sequence[float] | None = None  # the predicted loss of every step, once trusted
        self.forecast_band = 0.0  # its band, relative: the held-out error
        self._styles: tuple[str, dict[str, Style]] = ("", {})
        self._line_styles: tuple[str, LineStyles] = ("", LineStyles())
        self._set_title()

    def on_mount(self) -> None:
        self.sync(force=True)
        if self.index == 0 and self.app.focused is None:
            self.focus()  # the first panel starts focused, also when it appears later (watch)

    def sync(self, force: bool = False, data: bool = True) -> None:
        """Redraw from the view if it changed since the last time.

        A change of state (paused, done, failed) shows at once; new numbers alone wait for a
        `data` frame, so a fast run costs a bounded number of redraws per second.
        """
        v = self.view
        if not force and v.version == self._seen:
            return
        state = (v.status, v.message, v.gen)
        if not (force or data or state != self._state):
            return
        self._seen = v.version
        self._state = state
        self._set_title()
        self.border_subtitle = status_word(v.status, self.viewing)
        self.set_class(v.status is RunStatus.PAUSED, "-paused")
        self.set_class(v.status in (RunStatus.DIVERGED, RunStatus.ERROR), "-failed")
        self.set_class(v.status is RunStatus.DONE, "-done")
        self.refresh()

    def share_lr_scale(self, scale: Scale | None) -> None:
        """Draw the LR against `scale` (None: the panel's own) from now on."""
        if scale != self.shared_lr:
            self.shared_lr = scale
            self.refresh()

    def render(self) -> Text:
        v = self.view
        width, height = self.content_size.width, self.content_size.height
        if width <= 0 or height <= 0:
            return Text("")
        style, roles = self._style, self._roles()
        lines: list[Text] = [where_line(v, width, self.viewing, roles), numbers_line(v, width)]
        regime = regime_line(v, roles)
        if regime is not None and height >= 7:
            lines.append(regime)
        if v.message and v.status in (RunStatus.DIVERGED, RunStatus.ERROR):
            wrapped = Text(v.message, style=style("run-panel--message")).wrap(self.app.console, width)
            lines.extend(list(wrapped)[:MAX_MESSAGE_LINES])
        lines += self._spark_rows(width, max(2, height - len(lines)))
        out = Text("\n", no_wrap=True, overflow="crop").join(lines[:height])
        out.no_wrap = True
        out.overflow = "crop"
        return out

    def _spark_rows(self, width: int, rows: int) -> list[Text]:
        """The LR sparkline over the loss sparkline, sharing `rows` (the LR gets the odd one),
        each with its scale: top and floor on the right, "log" under the name when it is."""
        v = self.view
        spark_width = max(1, width - LABEL_WIDTH - AXIS_WIDTH)
        lr, loss = lr_data(v, spark_width), loss_data(v, spark_width, self.forecast, self.forecast_band)
        lr_fit = self.shared_lr if self.shared_lr is not None else lr_scale(lr.values)
        return [
            *self._spark("lr", lr, lr_fit, (rows + 1) // 2, "run-panel--lr"),
            *self._spark("loss", loss, loss_scale(loss.values), rows // 2, "run-panel--loss"),
        ]

    def _style(self, name: str) -> Style:
        """A component class's style, looked up once per theme (a grid of panels redraws
        every second: the lookups were a quarter of a panel's drawing)."""
        theme = self.app.theme
        if self._styles[0] != theme:
            self._styles = (theme, {})
        found = self._styles[1].get(name)
        if found is None:
            found = self._styles[1][name] = self.get_component_rich_style(name)
        return found

    def _roles(self) -> LineStyles:
        """The lines' roles in this theme's colours (`run-panel--running`, ...), once per theme."""
        theme = self.app.theme
        if self._line_styles[0] != theme:
            found = {role: self._style(f"run-panel--{role}") for role in LineStyles.roles()}
            self._line_styles = (theme, LineStyles(**found))
        return self._line_styles[1]

    def _spark(self, name: str, data: SparkData, fit: Scale | None, rows: int, kind: str) -> list[Text]:
        """One sparkline's rows: trained columns in `kind`'s colour, planned ones dimmed,
        columns over the top marked ↑ on the top row."""
        style = self._style
        label, done_style, plan_style = style("run-panel--label"), style(kind), style("run-panel--plan")
        scaled, clipped = levels(data.values, fit)
        grid = render_rows(scaled, rows)
        if data.band is not None:
            shade_band(grid, levels(data.band[0], fit)[0], levels(data.band[1], fit)[0])
        names = [name, "log" if fit is not None and fit.log else "", *[""] * rows]
        out: list[Text] = []
        marks = [c for c, cut in enumerate(clipped) if cut]
        for r, (row, axis) in enumerate(zip(grid, axis_labels(fit, rows), strict=True)):
            if r == 0:
                for c in marks:
                    row[c] = "↑"
            text = "".join(row)
            line = Text.assemble(
                (names[r].ljust(LABEL_WIDTH), label),
                (text[: data.done], done_style),
                (text[data.done :], plan_style),
                (" " + axis.rjust(AXIS_WIDTH - 1), label),
            )
            for c in marks if r == 0 else ():
                line.stylize(style("run-panel--clip"), LABEL_WIDTH + c, LABEL_WIDTH + c + 1)
            out.append(line)
        return out

    def _set_title(self) -> None:
        """The run's name as plain text (a name from a file is never markup), numbered for the
        digit keys; it follows a run renamed in its file."""
        info = self.view.info
        if (info.label, info.detail) != self._title:
            self._title = (info.label, info.detail)
            name = f"{self.index + 1} {info.label}" if self.index < 9 else info.label
            setup = ("  " + info.detail, "not bold dim") if info.detail else ""
            self.border_title = Text.assemble(name, setup)
