"""The bench's parts that train or fold events without the app, each run in a fresh process."""

from __future__ import annotations

import resource
import time
import warnings


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def experiment(epochs: int, batches: int, device: str = "cpu", engine: str = "auto"):
    from lrtui.modes.config import Settings, build_experiment

    return build_experiment(
        Settings(preset="seed", epochs=epochs, batches=batches, device=device, engine=engine)
    )


# ---- the parts, each in its own process --------------------------------------------------
def part_tutorial(epochs: int, batches: int) -> dict:
    """The tutorial's own loop: a model, an optimizer and a scheduler per run, in turn."""
    import torch
    from torch import nn, optim
    from torch.optim import lr_scheduler as lrs

    from lrtui.engine.builtin import make_dataset
    from lrtui.schedule.build import build_watched

    exp = experiment(epochs, batches)
    start = time.perf_counter()
    x, y = make_dataset("random", batches, 32, 0)
    trainloader = list(zip(x, y, strict=True))
    for run in exp.runs:
        model = nn.Linear(10, 2)
        criterion = nn.CrossEntropyLoss()
        optimizer = optim.SGD(model.parameters(), lr=0.1)
        scheduler = build_watched(run.scheduler, optimizer).scheduler
        plateau = isinstance(scheduler, lrs.ReduceLROnPlateau)
        for _ in range(epochs):
            for inputs, labels in trainloader:
                optimizer.zero_grad()
                loss = criterion(model(inputs), labels)
                loss.backward()
                optimizer.step()
            scheduler.step(loss.item()) if plateau else scheduler.step()
    seconds = time.perf_counter() - start
    steps = len(exp.runs) * epochs * batches
    del torch
    return {"seconds": seconds, "steps": steps, "peak_mb": peak_mb()}


def part_engine(epochs: int, batches: int) -> dict:
    """The trainer alone on the main thread, its events dropped: the floor any front end adds to."""
    from lrtui.engine.trainer import Trainer

    exp = experiment(epochs, batches)
    start = time.perf_counter()
    trainer = Trainer(exp, lambda events: None)
    trainer.run()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "train_seconds": trainer.train_seconds,
        "steps": len(exp.runs) * epochs * batches,
        "peak_mb": peak_mb(),
    }


def part_headless(epochs: int, batches: int, engine: str) -> dict:
    """`lrtui --headless` as run from the command line: the trainer in its thread, the table and
    the leaderboard on the main thread."""
    import io

    from lrtui.engine.trainer import Trainer
    from lrtui.modes.headless import run_headless

    exp = experiment(epochs, batches, engine=engine)
    made: list[Trainer] = []

    def make(exp, sink, **kwargs) -> Trainer:
        made.append(Trainer(exp, sink, **kwargs))
        return made[-1]

    start = time.perf_counter()
    run_headless(exp, io.StringIO(), make_trainer=make)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "train_seconds": made[0].train_seconds,
        "steps": len(exp.runs) * epochs * batches,
        "peak_mb": peak_mb(),
    }


def part_history(steps: int, runs: int) -> dict:
    """Feed `steps` steps of `runs` runs into the display state; measure what it holds."""
    import tracemalloc

    from lrtui.spec.events import RunInfo, StepBlock
    from lrtui.state.runs import ExperimentState

    tracemalloc.start()
    state = ExperimentState([RunInfo(f"run {i}", total_steps=steps) for i in range(runs)], time.monotonic)
    chunk = 1_000  # about what the trainer hands over per run per flush
    start = time.perf_counter()
    for base in range(0, steps, chunk):
        numbers = range(base + 1, min(steps, base + chunk) + 1)
        epochs = tuple(1 + s // 1000 for s in numbers)
        lrs = tuple((0.1 / e,) for e in epochs)
        losses = tuple(1.0 / s for s in numbers)
        batch = [StepBlock(r, 0, base + 1, epochs, lrs, losses, (0.0,) * len(losses)) for r in range(runs)]
        state.apply(batch)
        del batch
    seconds = time.perf_counter() - start
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "history_bytes": state.history_bytes(),
        "traced_bytes": current,
        "steps": steps * runs,
        "seconds": seconds,
    }


def part_sync_check(steps: int) -> dict:
    import torch

    if not torch.cuda.is_available():
        return {"skipped": "no CUDA device"}
    from lrtui.engine.trainer import Trainer

    exp = experiment(1, steps, device="cuda")
    exp = type(exp)(**{**exp.__dict__, "runs": tuple(r for r in exp.runs if r.label != "ReduceLROnPlateau")})
    Trainer(exp, lambda events: None).run()  # warm up (allocations, kernels)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("warn")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        Trainer(exp, lambda events: None, flush_interval=0.05).run()
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    torch.cuda.set_sync_debug_mode(0)
    syncs = [w for w in caught if "synchroniz" in str(w.message).lower()]
    run_steps = len(exp.runs) * steps
    return {
        "syncs": len(syncs),
        "steps": run_steps,
        "syncs_per_step": len(syncs) / run_steps,
        "seconds": seconds,
        "device": torch.cuda.get_device_name(),
    }
