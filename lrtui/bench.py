"""`python -m lrtui.bench`: how fast lrtui compares schedulers, and what watching costs.

Each part runs in a process of its own (so peak memory is its own), on the seed experiment
unless told otherwise, and the figures are printed side by side with their ratios:

- tutorial: the tutorial's loop, plain PyTorch, training the runs one after another;
- headless: the lrtui engine without a UI (`lrtui --headless`'s training);
- app: the full Textual app under its headless driver, with key presses during training
  (latency from a key press until the screen shows its effect);
- history: the memory one run's display history holds after 1,000,000 steps.

`--sync-check` runs the trainer on CUDA with torch's sync debug mode and counts host-device
synchronisations per training step (needs a GPU).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _experiment(epochs: int, batches: int, device: str = "cpu", engine: str = "auto"):
    from lrtui.config import Settings, build_experiment

    return build_experiment(
        Settings(preset="seed", epochs=epochs, batches=batches, device=device, engine=engine)
    )


# ---- the parts, each in its own process --------------------------------------------------
def part_tutorial(epochs: int, batches: int) -> dict:
    """The tutorial's own loop: a model, an optimizer and a scheduler per run, in turn."""
    import torch
    from torch import nn, optim
    from torch.optim import lr_scheduler as lrs

    from lrtui.data import make_dataset
    from lrtui.schedulers import build_scheduler

    exp = _experiment(epochs, batches)
    start = time.perf_counter()
    x, y = make_dataset("random", batches, 32, 0)
    trainloader = list(zip(x, y, strict=True))
    for run in exp.runs:
        model = nn.Linear(10, 2)
        criterion = nn.CrossEntropyLoss()
        optimizer = optim.SGD(model.parameters(), lr=0.1)
        scheduler = build_scheduler(run.scheduler, optimizer)
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
    return {"seconds": seconds, "steps": steps, "peak_mb": _peak_mb()}


def _timed(trainer, spans: list[float]):
    """The trainer, its `run` timed: training steps/s, without start-up and hand-over lag."""
    run = trainer.run

    def timed() -> None:
        start = time.perf_counter()
        run()
        spans.append(time.perf_counter() - start)

    trainer.run = timed
    return trainer


def part_engine(epochs: int, batches: int) -> dict:
    """The trainer alone on the main thread, its events dropped: the floor any front end adds to."""
    from lrtui.training import Trainer

    exp = _experiment(epochs, batches)
    start = time.perf_counter()
    Trainer(exp, lambda events: None).run()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "train_seconds": seconds,
        "steps": len(exp.runs) * epochs * batches,
        "peak_mb": _peak_mb(),
    }


def part_headless(epochs: int, batches: int, engine: str) -> dict:
    """`lrtui --headless` as run from the command line: the trainer in its thread, the table and
    the leaderboard on the main thread."""
    import io

    from lrtui import headless

    exp = _experiment(epochs, batches, engine=engine)
    spans: list[float] = []
    trainer_class = headless.Trainer
    headless.Trainer = lambda *a, **k: _timed(trainer_class(*a, **k), spans)  # type: ignore[assignment]
    start = time.perf_counter()
    headless.run_headless(exp, io.StringIO())
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "train_seconds": spans[0],
        "steps": len(exp.runs) * epochs * batches,
        "peak_mb": _peak_mb(),
    }


