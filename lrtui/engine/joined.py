"""Several engines as one: where runs added while a comparison trains (`Verb.ADD`) are trained.

A stacked engine's weights are one tensor per parameter, [runs, ...], sized when training
starts; every run's parameters are views of its rows, and its optimizer (and the fused step)
hold those very views and their state. Growing the tensor would move every run's weights and
optimizer state mid-training. So a run added later gets an engine of its own (made as the
first was: stacked or sequential, for the same task), and `Joined` is one `Engine` over them
all: run i is run j of part p, each pass is every part's pass over its own runs, the losses
put back in the order the runs were asked in, each run's failure kept its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lrtui.engine.engines import Engine, RunsFailedError, losses_of
from lrtui.engine.workload import Batch


class Joined:
    """`Engine` over `parts`; `where[i]` = (part, that part's index) of run i."""

    def __init__(self, parts: Sequence[Engine], where: Sequence[tuple[int, int]]) -> None:
        self._parts, self._where = list(parts), list(where)

    @classmethod
    def grown(cls, engine: Engine, runs: int, added: Engine) -> Joined:
        """`engine` (training `runs` runs) with `added`'s one run as run number `runs`."""
        if isinstance(engine, Joined):
            return cls([*engine._parts, added], [*engine._where, (len(engine._parts), 0)])
        return cls([engine, added], [*((0, i) for i in range(runs)), (1, 0)])

    def params(self, run: int) -> list[nn.Parameter]:
        part, i = self._where[run]
        return self._parts[part].params(i)

    def reset(self, run: int) -> None:
        part, i = self._where[run]
        self._parts[part].reset(i)

    def module(self, run: int) -> nn.Module:
        part, i = self._where[run]
        return self._parts[part].module(i)

    def fused_optimizer(self, runs: Sequence[int], optimizers: Sequence[torch.optim.Optimizer]):
        """The fused step of runs that all train in one part (the first part's, chosen when
        training starts), else None: runs of several parts share no stacked weights."""
        parts = {self._where[r][0] for r in runs}
        if len(parts) != 1:
            return None
        return self._parts[parts.pop()].fused_optimizer([self._where[r][1] for r in runs], optimizers)

    @property
    def capture_note(self) -> str | None:
        return self._parts[0].capture_note

    def forward_backward(self, runs: Sequence[int], batches: Sequence[Batch]) -> Tensor:
        """Each part's pass over its runs (`engines.losses_of`: a part's failure is its runs'
        alone); where every run failed, the first one's exception as it was raised."""
        places: dict[int, list[int]] = {}
        for j, r in enumerate(runs):
            places.setdefault(self._where[r][0], []).append(j)
        got: dict[int, Tensor] = {}
        failures: dict[int, Exception] = {}
        for part, mine in places.items():
            asked = [batches[j] for j in mine] if len(batches) > 1 else batches
            losses, failed = losses_of(self._parts[part], [self._where[runs[j]][1] for j in mine], asked)
            failures.update({mine[k]: exc for k, exc in failed.items()})
            went = [j for k, j in enumerate(mine) if k not in failed]
            got.update(zip(went, losses.unbind(0) if losses is not None else (), strict=True))
        if len(failures) == len(runs):
            raise failures[min(failures)]
        stacked = torch.stack([got[j] for j in sorted(got)])
        if failures:
            raise RunsFailedError(stacked, failures)
        return stacked
