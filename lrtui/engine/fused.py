"""One optimizer step for every stacked run at once: the fused multi-run step.

The stacked engine keeps each parameter of all N runs in one tensor [N, ...]. torch's
optimizers step a param group per run (one set of kernels, and Python's per-tensor work, for
each run); the fused step updates each stacked tensor once, every run's hyperparameters
broadcast from a small [N, C] tensor of coefficients, one row per run.

Each run keeps its real torch optimizer, and its scheduler still writes that optimizer's
param group (lr, and momentum or betas where it cycles them). The fused step reads those
group dicts each step and turns them into the coefficient rows on the host: it never reads a
value back from the device (on CUDA the rows go up from pinned memory, without waiting).

The update of run k is torch's own single-tensor formula with run k's values
(g = grad, p = parameter, all per run):

- SGD: g += wd·p; b = μ·b + (1-τ)·g (b = g on the run's first step, and wherever μ = 0);
  d = g + μ·b with Nesterov, else d = b; p -= η·d
- Adam / AdamW: g += wd·p (Adam) or p ·= 1 - η·wd (AdamW); m = m + (1-β1)(g - m);
  v = β2·v + (1-β2)·g²; p -= η/(1-β1^t) · m / (√v / √(1-β2^t) + ε)
- RMSprop: g += wd·p; v = alpha·v + (1-alpha)·g²; (centered: a = a + (1-alpha)(g - a), v̂ = v - a²);
  b = μ·b + g / (√v̂ + ε); p -= η·b

A task's own param groups (`paramgroups`: no weight decay on norms) are every run's alike:
each stacked weight belongs to one group, and each group has its own table of rows, so a
weight is still updated by one set of kernels for all runs. A run restarted (`r`) gets new
param groups from the trainer: the fused step sees the new dicts, zeroes that run's state rows
and counts its steps from 0 again. What it does not do
(amsgrad, maximize, an optimizer family without a law here, runs whose structural options
differ) it says why and the trainer keeps torch's shared step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping, Sequence
from typing import Protocol

import torch
from torch import Tensor

from lrtui.engine.fusedlaws import LAWS, Coefficients, Law

# Where the stacked engine uses the fused step (`StackedEngine.fused_optimizer`). CPU: measured
# by `python -m lrtui.bench --steps` (README, "The fused multi-run step"), 1.18x to 1.31x the
# speed of torch's shared step. CUDA: on by design, not yet measured (no GPU was lent):
# `python -m lrtui.bench --capture --device cuda` shows it against torch's step.
FUSED_DEVICES = frozenset({"cpu", "cuda"})


class Stacked(Protocol):
    """What the fused step needs of the engine: the stacked weights, each run's parameters
    (views of their rows), and the stacked gradients of the last backward pass."""

    def weights(self) -> list[Tensor]: ...

    def params(self, run: int) -> list[torch.nn.Parameter]: ...

    def last_grads(self) -> tuple[list[int], list[Tensor]] | None:
        """The runs of the last backward pass (row order) and each weight's gradient [n, ...]."""
        ...


def why_not_fused(optimizers: Sequence[torch.optim.Optimizer | None]) -> str | None:
    """Why these runs' optimizers cannot be stepped by the fused step, or None if they can."""
    if not optimizers or any(o is None for o in optimizers):
        return "a run without an optimizer"
    kinds = {type(o) for o in optimizers}
    law = LAWS.get(next(iter(kinds))) if len(kinds) == 1 else None
    if law is None:
        return "no fused law for " + ", ".join(sorted(k.__name__ for k in kinds))
    groups = [g for o in optimizers for g in o.param_groups]  # type: ignore[union-attr]
    if len({len(o.param_groups) for o in optimizers}) > 1:  # type: ignore[union-attr]
        return "runs with different numbers of param groups"
    refused = next((r for g in groups if (r := law.refuse(g)) is not None), None)
    if refused is not None:
        return refused
    if len({law.structure(g) for g in groups}) > 1:
        return "runs whose options choose different formulas"
    return None


def group_of(params: Sequence[torch.nn.Parameter], groups: Sequence[dict]) -> list[int] | None:
    """The param group of each of a run's parameters (all of them in one group each), or None."""
    where = {id(p): k for k, g in enumerate(groups) for p in g["params"]}
    if len(where) != len(params) or sum(len(g["params"]) for g in groups) != len(params):
        return None
    found = [where.get(id(p), -1) for p in params]
    return None if -1 in found else found


