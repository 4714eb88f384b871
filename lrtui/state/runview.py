"""One run as a viewer knows it: its figures, bounded histories, marks and plan, folded
from events by `runs.ExperimentState`; the panels, charts and leaderboard only read it.

Its loss is also read smoothed (`smoothed`, the charts' own smoothing), and where a caller
asks for it (`lrtui.compare`) it keeps every step's LR and loss as well.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

from lrtui.spec.events import MarkEvent, PlateauEvent, RunInfo, RunStatus
from lrtui.spec.numbers import is_finite
from lrtui.state.series import BucketSeries
from lrtui.state.traces import Smoothed, smooth


@dataclass
class StepHistory:
    """Every step's LR (the first param group's) and loss, in the order trained: unbounded,
    so only kept where asked for (16 bytes a step), never in the app's own view."""

    lrs: array = field(default_factory=lambda: array("d"))
    losses: array = field(default_factory=lambda: array("d"))

    def extend(self, lrs: list[float], losses: list[float]) -> None:
        self.lrs.extend(lrs)
        self.losses.extend(losses)


@dataclass
class RunView:
    """One run as the UI sees it (a `RunLike`)."""

    info: RunInfo
    gen: int = 0
    status: RunStatus = RunStatus.PENDING
    message: str = ""
    step: int = 0
    epoch: int = 0
    epochs_done: int = 0
    lr: float = math.nan
    group_lrs: tuple[float, ...] = ()  # every param group's LR now, where there are several
    loss: float = math.nan
    best_loss: float = math.inf
    lr_series: BucketSeries = field(default_factory=BucketSeries)
    loss_series: BucketSeries = field(default_factory=BucketSeries)
    time_series: BucketSeries = field(default_factory=BucketSeries)  # seconds since the run began
    marks: list[MarkEvent] = field(default_factory=list)
    plateau: PlateauEvent | None = None
    plan: tuple[float, ...] | None = None
    planned_marks: tuple[tuple[int, str, str], ...] = ()
    plan_interval: str = "epoch"
    plan_batches: int = 1
    epoch_ends: list[int] = field(default_factory=list)
    corrupt_lines: int = 0
    val_losses: list[tuple[int, float]] = field(default_factory=list)  # (step, validation loss)
    scalars: dict[str, BucketSeries] = field(default_factory=dict)  # other scalars the run logs
    version: int = 0  # bumped on every change, so widgets redraw only what changed
    history: StepHistory | None = None  # every step, where the state keeps them
    _smooth: tuple[tuple, Smoothed | None] = field(default=((), None), init=False, repr=False, compare=False)

    def reset(self, gen: int) -> None:
        self.gen = gen
        self.step = self.epoch = self.epochs_done = 0
        self.lr = self.loss = math.nan
        self.group_lrs = ()
        self.best_loss = math.inf
        self.lr_series = BucketSeries()
        self.loss_series = BucketSeries()
        self.time_series = BucketSeries()
        self.marks = []
        self.plateau = None
        self.plan = None
        self.planned_marks = ()
        self.epoch_ends = []
        self.val_losses = []
        self.scalars = {}
        self.message = ""
        if self.history is not None:
            self.history = StepHistory()

    @property
    def is_group(self) -> bool:
        """A run is one run (`RunLike`; a schedule's seeds read as one are a `GroupView`)."""
        return False

    @property
    def loss_spread(self) -> float:
        """How far seeds of one schedule part (a single run has none: NaN)."""
        return math.nan

    def smoothed(self) -> Smoothed:
        """The loss as its charts smooth it (a debiased EMA per step, half-life about 1% of
        the run, outliers left out), worked out again only once the history has grown."""
        key = (self.gen, len(self.loss_series), self.loss_series.last_step, self.total_steps)
        if self._smooth[0] != key or self._smooth[1] is None:
            self._smooth = (key, smooth(self.loss_series, self.total_steps or self.step))
        return self._smooth[1]  # type: ignore[return-value]

    @property
    def smooth_loss(self) -> float:
        """The smoothed loss now; the raw one where the newest step's is not finite (a run
        that diverged shows so, not the level it had before)."""
        return self.smoothed().now if is_finite(self.loss) else self.loss

    @property
    def smooth_best(self) -> float:
        """The lowest the smoothed loss has been (inf before any step)."""
        return self.smoothed().best

    @property
    def val_loss(self) -> float:
        """The newest validation loss (NaN before the first)."""
        return self.val_losses[-1][1] if self.val_losses else math.nan

    @property
    def total_steps(self) -> int | None:
        return self.info.total_steps

    @property
    def progress(self) -> float | None:
        total = self.total_steps
        return min(1.0, self.step / total) if total else None

    def planned_lr_at(self, step: int) -> float | None:
        """The planned LR in effect during training step `step` (1-based)."""
        if self.plan is None:
            return None
        k = step - 1 if self.plan_interval == "batch" else (step - 1) // max(1, self.plan_batches)
        return self.plan[min(k, len(self.plan) - 1)]
