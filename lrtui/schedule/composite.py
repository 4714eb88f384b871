"""ReduceLROnPlateau inside torch's SequentialLR and ChainedScheduler.

torch's composers step their children with no arguments, so they refuse ReduceLROnPlateau,
which needs the loss. lrtui composes such schedules from the same torch classes and hands the
loss through: each plateau child sits in a `PlateauStage` that steps the real
ReduceLROnPlateau with the metric fed to the whole schedule just before each step. No LR is
computed here; every value still comes from torch's own schedulers.
"""

from __future__ import annotations

from typing import SupportsFloat

import torch
from torch.optim.lr_scheduler import ReduceLROnPlateau


class PlateauStage:
    """Stands in for a ReduceLROnPlateau child where torch's composers expect an LRScheduler."""

    def __init__(self, plateau: ReduceLROnPlateau) -> None:
        self.plateau = plateau
        self.optimizer = plateau.optimizer
        self.last_epoch = plateau.last_epoch  # SequentialLR's set-up rewinds this; nothing reads it
        self.metric: float | None = None

    def step(self) -> None:
        if self.metric is None:
            raise RuntimeError("ReduceLROnPlateau inside a composed schedule was stepped without a loss")
        self.plateau.step(self.metric)

    def _initial_step(self) -> None:
        """SequentialLR's set-up step for its first child: a plateau has nothing to set up."""

    def _update_lr(self, epoch: int | None = None) -> None:
        """SequentialLR hands over at a milestone with this call, which puts every torch
        scheduler at its epoch-0 LR; a plateau's is the base LR. Then it sees this step's loss."""
        for group in self.optimizer.param_groups:
            group["lr"] = group.get("initial_lr", group["lr"])
        self.step()

    def get_last_lr(self) -> list[float | torch.Tensor]:
        return self.plateau.get_last_lr()

    def state_dict(self) -> dict:
        return self.plateau.state_dict()


class MetricComposite:
    """A torch composer with plateau children: `step(loss)` feeds them, then steps it."""

    def __init__(self, inner: object, stages: list[PlateauStage]) -> None:
        self.inner = inner
        self.stages = stages
        self.optimizer = getattr(inner, "optimizer", None)

    def step(self, metrics: SupportsFloat) -> None:
        value = float(metrics)
        for stage in self.stages:
            stage.metric = value
        self.inner.step()  # type: ignore[attr-defined]

    def get_last_lr(self) -> list[float | torch.Tensor]:
        return self.inner.get_last_lr()  # type: ignore[attr-defined]

    @property
    def last_epoch(self) -> int:
        return self.inner.last_epoch  # type: ignore[attr-defined]