def fuse(
    engine: Stacked, runs: Sequence[int], optimizers: Sequence[torch.optim.Optimizer | None]
) -> FusedStep | None:
    """The fused step for `runs` (their optimizers, in the same order) over the engine's
    stacked weights, or None where it does not apply."""
    weights = engine.weights()
    if not weights or why_not_fused(optimizers) is not None:
        return None
    layouts = {
        tuple(group_of(engine.params(run), o.param_groups) or ())  # type: ignore[union-attr]
        for run, o in zip(runs, optimizers, strict=True)
    }
    if len(layouts) != 1 or not next(iter(layouts)):  # every run's weights grouped alike
        return None
    groups = [g for o in optimizers for g in o.param_groups]  # type: ignore[union-attr]
    step = FusedStep(engine, list(runs), groups, LAWS[type(optimizers[0])], list(next(iter(layouts))))
    step.defaults = dict(optimizers[0].defaults)  # type: ignore[union-attr]
    return step


class StateView(MutableMapping):
    """The fused step's state as torch keeps it, per parameter: `state[p]` is a dict of views
    into run p's rows of the stacked state (and its `step` count where the family counts
    steps), so a checkpoint reads and writes it as it would a torch optimizer's. Setting
    `state[p]` copies into the rows; deleting it starts the run's state again."""

    def __init__(self, step: FusedStep) -> None:
        self._step = step

    def __getitem__(self, p: object) -> dict:
        return self._step.state_of(p)

    def __setitem__(self, p: object, value: dict) -> None:
        self._step.load_state(p, value)

    def __delitem__(self, p: object) -> None:
        self._step.forget(p)

    def __iter__(self) -> Iterator[object]:
        return iter(self._step.stepped_params())

    def __len__(self) -> int:
        return len(self._step.stepped_params())


