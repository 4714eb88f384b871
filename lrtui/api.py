"""`lrtui.compare(...)`: the same comparison as `lrtui --task`, from a Python script or notebook.

    import lrtui
    lrtui.compare(model=make_model, batches=loader, schedulers=["OneCycleLR(max_lr=0.1)",
                  "CosineAnnealingLR(T_max=10)"], epochs=10, optimizer="AdamW(weight_decay=0.01)")

Bad input raises `ValueError` (a `SpecError`) with the same message the command line prints.
"""

from __future__ import annotations

import copy
import inspect
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from torch import Tensor, nn

from lrtui.config import build_ready
from lrtui.engine.tasks import UserTask
from lrtui.schedule.optimizers import parse_optimizer
from lrtui.spec.settings import Settings, parse_scheduler_flag


def _origin(*fns: object) -> Path | None:
    for fn in fns:
        try:
            found = inspect.getsourcefile(fn)  # type: ignore[arg-type]
        except TypeError:
            continue
        if found:
            return Path(found).resolve()
    return None


def _task(model, batches, loss, evaluate) -> UserTask:
    make = model if callable(model) and not isinstance(model, nn.Module) else (lambda: copy.deepcopy(model))
    each_epoch = batches if callable(batches) else (lambda epoch: batches)
    parts: dict[str, Any] = {"model": make, "batches": each_epoch}
    if loss is not None:
        parts["loss"] = loss
    if evaluate is not None:
        parts["evaluate"] = evaluate
    origin = _origin(model, batches, loss, evaluate)
    return UserTask(SimpleNamespace(**parts), origin.name if origin else "compare()", origin)


def compare(
    *,
    model: nn.Module | Callable[[], nn.Module],
    batches: Callable[[int], Iterable] | Iterable,
    schedulers: Sequence[str],
    epochs: int = 10,
    optimizer: str = "sgd",
    lr: float = 0.1,
    loss: Callable[[nn.Module, Any], Tensor] | None = None,
    evaluate: Callable[[nn.Module], float] | None = None,
    batches_per_epoch: int | None = None,
    headless: bool = False,
    device: str = "auto",
    seed: int = 0,
    seeds: int = 1,
    engine: str = "auto",
    amp: bool = False,
) -> int:
    """Train one copy of `model` per schedule on the same batches and show them side by side
    (the app, or with `headless` the table and leaderboard on standard output). `model` is a
    module (copied: every run starts from its weights) or a function that builds one;
    `batches` a function of the epoch, or an iterable (a DataLoader) read once per epoch.
    `seeds` trains every schedule under that many seeds (a function builds each seed's weights;
    a module given as is starts every seed from its own weights, so seeds differ in batch order)."""
    settings = Settings(
        runs=[parse_scheduler_flag(s) for s in schedulers],
        epochs=epochs,
        batches=batches_per_epoch,
        lr=lr,
        optimizer=parse_optimizer(optimizer),
        device=device,
        seed=seed,
        seeds=seeds,
        engine=engine,
        amp=amp or None,
        task="compare()",
    )
    ready = build_ready(settings, task=_task(model, batches, loss, evaluate))
    if headless:
        from lrtui.headless import run_headless

        return run_headless(ready.exp, sys.stdout, workload=ready.workload)
    from lrtui.live import run_app

    return run_app(ready)
