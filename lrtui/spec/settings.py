"""What the user asked for, as given: flags and config files before anything is checked
against torch. None means "not set here"; `Settings.over` layers one source on another."""

from __future__ import annotations

from dataclasses import dataclass, field

from lrtui.spec.cadence import Cadence
from lrtui.spec.experiment import Call, Interval
from lrtui.spec.parse import parse_run_parts


@dataclass
class RunRequest:
    """A run the user asked for, before labels and defaults are settled: a scheduler (None: a
    bare optimizer, trained under a constant schedule) and its own optimizer, if any."""

    call: Call | None
    interval: Interval | None = None
    label: str | None = None
    optimizer: Call | None = None


@dataclass
class Settings:
    """User settings as given; None means 'not set here'."""

    preset: str | None = None
    runs: list[RunRequest] = field(default_factory=list)
    epochs: int | None = None
    batches: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    optimizer: Call | None = None
    model: str | None = None
    task: str | None = None
    device: str | None = None
    seed: int | None = None
    seeds: int | None = None  # train every schedule under this many seeds
    engine: str | None = None
    amp: bool | None = None
    log_dir: str | None = None
    loss_threshold: float | None = None
    no_summary: bool | None = None
    checkpoint_every: Cadence | None = None  # with log_dir: how often every run is checkpointed

    def over(self, base: Settings) -> Settings:
        """These settings on top of `base` (runs add up)."""
        merged = Settings(**{k: v for k, v in vars(base).items()})
        for key, value in vars(self).items():
            if key == "runs":
                merged.runs = base.runs + value
            elif value is not None:
                setattr(merged, key, value)
        return merged


def parse_scheduler_flag(text: str) -> RunRequest:
    """A `--scheduler` value: `OPTIMIZER | SCHEDULER`, either optional, the scheduler
    optionally with @epoch or @batch (`spec.parse.parse_run_parts`)."""
    optimizer, call, interval = parse_run_parts(text)
    return RunRequest(call, interval, optimizer=optimizer)
