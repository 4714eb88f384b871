"""A run panel's lines as text: where the run stands, its numbers, its regime, and the data
and scales of its sparklines. Plain functions of a run's view, so the widget only lays out.

No colour is named here: each part is drawn in a `LineStyles` role (running, paused, a
regime change, ...), which the panel fills from its component classes, so the colours live
beside it in CSS, where a theme's stylesheet can set them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

from rich.style import Style
from rich.text import Text

from lrtui.spec.events import RunStatus
from lrtui.state.runlike import RunLike
from lrtui.ui.widgets.spark import Scale, SparkData, columns_values, compact, lr_scale

BOLD, DIM, REVERSE, NONE = Style(bold=True), Style(dim=True), Style(reverse=True), Style()


@dataclass(frozen=True)
class LineStyles:
    """What each part of a panel's lines is drawn in, by what it means. The defaults are the
    text's weight alone (what a caller without a theme, such as a test, gets)."""

    running: Style = BOLD
    paused: Style = BOLD
    done: Style = BOLD
    failed: Style = BOLD
    idle: Style = DIM  # pending, or stopped
    progress: Style = NONE  # the part of the bar trained
    track: Style = NONE  # the part of the bar ahead
    warn: Style = BOLD  # a counter that has started (ReduceLROnPlateau's bad epochs)
    mark: Style = NONE  # a regime change
    cut: Style = BOLD  # ReduceLROnPlateau's cuts, once there are some

    @classmethod
    def roles(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def status(self, status: RunStatus) -> Style:
        return getattr(self, STATUS_ROLE[status])


STATUS_ROLE = {
    RunStatus.PENDING: "idle",
    RunStatus.RUNNING: "running",
    RunStatus.PAUSED: "paused",
    RunStatus.DONE: "done",
    RunStatus.DIVERGED: "failed",
    RunStatus.ERROR: "failed",
    RunStatus.STOPPED: "idle",
}
PLAIN = LineStyles()
LABEL_WIDTH = 5
AXIS_WIDTH = 8  # the scale's top and bottom values, right of the sparkline


def fmt_lr(value: float) -> str:
    """Four significant digits: 0.001198, 0.06561, 1.000e-05."""
    if not math.isfinite(value):
        return "—"
    return f"{value:.4g}" if 1e-4 <= abs(value) < 1e4 or value == 0 else f"{value:.3e}"


def fmt_loss(value: float) -> str:
    if not math.isfinite(value):
        return "—"
    return f"{value:.4f}" if abs(value) < 1e4 else f"{value:.3e}"


def bar(fraction: float | None, width: int, styles: LineStyles = PLAIN) -> Text:
    if fraction is None or width <= 0:
        return Text("")
    full = round(fraction * width)
    return Text.assemble(("━" * full, styles.progress), ("━" * (width - full), styles.track))


def lr_data(v: RunLike, width: int) -> SparkData:
    """The LR line: the whole planned run when the schedule is known ahead, else the run so far."""
    total = v.total_steps
    if v.plan is not None and total:
        trained = v.lr_series.columns(width, until=total)
        values: list[float | None] = []
        done = 0
        for c, col in enumerate(trained):
            if col is not None and col.last <= v.step:
                values.append(col.mean)
                done = c + 1
            else:
                values.append(v.planned_lr_at(c * total // width + 1))
        return SparkData(values, done)
    values = columns_values(v.lr_series.columns(width))
    return SparkData(values, len(values))


def lr_text(v: RunLike) -> str:
    """The LR now; where a task's own param groups have LRs of their own, each group's, in the
    task's order: `0.01/0.005`."""
    groups = v.group_lrs
    if len(set(groups)) > 1:
        return "/".join(fmt_lr(lr) for lr in groups)
    return fmt_lr(v.lr)


def numbers_line(v: RunLike, width: int) -> Text:
    """The current LR, the smoothed loss (`loss~`) and its best, and where the task evaluates
    the validation loss: spaced wide where the panel allows, tight where it does not. The
    loss is the charts' smoothed one, so neither figure is one lucky batch."""
    best = fmt_loss(v.smooth_best) if v.smooth_best != math.inf else "—"
    loss = fmt_loss(v.smooth_loss)
    if math.isfinite(v.loss_spread):  # a schedule over several seeds: their mean ± spread
        loss += f"±{v.loss_spread:.3f}" if v.loss_spread < 1 else f"±{v.loss_spread:.3g}"
    fields = [("lr", lr_text(v), "bold"), ("loss~", loss, "bold"), ("best", best, "")]
    if v.val_losses:
        fields.append(("val", fmt_loss(v.val_loss), "bold"))
    # the tightest: `loss~0.4638`, the tilde its own separator (a 4-column grid keeps its digits)
    for gap, tilde in (("   ", " "), ("  ", " "), (" ", " "), (" ", "")):
        parts: list[tuple[str, str]] = []
        for i, (name, value, style) in enumerate(fields):
            space = tilde if name.endswith("~") else " "
            parts += [(f"{gap if i else ''}{name}{space}", "dim"), (value, style)]
        line = Text.assemble(*parts)
        if line.cell_len <= width:
            break
    return line


def status_word(status: RunStatus, viewing: bool) -> str:
    return "frozen" if viewing and status is RunStatus.PAUSED else status.value


def where_line(v: RunLike, width: int, viewing: bool = False, styles: LineStyles = PLAIN) -> Text:
    """State, epoch and step, and a progress bar in what is left: the epoch goes before the
    step count is cut."""
    info = v.info
    badge = Text(f" {status_word(v.status, viewing)} ", style=styles.status(v.status) + REVERSE)
    epochs = f"/{info.epochs}" if info.epochs else ""
    steps = f"/{info.total_steps:,}" if info.total_steps else ""
    step = f"step {v.step:,}{steps} "
    where = Text.assemble(badge, f" ep {v.epoch}{epochs} · {step}")
    if where.cell_len > width:
        where = Text.assemble(badge, f" {step}")
    return where + bar(v.progress, width - where.cell_len, styles)


def regime_line(v: RunLike, styles: LineStyles = PLAIN) -> Text | None:
    """ReduceLROnPlateau's live counters, or the last and next regime change of the schedule."""
    p = v.plateau.counters if v.plateau is not None else None
    if p is not None:
        if not p.active:
            return Text.assemble(("plateau ", "bold"), ("waits for its phase", "dim"))
        best = fmt_loss(p.best)
        return Text.assemble(
            ("plateau ", "bold"),
            ("bad ", "dim"),
            (f"{p.bad_epochs}/{p.patience}", styles.warn if p.bad_epochs else ""),
            ("  cooldown ", "dim"),
            f"{p.cooldown_left}/{p.cooldown}",
            ("  cuts ", "dim"),
            (str(p.cuts), styles.cut if p.cuts else ""),
            ("  best ", "dim"),
            best,
        )
    last = v.marks[-1] if v.marks else None
    ahead = next((m for m in v.planned_marks if m[0] > v.step), None)
    if last is None and ahead is None:
        return None
    parts: list[tuple[str, str | Style] | str] = []
    if last is not None:
        parts += [("last ", "dim"), (last.label, styles.mark), (f" @{last.step:,}", "dim")]
    if ahead is not None:
        parts += [("  next " if parts else "next ", "dim"), ahead[2], (f" @{ahead[0]:,}", "dim")]
    return Text.assemble(*parts)


def loss_data(
    v: RunLike, width: int, predicted: Sequence[float] | None = None, band: float = 0.0
) -> SparkData:
    """The loss line over the run's whole plan, as the LR line is drawn (a column of one is the
    same steps as the column of the other): the steps trained, then, with a forecast
    (`predicted[i]`, step i+1's loss), the steps not trained yet drawn from it (dimmed, as the
    LR plan is), between the forecast's band where it has one (value·(1 ± band), `band`
    relative), or blank without one. A run with no plan (a log read back): its steps so far."""
    total = v.total_steps
    if not total or total < v.step:
        values = columns_values(v.loss_series.columns(width))
        return SparkData(values, len(values))
    if predicted is not None and len(predicted) < total:
        predicted = None
    values, done = [], 0
    for c, col in enumerate(v.loss_series.columns(width, until=total)):
        if col is not None and (col.last <= v.step or predicted is None):  # a column begun: its mean
            values.append(col.mean)
            done = c + 1
        elif predicted is None:  # the steps not trained: blank, under the LR plan's columns
            values.append(None)
        else:
            first = c * total // width
            ahead = [
                x for x in predicted[first : max(first + 1, (c + 1) * total // width)] if math.isfinite(x)
            ]
            values.append(sum(ahead) / len(ahead) if ahead else None)
    if not band:
        return SparkData(values, done)
    ahead = [None if c < done or x is None else x for c, x in enumerate(values)]
    lower = [None if x is None else x * (1 - band) for x in ahead]
    return SparkData(values, done, (lower, [None if x is None else x * (1 + band) for x in ahead]))


def shared_lr_scale(views: list[RunLike], width: int = 64) -> Scale | None:
    """One LR scale spanning every run (planned parts included), for panels read side by side."""
    return lr_scale([x for v in views for x in lr_data(v, width).values])


def axis_labels(scale: Scale | None, rows: int) -> list[str]:
    """The right of each sparkline row: the top value on the first, the floor on the last."""
    out = [""] * rows
    if scale is None:
        return out
    out[0] = compact(scale.hi)
    if rows > 1:
        out[-1] = compact(scale.lo)
    return out
