"""`python -m lrtui.bench.checkpoint`: what a checkpoint of a whole comparison costs.

For the charlm task (its `lm` preset: three schedules, AdamW) and the own-model benchmark's
MLP (six schedules, SGD with momentum; `bench.ownmodel`), the comparison trains a few steps,
then a checkpoint is written `--repeat` times (to a temporary folder: `--dir` to pick the
disk); printed: the file's size, and the median and the slowest time of a checkpoint, which is
time the trainer does not train (a checkpoint holds the weights, the optimizer's state and
the schedules of every run).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from types import SimpleNamespace


def _ready(kind: str):
    from lrtui.bench.ownmodel import _task, schedules
    from lrtui.engine.tasks import UserTask
    from lrtui.modes.config import Settings, build_ready, parse_scheduler_flag
    from lrtui.schedule.optimizers import parse_optimizer

    if kind == "charlm":
        return build_ready(Settings(task="charlm", epochs=1, batches=20, device="cpu"))
    build, data = _task("mlp", 10)
    task = UserTask(SimpleNamespace(model=build, batches=lambda epoch: data), "bench", None)
    settings = Settings(
        runs=[parse_scheduler_flag(s) for s in schedules(6)], epochs=1, lr=0.05, device="cpu",
        optimizer=parse_optimizer("momentum"), task="bench",
    )  # fmt: skip
    return build_ready(settings, task=task)


def measure(kind: str, folder: Path, repeat: int) -> dict:
    """Train until the optimizers hold state, then time `repeat` checkpoints."""
    from lrtui.engine import checkpoint
    from lrtui.engine.checkpoint import CheckpointPolicy
    from lrtui.engine.resumable import CheckpointingTrainer

    ready = _ready(kind)
    policy = CheckpointPolicy(str(folder / kind), every_steps=None, every_seconds=None)
    trainer = CheckpointingTrainer(
        ready.exp, lambda events: None, workload=ready.workload, checkpoints=policy
    )
    with warnings.catch_warnings():  # torch's note on the order of optimizer and scheduler steps
        warnings.simplefilter("ignore")
        trainer._setup()
        active = [r for r in trainer._runs if r.active]
        for _ in range(3):
            trainer._train_step(active)
    seconds = []
    for _ in range(repeat):
        trainer._steps_taken += 1  # a file of its own each time, as training would
        start = time.perf_counter()
        trainer.checkpoint()
        seconds.append(time.perf_counter() - start)
    newest = checkpoint.listed(folder / kind)[0]
    params = sum(p.numel() for p in trainer._engine.params(0))
    return {
        "kind": kind,
        "runs": len(ready.exp.runs),
        "optimizer": ready.exp.optimizer.name,
        "params_per_run": params,
        "mb": newest.stat().st_size / 1e6,
        "median_s": statistics.median(seconds),
        "max_s": max(seconds),
        "repeat": repeat,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lrtui.bench.checkpoint", description=__doc__)
    p.add_argument("--repeat", type=int, default=5, help="checkpoints timed per task (default 5)")
    p.add_argument("--dir", help="where to write them (default: a temporary folder)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        results = [measure(kind, Path(tmp), args.repeat) for kind in ("charlm", "mlp")]
    print(f"checkpoint cost on the CPU, median and slowest of {args.repeat} (fsync included)")
    print(f"{'task':28} {'runs':>4} {'params/run':>11} {'MB':>7} {'median s':>9} {'max s':>7}")
    for r in results:
        name = "charlm (lm preset)" if r["kind"] == "charlm" else "own-model MLP (bench)"
        name = f"{name}, {r['optimizer']}"
        print(
            f"{name:28} {r['runs']:>4} {r['params_per_run']:>11,} {r['mb']:>7.1f} "
            f"{r['median_s']:>9.3f} {r['max_s']:>7.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