def _app_run(epochs: int, batches: int, probe: bool) -> dict:
    """One app run to the end; with `probe`, keys are pressed throughout and timed."""
    from textual import events

    from lrtui.app import LrTuiApp
    from lrtui.events import RunStatus
    from lrtui.live import LIVE_FLUSH_SECONDS
    from lrtui.state import run_infos
    from lrtui.training import Trainer

    exp = _experiment(epochs, batches)
    spans: list[float] = []
    app = LrTuiApp(
        run_infos(exp),
        lambda sink: _timed(Trainer(exp, sink, plans=True, flush_interval=LIVE_FLUSH_SECONDS), spans),
        source_label="bench",
    )
    latencies: list[float] = []
    pause_latencies: list[float] = []
    paused_for = 0.0
    # when the screen was written, what had focus, and whether every run showed paused
    shown: list[tuple[float, int | None, bool]] = []
    display = app._display
    written = asyncio.Event()

    def spy(screen, renderable) -> None:
        display(screen, renderable)
        paused = app.state.overall() == "paused"
        shown.append((time.perf_counter(), getattr(app.focused, "index", None), paused))
        written.set()

    app._display = spy  # type: ignore[method-assign]

    async def next_write() -> None:
        written.clear()
        await written.wait()

    async def until_shown(t0: float, focused: int) -> float:
        """Wait (without polling) for a screen write made after t0 with `focused` focused."""
        while True:
            hit = next((t for t, f, _ in shown if t >= t0 and f == focused), None)
            if hit is not None:
                return hit - t0
            await next_write()

    async def drive() -> float:
        nonlocal paused_for
        async with app.run_test(size=(120, 40)):
            start = time.perf_counter()  # the app is up; the trainer builds its data from here on
            while app.state.overall() != "finished":
                if not probe:
                    await asyncio.sleep(0.25)  # watched: the trainer's own time is what counts
                    continue
                if app.state.total_steps == 0:
                    await asyncio.sleep(0.05)
                    continue
                # focus: from the key event to the first screen write that shows it
                target = len(latencies) % len(exp.runs)
                t0 = time.perf_counter()
                app.post_message(events.Key(str(target + 1), str(target + 1)))
                latencies.append(await until_shown(t0, target))
                if len(pause_latencies) < 10 and app.state.overall() == "running":
                    # pause all: until the screen shows every run paused
                    t0 = time.perf_counter()
                    app.post_message(events.Key("space", " "))
                    while not any(t >= t0 and p for t, _, p in shown):
                        await next_write()
                    pause_latencies.append(next(t for t, _, p in shown if t >= t0 and p) - t0)
                    app.post_message(events.Key("space", " "))
                    paused_for += time.perf_counter() - t0
                await asyncio.sleep(0.05)
            seconds = time.perf_counter() - start
            assert all(r.status is RunStatus.DONE for r in app.state.runs)
            return seconds

    seconds = asyncio.run(drive())
    return {
        "seconds": seconds,
        "train_seconds": spans[0] if spans else seconds,
        "steps": len(exp.runs) * epochs * batches,
        "paused_seconds": paused_for,
        "key_ms": [round(v * 1000, 2) for v in latencies],
        "pause_ms": [round(v * 1000, 2) for v in pause_latencies],
    }


def part_app(epochs: int, batches: int) -> dict:
    """The app watched, no keys: what monitoring costs the training."""
    watched = _app_run(epochs, batches, probe=False)
    return {**watched, "peak_mb": _peak_mb()}


def part_keys(epochs: int, batches: int) -> dict:
    """The app used: keys pressed throughout training, each timed until the screen shows it."""
    used = _app_run(epochs, batches, probe=True)
    return {
        "steps": used["steps"],
        "used_seconds": used["train_seconds"] - used["paused_seconds"],
        "key_ms": used["key_ms"],
        "pause_ms": used["pause_ms"],
    }


