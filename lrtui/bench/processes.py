"""The bench's separate-processes contender: what a user does without lrtui, one training
script per schedule, all started at once on the same device.

Each process builds its model and the same batches, sets up the device, says it is ready and
waits for the word; then it trains its one schedule's plain loop and tells the wall-clock
times it started and ended. The figure is the span from the first start to the last end: the
processes' start-up (Python, torch, the CUDA context) is left out, as the trainer's is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

DEADLINE = 1800.0  # seconds the processes may take in all

_CHILD = "from lrtui.bench.processes import child; child({!r}, {!r}, {}, {}, {}, {})"


def child(kind: str, device_name: str, index: int, runs: int, epochs: int, batches: int) -> None:
    """One process: the plain loop of run `index`, after the word on stdin."""
    import torch

    from lrtui.bench.ownmodel import _task, plain_loop, plain_runs
    from lrtui.engine.device import resolve_device

    device = resolve_device(device_name)
    build, data = _task(kind, batches)
    data = [(x.to(device), y.to(device)) for x, y in data]
    run = plain_runs(runs, epochs, batches)[index]
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.time()
    plain_loop(build, data, epochs, run)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    print(json.dumps({"start": start, "end": time.time()}), flush=True)


def separate_processes(kind: str, device_name: str, runs: int, epochs: int, batches: int) -> float:
    """Seconds from the first process's start of training to the last one's end."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD.format(kind, device_name, i, runs, epochs, batches)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(runs)
    ]
    try:
        for p in procs:
            if p.stdout is None or p.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a training process ended before it was ready (exit {p.wait()})")
        for p in procs:  # the word, to every process, as close together as can be
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        deadline = time.monotonic() + DEADLINE
        times = []
        for p in procs:
            out, _ = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            times.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return max(t["end"] for t in times) - min(t["start"] for t in times)
