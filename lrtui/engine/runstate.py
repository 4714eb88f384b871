"""One run's training state as plain data, and back: what a checkpoint holds of each run.

Weights go through the run's own parameters (`Engine.params`), which are rows of the stacked
storage or a module's own, so one way serves every engine; buffers (BatchNorm's running
statistics) through the run's module. The optimizer's state may live in the optimizer that
steps every run at once (`slot.shared_optimizer`): it is read from whichever holds it, and
param groups are updated in place, since the shared optimizer holds the very same dicts.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lrtui.engine.checkpoint import random_states
from lrtui.engine.engines import Engine
from lrtui.engine.slot import RunSlot
from lrtui.schedule.state import load_schedule_state, schedule_state
from lrtui.spec.events import RunStatus

# where a run stands, kept as they are (its status by value)
_PLACE = ("gen", "paused", "step", "epoch", "batch", "marks", "counters", "counters_sent", "counters_step")


def _copy(value: object) -> object:
    if isinstance(value, torch.Tensor):
        return value.detach().clone().cpu()
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value)
    return value


Holders = Sequence[torch.optim.Optimizer]  # optimizers stepping several runs' groups at once


def holder_of(r: RunSlot, holders: Holders) -> torch.optim.Optimizer:
    """The optimizer that keeps run `r`'s per-parameter state: the one stepping its param group
    (the very dict), else its own."""
    assert r.optimizer is not None
    group = r.optimizer.param_groups[0]
    return next((o for o in holders if any(g is group for g in o.param_groups)), r.optimizer)


def run_state(r: RunSlot, engine: Engine, holders: Holders, now: float) -> dict:
    """Run `r` at this moment: place, weights, buffers, optimizer and schedule."""
    assert r.optimizer is not None and r.watched is not None
    holder = holder_of(r, holders)
    params = [p for g in r.optimizer.param_groups for p in g["params"]]
    return {
        "place": {k: getattr(r, k) for k in _PLACE},
        "status": r.status.value,
        "elapsed": now - r.started,
        "params": [_copy(p) for p in engine.params(r.index)],
        "buffers": {k: _copy(b) for k, b in engine.module(r.index).named_buffers()},
        "groups": [_copy({k: v for k, v in g.items() if k != "params"}) for g in r.optimizer.param_groups],
        "optimizer": [_copy(holder.state.get(p, {})) for p in params],
        "schedule": schedule_state(r.watched),
    }


def load_run_state(
    r: RunSlot, state: dict, engine: Engine, holders: Holders, now: float, device: torch.device
) -> None:
    """Put run `r` back as `run_state` saw it; its optimizer and schedule were built anew."""
    assert r.optimizer is not None and r.watched is not None
    for k, v in state["place"].items():
        setattr(r, k, v)
    r.status = RunStatus(state["status"])
    r.started = now - state["elapsed"]
    with torch.no_grad():
        for p, saved in zip(engine.params(r.index), state["params"], strict=True):
            p.copy_(saved)
        module = engine.module(r.index)
        buffers = dict(module.named_buffers())
        for k, saved in state["buffers"].items():
            buffers[k].copy_(saved)
    for group, saved in zip(r.optimizer.param_groups, state["groups"], strict=True):
        group.update({k: _to(v, device, False) for k, v in saved.items()})
    holder = holder_of(r, holders)
    params = [p for g in r.optimizer.param_groups for p in g["params"]]
    on_device = bool(holder.defaults.get("capturable") or holder.defaults.get("fused"))
    for p, saved in zip(params, state["optimizer"], strict=True):
        if saved:
            holder.state[p] = {k: _to(v, p.device, on_device) for k, v in saved.items()}
    load_schedule_state(r.watched, state["schedule"])


def _to(value: object, device: torch.device, scalars_too: bool) -> object:
    """A saved value back on the device; an optimizer's `step` count (a 0-d tensor) stays
    where torch keeps it: on the CPU, unless the optimizer is fused or capturable."""
    if isinstance(value, torch.Tensor) and (value.dim() > 0 or scalars_too):
        return value.to(device)
    return value


def trainer_state(exp: object, runs: list[RunSlot], engine: Engine, holders: Holders, steps: int,
                  now: float) -> dict:  # fmt: skip
    """The whole trainer: the experiment, every run, its step counter, the random states."""
    return {
        "exp": exp,
        "steps": steps,
        "runs": [run_state(r, engine, holders, now) for r in runs],
        "random": random_states(),
    }
