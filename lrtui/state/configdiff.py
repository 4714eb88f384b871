"""What sets one run apart from the others: its setup pairs against every run's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lrtui.spec.events import RunInfo


@dataclass(frozen=True)
class ConfigDiff:
    """What sets one run apart from the others, and what they all share."""

    differs: tuple[tuple[str, str], ...]
    shared: tuple[tuple[str, str], ...]

    def describe(self, pairs: tuple[tuple[str, str], ...]) -> str:
        return " ".join(v if k == "scheduler" else f"{k.removeprefix('scheduler.')}={v}" for k, v in pairs)


def config_diff(infos: Sequence[RunInfo], index: int) -> ConfigDiff:
    """Pairs of run `index` that not every run has, and pairs every run has."""
    configs = [set(i.config) for i in infos if i.config]
    mine = infos[index].config
    if not configs or not mine:
        return ConfigDiff(mine, ())
    common = set.intersection(*configs)
    return ConfigDiff(tuple(p for p in mine if p not in common), tuple(p for p in mine if p in common))
