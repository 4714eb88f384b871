"""The bench's stacked-step part: one training step of N stacked runs of the own-model MLP and
CNN, timed three ways on one engine: torch's shared optimizer step, the fused step, and the
fused step with the forward/backward captured as CUDA graphs (on CUDA only; elsewhere it says
why not). Warm-up steps first (the capture compiles then), then the timed steps, the device
synchronised once at the end: the steady step time, not the start-up.
"""

from __future__ import annotations

import time

WARM, TIMED = 10, 40


def _engine(build, runs: int, device):
    import torch
    from torch.nn import functional as F

    from lrtui.engine.engines import StackedEngine

    torch.manual_seed(0)
    inits = [build() for _ in range(runs)]
    template = inits[0].to(device)

    def one(params, batch):
        x, y = batch
        return F.cross_entropy(torch.func.functional_call(template, params, (x,)), y)

    return StackedEngine(torch.func.vmap(one, in_dims=(0, 0)), inits, runs, device)


def _timed(engine, step, batches, device) -> float:
    """Seconds per training step, after the warm-up."""
    import torch

    everyone = list(range(len(engine.weights()[0])))

    def train(batch) -> None:
        engine.forward_backward(everyone, [batch])
        step.step()
        step.zero_grad()

    for batch in batches[:WARM]:
        train(batch)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for batch in batches[WARM:]:
        train(batch)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / (len(batches) - WARM)


def _contender(build, batches, runs: int, device, fused: bool, capture: bool) -> tuple[float | None, str]:
    import torch

    from lrtui.engine.fused import fuse

    engine = _engine(build, runs, device)
    optimizers = [torch.optim.SGD(engine.params(k), lr=0.05, momentum=0.9) for k in range(runs)]
    step = fuse(engine, list(range(runs)), optimizers) if fused else None
    if step is None:
        step = torch.optim.SGD([o.param_groups[0] for o in optimizers], lr=0.05, momentum=0.9)
    why = engine.capture() if capture else None
    if why is not None:
        return None, why
    seconds = _timed(engine, step, batches, device)
    return seconds, engine.capture_note or ("captured" if capture else "eager")


def _profile(build, batches, runs: int, device) -> dict:
    """Where the fused step's time goes: wall time against the device's busy time, and the
    kernels launched, per step (torch's profiler over the timed steps). A device busy for a
    small part of the wall time waits on launches (the CPU side); busy nearly all of it, on
    memory or compute (the top kernels tell which)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from lrtui.engine.fused import fuse

    engine = _engine(build, runs, device)
    optimizers = [torch.optim.SGD(engine.params(k), lr=0.05, momentum=0.9) for k in range(runs)]
    step = fuse(engine, list(range(runs)), optimizers)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        wall = _timed(engine, step, batches, device)
    events = [e for e in prof.key_averages() if e.self_device_time_total > 0]
    busy = sum(e.self_device_time_total for e in events) / 1e3 / TIMED
    top = sorted(events, key=lambda e: -e.self_device_time_total)[:5]
    return {
        "wall_ms": wall * 1e3,
        "device_busy_ms": busy,
        "kernels_per_step": sum(e.count for e in events) / TIMED,
        "top": [(e.key[:60], e.self_device_time_total / 1e3 / TIMED) for e in top],
    }


def part_capture(kind: str, device_name: str, runs: int = 6) -> dict:
    from lrtui.bench.ownmodel import _task
    from lrtui.engine.device import resolve_device

    device = resolve_device(device_name)
    build, data = _task(kind, WARM + TIMED)
    batches = [(x.to(device), y.to(device)) for x, y in data]
    result: dict = {"kind": kind, "runs": runs, "device": str(device), "steps": TIMED}
    for name, fused, capture in (("torch", False, False), ("fused", True, False), ("captured", True, True)):
        seconds, note = _contender(build, batches, runs, device, fused, capture)
        result[name] = {"ms": None if seconds is None else seconds * 1e3, "note": note}
    if device.type == "cuda":
        result["profile"] = _profile(build, batches, runs, device)
    return result


def report(results: list[dict]) -> None:
    first = results[0]
    print(f"\none stacked training step, {first['runs']} runs, SGD with momentum, on {first['device']}")
    print(f"(after {WARM} warm-up steps, mean of {first['steps']}; ms per step of every run)")
    print(f"  {'':8} {'torch shared step':>18} {'fused step':>11} {'fused + captured':>17}")
    for r in results:
        cells = [r[name]["ms"] for name in ("torch", "fused", "captured")]
        text = [f"{c:.2f}" if c is not None else "-" for c in cells]
        print(f"  {r['kind']:8} {text[0]:>18} {text[1]:>11} {text[2]:>17}")
    for r in results:
        prof = r.get("profile")
        if prof:
            share = prof["device_busy_ms"] / prof["wall_ms"]
            print(
                f"  {r['kind']}, fused step profiled: {prof['wall_ms']:.2f} ms a step, the GPU busy"
                f" {prof['device_busy_ms']:.2f} ms of it ({share:.0%}),"
                f" {prof['kernels_per_step']:.0f} kernels"
            )
            for name, ms in prof["top"]:
                print(f"    {ms:7.3f} ms  {name}")
    notes = {r["captured"]["note"] for r in results if r["captured"]["note"] != "captured"}
    for note in sorted(notes):
        print(f"  {note}")
