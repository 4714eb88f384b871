"""Plain descriptions of an experiment: what to train, never how.

Everything here is immutable data so that a spec can be validated once, shared with the
trainer thread and compared between runs without copies or locks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

Interval = Literal["epoch", "batch"]
INTERVALS: tuple[Interval, ...] = ("epoch", "batch")


@dataclass(frozen=True)
class Call:
    """A parsed `Name(key=value, ...)` expression: a scheduler, an optimizer or a factor.

    Values are Python literals, nested `Call`s, or tuples of those (lists in the source).
    """

    name: str
    kwargs: tuple[tuple[str, object], ...] = ()

    def get(self, key: str, default: object = None) -> object:
        for k, v in self.kwargs:
            if k == key:
                return v
        return default

    def has(self, key: str) -> bool:
        return any(k == key for k, _ in self.kwargs)

    def with_kwarg(self, key: str, value: object) -> Call:
        rest = tuple((k, v) for k, v in self.kwargs if k != key)
        return Call(self.name, (*rest, (key, value)))

    def __str__(self) -> str:
        args = ", ".join(f"{k}={format_value(v)}" for k, v in self.kwargs)
        return f"{self.name}({args})"


def format_value(value: object) -> str:
    """Render a spec value back in the syntax the parser accepts."""
    if isinstance(value, Call):
        return str(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return repr(value)


# a bare optimizer (`AdamWScheduleFree(warmup_steps=100)`) trains under this: its LR as set
CONSTANT_SCHEDULE = Call("LambdaLR", (("lr_lambda", Call("constant", (("value", 1.0),))),))


@dataclass(frozen=True)
class RunSpec:
    """One run: a scheduler to train with, how often it steps, and (where the run names one)
    its own optimizer; None trains with the experiment's `--optimizer`."""

    scheduler: Call
    interval: Interval
    label: str
    seed: int = 0  # added to the experiment's seed: its initial weights and batch order
    group: str = ""  # with several seeds, the schedule's name shared by its seeds' runs
    optimizer: Call | None = None  # `OPTIMIZER | SCHEDULER`: this run's own; its lr= wins over --lr


@dataclass(frozen=True)
class ExperimentSpec:
    """Everything a comparison shares: every run differs only in its `RunSpec`."""

    runs: tuple[RunSpec, ...]
    epochs: int = 11
    batches: int = 1000
    batch_size: int = 32
    lr: float = 0.1
    optimizer: Call = field(default_factory=lambda: Call("SGD"))
    model: str = "linear"
    task: str = "random"
    device: str = "auto"
    seed: int = 0
    seeds: int = 1  # each schedule trained under seeds seed, seed + 1, ...
    engine: str = "auto"
    amp: bool = False  # bf16 autocast (CUDA)
    epoch_label_stride: int = 1

    def epoch_label(self, epoch: int) -> int:
        """The number printed for 1-based `epoch` (the seed table counts 1, 11, 21, ...)."""
        return 1 + (epoch - 1) * self.epoch_label_stride

    def seed_of(self, run: RunSpec) -> int:
        return self.seed + run.seed

    def optimizer_of(self, run: RunSpec) -> Call:
        """The optimizer `run` trains with: its own, else the experiment's."""
        return run.optimizer if run.optimizer is not None else self.optimizer

    def lr_of(self, run: RunSpec) -> float:
        """The base LR of `run`: its own optimizer's lr= where it sets one, else --lr."""
        lr = self.optimizer_of(run).get("lr")
        return float(lr) if isinstance(lr, (int, float)) and not isinstance(lr, bool) else self.lr

    def steps_of(self, run: RunSpec) -> int:
        """How many times `run`'s scheduler steps over the whole experiment."""
        return self.epochs * self.batches if run.interval == "batch" else self.epochs

    @property
    def total_batches(self) -> int:
        return self.epochs * self.batches


MAX_SEEDS = 16  # seeds a schedule may be trained under: every seed is a whole run more


def with_seeds(runs: tuple[RunSpec, ...], seeds: int, first_seed: int) -> tuple[RunSpec, ...]:
    """Every run once per seed, a schedule's seeds side by side: run "StepLR" becomes
    "StepLR s0", "StepLR s1", ... in the group "StepLR"."""
    if seeds <= 1:
        return runs
    return tuple(
        replace(run, seed=k, group=run.label, label=f"{run.label} s{first_seed + k}")
        for run in runs
        for k in range(seeds)
    )
