"""What the panels and charts read from a run: one run, or one schedule over its seeds.

With `--seeds K` every schedule is drawn once, its seeds read as one (`groups.GroupView`);
otherwise each run is drawn from its own `runview.RunView`. The UI reads either through
`RunLike` and asks which it holds only through `is_group`, where the picture says so (a
band from the lowest to the highest seed, "mean over seeds"): a third kind of view (a
forecast, a run attached from elsewhere) plugs in by having these members, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from lrtui.spec.events import MarkEvent, PlateauEvent, RunInfo, RunStatus
from lrtui.state.series import BucketSeries, Column


class SeriesLike(Protocol):
    """A history as charts and panels read it: a run's own `BucketSeries`, or the mean of
    a schedule's seeds (`groups.MeanSeries`)."""

    def __len__(self) -> int: ...

    @property
    def first_step(self) -> int: ...

    @property
    def last_step(self) -> int: ...

    @property
    def last_value(self) -> float: ...

    def columns(self, n: int, until: int | None = None) -> list[Column | None]: ...

    def buckets(self) -> list[Column]: ...

    def grouped(
        self, limit: int
    ) -> tuple[list[int], list[int], list[float], list[float], list[float], list[int]]: ...

    def points(self, n: int) -> tuple[list[float], list[float]]: ...

    def values_at(self, steps: Sequence[float]) -> list[float]: ...


@runtime_checkable
class RunLike(Protocol):
    """One line of the picture: a run, or a schedule over its seeds. Read-only: the state
    folds events into the runs themselves, never into a view of them."""

    @property
    def info(self) -> RunInfo: ...

    @property
    def is_group(self) -> bool:
        """Whether this stands for several seeds (its lines are their mean, its band their spread)."""
        ...

    # where it stands: `version` grows with every change, so a widget redraws only then
    @property
    def version(self) -> int: ...

    @property
    def gen(self) -> int: ...

    @property
    def status(self) -> RunStatus: ...

    @property
    def message(self) -> str: ...

    @property
    def step(self) -> int: ...

    @property
    def epoch(self) -> int: ...

    @property
    def total_steps(self) -> int | None: ...

    @property
    def progress(self) -> float | None: ...

    # its figures now
    @property
    def lr(self) -> float: ...

    @property
    def group_lrs(self) -> tuple[float, ...]:
        """Every param group's LR now, where the run has several (a task's own groups; `lr`
        is group 0's), else ()."""
        ...

    @property
    def loss(self) -> float: ...

    @property
    def best_loss(self) -> float: ...

    @property
    def smooth_loss(self) -> float: ...

    @property
    def smooth_best(self) -> float: ...

    @property
    def loss_spread(self) -> float:
        """How far the seeds part (NaN for a single run)."""
        ...

    @property
    def val_loss(self) -> float: ...

    @property
    def val_losses(self) -> Sequence[tuple[int, float]]: ...

    # its histories
    @property
    def lr_series(self) -> SeriesLike: ...

    @property
    def loss_series(self) -> SeriesLike: ...

    @property
    def time_series(self) -> BucketSeries: ...

    @property
    def scalars(self) -> Mapping[str, BucketSeries]: ...

    # its schedule: planned ahead, and what changed as it trained
    @property
    def plan(self) -> tuple[float, ...] | None: ...

    @property
    def plan_batches(self) -> int: ...

    @property
    def planned_marks(self) -> tuple[tuple[int, str, str], ...]: ...

    @property
    def marks(self) -> Sequence[MarkEvent]: ...

    @property
    def plateau(self) -> PlateauEvent | None: ...

    @property
    def epoch_ends(self) -> Sequence[int]: ...

    def planned_lr_at(self, step: int) -> float | None: ...