class FusedStep:
    """Steps its runs' rows of the stacked weights at once. To the trainer it is a shared
    optimizer: with G param groups a run (a task's own, `paramgroups`), `param_groups[k·G + g]`
    is group g of its k-th run (the dict that run's scheduler writes; a restarted run's new
    ones are put there), `state` shows the state, which lives stacked here (a row per run of
    the engine), in torch's per-parameter form, and `step()` steps each of its runs whose
    parameters hold a gradient. `group_of[j]`: the group of stacked weight j (every run's
    weights are grouped alike), whose coefficient rows update it."""

    def __init__(
        self,
        engine: Stacked,
        runs: list[int],
        groups: list[dict],
        law: Law,
        group_of: list[int] | None = None,
    ) -> None:
        self._engine, self._law, self._runs = engine, law, runs
        self._at = {r: k for k, r in enumerate(runs)}  # run -> its place in param_groups
        self.param_groups = list(groups)
        self.state = StateView(self)
        self.defaults: dict = {}
        self._where = {id(p): (r, j) for r in runs for j, p in enumerate(engine.params(r))}
        self._group_of = group_of or [0] * len(engine.weights())
        self._g = len(groups) // len(runs)  # param groups a run
        self._seen = groups[:: self._g]  # each run's first group: a new one means a restart
        self._steps = [0] * len(runs)
        self._states: list[dict[str, Tensor]] = [{} for _ in engine.weights()]
        self._index: dict[tuple[int, ...], Tensor] = {}
        self._last: list[Coefficients | None] = [None] * self._g  # reused while their rows hold
        self.device = engine.weights()[0].device
        self._everyone = list(range(len(engine.weights()[0])))

    def state_of(self, p: object) -> dict:
        """Parameter p's state in torch's form: views of its run's rows; KeyError before the
        run's first step."""
        r, j = self._where[id(p)]
        steps = self._steps[self._at[r]]
        if steps == 0:
            raise KeyError("no state before the run's first step")
        state: dict = {name: s[r] for name, s in self._states[j].items()}
        if self._law.counts_steps:
            state["step"] = torch.tensor(float(steps))
        return state

    def load_state(self, p: object, value: dict) -> None:
        """Parameter p's state from torch's form (a checkpoint's), into its run's rows."""
        r, j = self._where[id(p)]
        self._allocate()
        with torch.no_grad():
            for name, saved in value.items():
                if name in self._states[j] and isinstance(saved, Tensor):
                    self._states[j][name][r].copy_(saved)
        started = 1 if value.get("momentum_buffer") is not None else 0
        self._steps[self._at[r]] = int(value["step"]) if "step" in value else started

    def forget(self, p: object) -> None:
        """Run p's state starts again (a restart)."""
        r, _ = self._where[id(p)]
        self._steps[self._at[r]] = 0
        with torch.no_grad():
            for state in self._states:
                for s in state.values():
                    s[r].zero_()

    def stepped_params(self) -> list[object]:
        return [p for r in self._runs if self._steps[self._at[r]] for p in self._engine.params(r)]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for r in self._runs:
            for p in self._engine.params(r):
                p.grad = None

    def step(self, closure: Callable[[], float] | None = None) -> None:
        """Step each of its runs that holds a gradient of the engine's last pass. No `no_grad`
        needed (nor its cost): the stacked weights, their state and gradients never require
        grad (the engine's leaves are detached aliases of the weights)."""
        last = self._engine.last_grads()
        if last is None:
            return
        runs, grads = last
        keep = [j for j, r in enumerate(runs) if r in self._at and self._engine.params(r)[0].grad is not None]
        if not keep:
            return
        rows = [runs[j] for j in keep]
        places = [self._at[r] for r in rows]
        self._restarts(rows, places)
        self._allocate()
        c = self._coefficients(places)
        weights = self._engine.weights()
        if rows == self._everyone and runs == rows:
            for p, g, state, k in zip(weights, grads, self._states, self._group_of, strict=True):
                self._law.update(p, g, state, c[k])
        else:
            self._update_rows(weights, grads, rows, None if keep == list(range(len(runs))) else keep, c)
        for k in places:
            self._steps[k] += 1

    def _update_rows(
        self,
        weights: list[Tensor],
        grads: list[Tensor],
        rows: list[int],
        keep: list[int] | None,
        c: list[Coefficients],
    ) -> None:
        """Some runs only (others paused, failed, done, or another optimizer's): their rows
        gathered, stepped, put back. `keep`: the gradient rows they are, where not all."""
        at = self._indices(rows)
        picked = None if keep is None else self._indices(keep)
        for p, g, state, k in zip(weights, grads, self._states, self._group_of, strict=True):
            mine = {name: s.index_select(0, at) for name, s in state.items()}
            q = p.index_select(0, at)
            self._law.update(q, g if picked is None else g.index_select(0, picked), mine, c[k])
            p.index_copy_(0, at, q)
            for name, s in mine.items():
                state[name].index_copy_(0, at, s)

    def _indices(self, rows: list[int]) -> Tensor:
        key = tuple(rows)
        if key not in self._index:
            self._index[key] = self._up(torch.tensor(rows, dtype=torch.long))
        return self._index[key]

    def _restarts(self, rows: list[int], places: list[int]) -> None:
        """A run given a new group was restarted: its state starts again."""
        for r, k in zip(rows, places, strict=True):
            if self.param_groups[k * self._g] is not self._seen[k]:
                self._seen[k] = self.param_groups[k * self._g]
                self.forget(self._engine.params(r)[0])

    def _allocate(self) -> None:
        names = self._law.states(self.param_groups)
        for p, state in zip(self._engine.weights(), self._states, strict=True):
            for name in names:
                if name not in state:
                    state[name] = torch.zeros_like(p)

    def _up(self, t: Tensor) -> Tensor:
        """A host tensor on the weights' device; to CUDA from pinned memory, not waiting for it
        (the caching host allocator keeps the pinned copy until the transfer is done)."""
        if self.device.type == "cuda":
            return t.pin_memory().to(self.device, non_blocking=True)
        return t if self.device.type == "cpu" else t.to(self.device)

    def _coefficients(self, places: list[int]) -> list[Coefficients]:
        """Each group's rows for the runs, computed on the host and sent up without waiting
        for the device."""
        wide = self._engine.weights()[0].dtype == torch.float64
        out = []
        for g, last in enumerate(self._last):
            host = [self._law.row(self.param_groups[k * self._g + g], self._steps[k]) for k in places]
            if last is None or last.host != host:
                table = torch.tensor(host, dtype=torch.float64 if wide else torch.float32)
                last = self._last[g] = Coefficients(self._up(table), host)
            out.append(last)
        return out
