"""The bench's own-model part: a ~1M-parameter MLP and a small CNN, six schedules (or `--runs`
N, the six repeated), lrtui against N plain PyTorch loops over the very same batches, on the
CPU or a GPU.

lrtui is measured as it trains (`--task`'s path: the engine it picks, and each engine forced);
the plain loops are the tutorial's loop for each schedule in turn.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

SCHEDULES = (
    "StepLR(step_size=1, gamma=0.5)",
    "ExponentialLR(gamma=0.8)",
    "CosineAnnealingLR(T_max=2)",
    "OneCycleLR(max_lr=0.05)",
    "LinearLR(start_factor=0.1, total_iters=1)",
    "CyclicLR(base_lr=0.001, max_lr=0.05, step_size_up=10)",
)


def schedules(runs: int) -> list[str]:
    """`runs` schedules: the six, repeated as often as it takes."""
    return [SCHEDULES[i % len(SCHEDULES)] for i in range(runs)]


def _task(kind: str, batches: int):
    """The model and a fixed set of batches (made once, the same for every contender)."""
    import torch
    from torch import nn

    gen = torch.Generator().manual_seed(0)
    if kind == "mlp":

        def build() -> nn.Module:
            return nn.Sequential(
                nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 512), nn.ReLU(), nn.Linear(512, 10)
            )

        shape, size = (512,), 128
    else:

        def build() -> nn.Module:
            return nn.Sequential(
                *(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
                *(nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1)),
                *(nn.Flatten(), nn.Linear(64, 10)),
            )

        shape, size = (3, 32, 32), 64
    data = [
        (torch.randn(size, *shape, generator=gen), torch.randint(0, 10, (size,), generator=gen))
        for _ in range(batches)
    ]
    return build, data


def plain_runs(runs: int, epochs: int, batches: int):
    """The N runs' specs, as the plain loops train them."""
    from lrtui.modes.config import Settings, build_experiment, parse_scheduler_flag

    settings = Settings(
        runs=[parse_scheduler_flag(s) for s in schedules(runs)], epochs=epochs, batches=batches
    )
    return build_experiment(settings).runs


def plain_loop(build, data, epochs: int, run) -> None:
    """The tutorial's loop for one run's schedule, on batches already on the device."""
    import torch
    from torch.nn import functional as F

    from lrtui.schedule.build import build_watched

    torch.manual_seed(0)
    model = build().to(data[0][0].device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = build_watched(run.scheduler, opt).scheduler
    for _ in range(epochs):
        for x, y in data:
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
            if run.interval == "batch":
                sched.step()
        if run.interval == "epoch":
            sched.step()


def _plain(build, data, epochs: int, device, runs: int) -> float:
    """N plain loops, one schedule after another; seconds."""
    import torch

    specs = plain_runs(runs, epochs, len(data))
    data = [(x.to(device), y.to(device)) for x, y in data]
    start = time.perf_counter()
    for run in specs:
        plain_loop(build, data, epochs, run)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def _lrtui(build, data, epochs: int, device_name: str, engine: str, runs: int) -> tuple[float, str]:
    """lrtui's trainer on the same task; its own training seconds and the engine it used."""
    from lrtui.engine.tasks import UserTask
    from lrtui.engine.trainer import Trainer
    from lrtui.modes.config import Settings, build_ready, parse_scheduler_flag
    from lrtui.schedule.optimizers import parse_optimizer

    task = UserTask(SimpleNamespace(model=build, batches=lambda epoch: data), "bench", None)
    settings = Settings(
        runs=[parse_scheduler_flag(s) for s in schedules(runs)], epochs=epochs, lr=0.05, engine=engine,
        optimizer=parse_optimizer("momentum"), device=device_name, task="bench",
    )  # fmt: skip
    ready = build_ready(settings, task=task)
    trainer = Trainer(ready.exp, lambda events: None, workload=ready.workload, flush_interval=0.1)
    trainer.run()
    return trainer.train_seconds, ready.engine


def part_own(
    kind: str, device_name: str, epochs: int = 2, batches: int = 25, rounds: int = 2, runs: int = 6
) -> dict:
    """Each contender's best of `rounds` interleaved rounds (a slow spell hits all alike)."""
    import torch

    from lrtui.engine.device import resolve_device

    device = resolve_device(device_name)
    build, data = _task(kind, batches)
    params = sum(p.numel() for p in build().parameters())
    steps = runs * epochs * batches
    result: dict = {"kind": kind, "params": params, "steps": steps, "device": str(device), "runs": runs}
    if device.type == "cuda":
        result["gpu"] = torch.cuda.get_device_name(device)
    best: dict[str, float] = {}
    for _ in range(rounds):
        best["plain"] = min(best.get("plain", float("inf")), _plain(build, data, epochs, device, runs))
        for engine in ("auto", "stacked", "sequential"):
            seconds, why = _lrtui(build, data, epochs, device_name, engine, runs)
            best[engine] = min(best.get(engine, float("inf")), seconds)
            result[f"{engine}_engine"] = why
    result.update({f"{name}_seconds": seconds for name, seconds in best.items()})
    result["rounds"] = rounds
    if device.type == "cuda":  # what a user does instead: a script per schedule, all at once
        from lrtui.bench.processes import separate_processes

        result["processes_seconds"] = separate_processes(kind, device_name, runs, epochs, batches)
    return result


def report(results: list[dict]) -> None:
    first = results[0]
    where = first.get("gpu") or first["device"]
    n = first.get("runs", 6)
    print(f"\nown model: {n} schedules, SGD with momentum, the same batches for every contender, on {where}")
    print(
        f"best of {first['rounds']} interleaved rounds; train s = the trainer's own time, first step to last"
    )
    print(f"{'':44} {'train s':>8} {'steps/s':>9} {'x plain':>8}")
    for r in results:
        plain = r["plain_seconds"]
        print(f"{r['kind']} ({r['params'] / 1e6:.2f}M parameters, {r['steps']} run-steps)")
        label = f"{n} plain PyTorch loops, one after another"
        print(f"  {label:42} {plain:8.2f} {r['steps'] / plain:9,.0f} {1:8.2f}")
        apart = r.get("processes_seconds")
        if apart is not None:
            label = f"{n} plain loops in {n} processes at once"
            print(f"  {label:42} {apart:8.2f} {r['steps'] / apart:9,.0f} {plain / apart:8.2f}")
        for engine in ("auto", "stacked", "sequential"):
            s = r[f"{engine}_seconds"]
            label = f"lrtui --engine {engine}"
            print(f"  {label:42} {s:8.2f} {r['steps'] / s:9,.0f} {plain / s:8.2f}")
        print(f"    auto chose: {r['auto_engine']}")