def part_history(steps: int, runs: int) -> dict:
    """Feed `steps` steps of `runs` runs into the display state; measure what it holds."""
    import tracemalloc

    from lrtui.events import RunInfo, StepEvent
    from lrtui.state import ExperimentState

    tracemalloc.start()
    state = ExperimentState([RunInfo(f"run {i}", total_steps=steps) for i in range(runs)], time.monotonic)
    chunk = 10_000
    start = time.perf_counter()
    for base in range(0, steps, chunk):
        batch = [
            StepEvent(r, 0, s, 1 + s // 1000, (0.1 / (1 + s // 1000),), 1.0 / s, 0.0)
            for s in range(base + 1, min(steps, base + chunk) + 1)
            for r in range(runs)
        ]
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
    from lrtui.training import Trainer

    exp = _experiment(1, steps, device="cuda")
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


PARTS = {"tutorial", "engine", "headless", "sequential", "app", "keys", "history", "sync-check"}
TIMED = ("tutorial", "engine", "headless", "sequential", "app")


def _run_part(name: str, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "lrtui.bench",
        "--part",
        name,
        "--epochs",
        str(args.epochs),
        "--batches",
        str(args.batches),
        "--history-steps",
        str(args.history_steps),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if done.returncode != 0:
        raise SystemExit(f"lrtui.bench: part {name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median_run(runs: list[dict]) -> dict:
    """The run with the median training time (its own figures, not a mix of runs)."""
    ordered = sorted(runs, key=lambda r: r.get("train_seconds", r["seconds"]))
    return ordered[len(ordered) // 2]


def _round_ratios(rounds: dict[str, list[dict]]) -> list[str]:
    """App/headless steps/s of each round on its own, to show the spread."""
    return [
        f"{h['train_seconds'] / a['train_seconds']:.2f}"
        for h, a in zip(rounds["headless"], rounds["app"], strict=True)
    ]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lrtui.bench", description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=11)
    p.add_argument("--batches", type=int, default=1000)
    p.add_argument("--history-steps", type=int, default=1_000_000)
    p.add_argument(
        "--repeat", type=int, default=3, help="rounds of the timed parts, interleaved; medians are shown"
    )
    p.add_argument("--part", choices=sorted(PARTS), help=argparse.SUPPRESS)
    p.add_argument("--sync-check", action="store_true", help="count CUDA syncs per step (needs a GPU)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = p.parse_args(argv)
    if args.part:
        warnings.simplefilter("ignore")
        result = {
            "tutorial": lambda: part_tutorial(args.epochs, args.batches),
            "engine": lambda: part_engine(args.epochs, args.batches),
            "headless": lambda: part_headless(args.epochs, args.batches, "auto"),
            "sequential": lambda: part_headless(args.epochs, args.batches, "sequential"),
            "app": lambda: part_app(args.epochs, args.batches),
            "keys": lambda: part_keys(args.epochs, args.batches),
            "history": lambda: part_history(args.history_steps, 1),
            "sync-check": lambda: part_sync_check(args.batches),
        }[args.part]()
        print(json.dumps(result))
        return 0
    if args.sync_check:
        print(json.dumps(_run_part("sync-check", args), indent=2))
        return 0

    print(f"lrtui bench: seed experiment, {args.epochs} epochs x {args.batches} batches x 6 schedulers")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    rounds: dict[str, list[dict]] = {name: [] for name in TIMED}
    for _ in range(max(1, args.repeat)):  # interleaved, so a slow spell of the machine hits every part
        for name in TIMED:
            rounds[name].append(_run_part(name, args))
    results = {name: _median_run(runs) for name, runs in rounds.items()}
    results["keys"] = _run_part("keys", args)
    results["history"] = _run_part("history", args)
    tut, engine, head, seq, app, keys_run, hist = (
        results[k] for k in ("tutorial", "engine", "headless", "sequential", "app", "keys", "history")
    )
    rows = [
        ("tutorial loop (plain PyTorch, one run after another)", tut),
        ("lrtui trainer alone, main thread, events dropped", engine),
        ("lrtui --headless (stacked engine)", head),
        ("lrtui --headless (sequential engine)", seq),
        ("lrtui app (Textual headless driver), watched", app),
    ]
    n = max(1, args.repeat)
    print(f"\nmedian of {n} interleaved rounds, each part in a fresh process")
    print(f"{'':56} {'wall s':>8} {'train s':>8} {'steps/s':>10} {'peak MB':>8}")
    for label, r in rows:
        train = r.get("train_seconds", r["seconds"])
        print(f"{label:56} {r['seconds']:8.2f} {train:8.2f} {r['steps'] / train:10,.0f} {r['peak_mb']:8.0f}")
    rate = {k: results[k]["steps"] / results[k].get("train_seconds", results[k]["seconds"]) for k in TIMED}
    print("\nratios")
    print(
        f"  headless wall time / tutorial wall time   {head['seconds'] / tut['seconds']:.2f}  (target <= 0.5)"
    )
    print(
        f"  app steps/s / headless steps/s            {rate['app'] / rate['headless']:.2f}  (target >= 0.9; "
        f"rounds: {', '.join(_round_ratios(rounds))})"
    )
    print(f"  app steps/s / trainer-alone steps/s       {rate['app'] / rate['engine']:.2f}")
    print(f"  sequential engine / tutorial wall time    {seq['seconds'] / tut['seconds']:.2f}")
    print(
        f"  app with keys pressed every 50 ms / headless steps/s  "
        f"{keys_run['steps'] / keys_run['used_seconds'] / rate['headless']:.2f}"
    )
    keys, pauses = keys_run["key_ms"], keys_run["pause_ms"]
    print("\nkey press -> screen, during training")
    print(
        f"  focus key   n={len(keys):3}  p50 {statistics.median(keys):6.1f} ms   "
        f"p95 {_pct(keys, 0.95):6.1f} ms"
        "  (target p95 <= 100)"
    )
    if pauses:
        print(
            f"  pause all   n={len(pauses):3}  p50 {statistics.median(pauses):6.1f} ms   "
            f"p95 {_pct(pauses, 0.95):6.1f} ms  (the app shows it at once)"
        )
    mb = hist["history_bytes"] / 1e6
    print(
        f"\ndisplay history of one run after {args.history_steps:,} steps: {mb:.3f} MB of buckets, "
        f"{hist['traced_bytes'] / 1e6:.3f} MB traced in all; "
        f"x6 runs: {6 * hist['traced_bytes'] / 1e6:.2f} MB "
        "(target <= 50 MB)"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
