"""`lrtui.compare(...)`: the same comparison as `lrtui --task`, from a Python script or notebook.

    import lrtui
    results = lrtui.compare(model=make_model, batches=loader, schedulers=["OneCycleLR(max_lr=0.1)",
                            "CosineAnnealingLR(T_max=10)"], epochs=10, optimizer="AdamW(weight_decay=0.01)")

It returns the runs' results (`lrtui.state.results.Results`), not an exit code: a script acts on
numbers. Torch is imported when it runs, so `import lrtui` and `help(lrtui.compare)` stay light.
Bad input raises `ValueError` (a `SpecError`) with the same message the command line prints.
"""

from __future__ import annotations

import copy
import inspect
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from lrtui.spec.choices import IN_MEMORY_TASK
from lrtui.spec.pipe import on_a_terminal
from lrtui.spec.settings import Settings, parse_scheduler_flag
from lrtui.state.results import Results, results

if TYPE_CHECKING:  # torch is imported when `compare` runs, not by `import lrtui`
    from torch import Tensor, nn

    from lrtui.engine.tasks import UserTask


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
    from torch import nn

    from lrtui.engine.tasks import UserTask

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
) -> Results:
    """Train one copy of `model` per schedule on the same batches and compare them: in the
    app, or with `headless` as the table and leaderboard on standard output. Returns the
    `Results`: each run's final, best (smoothed) and validation loss, status and every step's
    LR and loss (`results.runs`), the leaderboard's lines (`results.leaderboard`, also what
    `print(results)` shows) and `results.to_pandas()`.

    `model` is a module (copied: every run starts from its weights) or a function that builds
    one; `batches` a function of the epoch, or an iterable (a DataLoader) read once per epoch;
    `schedulers` specs as on the command line (`"OneCycleLR(max_lr=0.1)"`, `"AdamW | StepLR"`);
    `loss(model, batch)` by default cross-entropy for integer targets, MSE for floats;
    `evaluate(model)` a validation loss at each epoch's end (the leaderboard then ranks by it).
    `seeds` trains every schedule under that many seeds (a function builds each seed's weights;
    a module given as is starts every seed from its own weights, so seeds differ in batch order).
    Bad input raises `ValueError` with the message the command line prints."""
    from lrtui.modes.config import build_ready
    from lrtui.schedule.optimizers import parse_optimizer

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
        task=IN_MEMORY_TASK,
    )
    ready = build_ready(settings, task=_task(model, batches, loss, evaluate))
    return _headless(ready) if headless or not _terminal_here() else _live(ready)


def _headless(ready) -> Results:
    from lrtui.modes.headless import run_headless
    from lrtui.spec.describe import run_infos
    from lrtui.state.runs import ExperimentState

    state = ExperimentState(run_infos(ready.exp), time.monotonic)
    state.keep_steps()
    run_headless(ready.exp, sys.stdout, workload=ready.workload, state=state)
    return results(state.runs)


def _terminal_here() -> bool:
    """Whether the app can take the screen and the keys; where not (a notebook, a pipe,
    nohup), the comparison trains headless and says so."""
    if on_a_terminal():
        return True
    sys.stderr.write("lrtui: no terminal here (a notebook, a pipe, nohup): training headless\n")
    return False


def _live(ready) -> Results:
    """The app until quit; the results from the runs as the app folded them. The app itself
    failing (not a run: those fail alone) is raised, its line already on standard error."""
    from lrtui.modes.live import build_app, run_built

    app = build_app(ready)
    app.state.keep_steps()
    if run_built(app) != 0:
        raise RuntimeError(app.fatal or "the viewer failed")
    return results(app.state.runs)
