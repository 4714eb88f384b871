"""The bench's step breakdown: the trainer alone on the seed experiment (events dropped), with
the fused multi-run optimizer step and with torch's shared step, side by side, each training
step's time split into forward/backward, optimizer, schedulers, events and the rest.

Both contenders run in this one process, in interleaved rounds (a slow spell of a shared
machine hits both alike), and each one's median round is kept.
"""

from __future__ import annotations

import statistics
import time

PHASES = ("forward/backward", "optimizer", "schedulers", "events", "the rest")


def _timed_trainer(exp, fused: bool):
    """A Trainer that times its phases; `fused` False steps with torch's shared optimizer."""
    from lrtui.engine.slot import StepGroups
    from lrtui.engine.trainer import Trainer

    class Timed(Trainer):
        def __init__(self) -> None:
            super().__init__(exp, lambda events: None)
            self.spent = dict.fromkeys(PHASES[:-1], 0.0)

        def _timed(self, phase: str, call, *args):
            start = time.perf_counter()
            try:
                return call(*args)
            finally:
                self.spent[phase] += time.perf_counter() - start

        def _setup(self) -> None:
            super()._setup()
            if not fused:
                self._steps = StepGroups(self._runs)
            engine_pass = self._engine.forward_backward
            self._engine.forward_backward = lambda *a: self._timed("forward/backward", engine_pass, *a)  # type: ignore[method-assign]

        def _optimizer_step(self, active, lrs):
            return self._timed("optimizer", super()._optimizer_step, active, lrs)

        def _step_scheduler(self, r, loss) -> None:
            self._timed("schedulers", super()._step_scheduler, r, loss)

        def _flush(self) -> None:
            self._timed("events", super()._flush)

    return Timed()


def _one(exp, fused: bool) -> dict:
    trainer = _timed_trainer(exp, fused)
    trainer.run()
    steps = exp.epochs * exp.batches  # training steps, each of every run
    per_step = {k: v / steps * 1e6 for k, v in trainer.spent.items()}
    per_step["the rest"] = trainer.train_seconds / steps * 1e6 - sum(per_step.values())
    used = type(trainer._steps._shared[0][0]).__name__ if trainer._steps._shared else "none"
    return {"train_seconds": trainer.train_seconds, "us_per_step": per_step, "step": used}


def part_steps(epochs: int, batches: int, rounds: int = 3) -> dict:
    """The trainer alone, fused and unfused, in `rounds` interleaved rounds; medians."""
    from lrtui.bench.parts import experiment, peak_mb

    exp = experiment(epochs, batches)
    runs: dict[str, list[dict]] = {"fused": [], "unfused": []}
    for _ in range(rounds):
        for name in runs:
            runs[name].append(_one(exp, name == "fused"))
    out: dict = {"steps": len(exp.runs) * epochs * batches, "rounds": rounds, "peak_mb": peak_mb()}
    for name, results in runs.items():
        ordered = sorted(results, key=lambda r: r["train_seconds"])
        out[name] = ordered[len(ordered) // 2]
        out[name]["rounds_s"] = [round(r["train_seconds"], 3) for r in results]
    out["seconds"] = sum(r["train_seconds"] for rs in runs.values() for r in rs)
    return out


def report(r: dict) -> None:
    fused, unfused = r["fused"], r["unfused"]
    print(
        f"\ntrainer alone, events dropped ({r['steps']:,} run-steps;"
        f" median of {r['rounds']} interleaved rounds)"
    )
    print(f"  {'':28} {'fused step':>12} {'torch shared':>13}")
    rates = [r["steps"] / x["train_seconds"] for x in (fused, unfused)]
    print(
        f"  {'run-steps/s':28} {rates[0]:12,.0f} {rates[1]:13,.0f}   fused / torch {rates[0] / rates[1]:.2f}"
    )
    print(f"  {'optimizer step by':28} {fused['step']:>12} {unfused['step']:>13}")
    print("  per training step of every run, µs:")
    for phase in PHASES:
        a, b = fused["us_per_step"][phase], unfused["us_per_step"][phase]
        print(f"    {phase:26} {a:12.1f} {b:13.1f}")
    total = [sum(x["us_per_step"].values()) for x in (fused, unfused)]
    print(f"    {'all':26} {total[0]:12.1f} {total[1]:13.1f}")
    spread = ", ".join(f"{a}/{b}" for a, b in zip(fused["rounds_s"], unfused["rounds_s"], strict=True))
    print(f"  rounds, train s fused/torch: {spread}; median {statistics.median(fused['rounds_s']):.2f} s")
