"""`python -m lrtui.bench`: runs each part in a fresh process and prints the figures side by side.

The timed parts run in interleaved rounds (a slow spell of a shared machine hits every part
alike) and the round with the median training time is shown, with its own figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import warnings

TIMED = ("tutorial", "engine", "headless", "sequential", "app")
EXTRA = ("keys", "keys-thread", "many", "files", "history", "steps")  # once each, after the timed rounds
KEYS_EPOCHS = 8  # keys are pressed for as long as this trains: enough presses to count
PARTS = {*TIMED, *EXTRA, "sync-check", "own-mlp", "own-cnn", "tb", "logs", "startup", "wandb"}
PARTS |= {"capture-mlp", "capture-cnn"}
ROWS = (
    ("tutorial", "tutorial loop (plain PyTorch, one run after another)"),
    ("engine", "lrtui trainer alone, main thread, events dropped"),
    ("headless", "lrtui --headless (stacked engine)"),
    ("sequential", "lrtui --headless (sequential engine)"),
    ("app", "lrtui app (Textual headless driver), watched"),
)


def _part(name: str, args: argparse.Namespace) -> dict:
    """Run one part in this process (the child's side of `_run_part`)."""
    from lrtui.bench import appdrive, capture, many, ownmodel, parts, steps, tb, wandb_run

    e, b = args.epochs, args.batches
    return {
        "tutorial": lambda: parts.part_tutorial(e, b),
        "engine": lambda: parts.part_engine(e, b),
        "headless": lambda: parts.part_headless(e, b, "auto"),
        "sequential": lambda: parts.part_headless(e, b, "sequential"),
        "app": lambda: appdrive.part_app(e, b),
        "keys": lambda: appdrive.part_keys(max(e, KEYS_EPOCHS), b),
        "keys-thread": lambda: appdrive.part_keys(max(e, KEYS_EPOCHS), b, isolate=False),
        "many": lambda: many.part_many_runs(),
        "files": lambda: many.part_many_files(),
        "logs": lambda: many.part_logs(),
        "startup": lambda: many.part_startup(),
        "history": lambda: parts.part_history(args.history_steps, 1),
        "sync-check": lambda: parts.part_sync_check(b),
        "own-mlp": lambda: ownmodel.part_own("mlp", args.device, runs=args.runs),
        "own-cnn": lambda: ownmodel.part_own("cnn", args.device, runs=args.runs),
        "tb": lambda: tb.part_tb(args.tb_steps),
        "wandb": lambda: wandb_run.part_wandb(args.wandb_steps),
        "steps": lambda: steps.part_steps(e, b),
        "capture-mlp": lambda: capture.part_capture("mlp", args.device, args.runs),
        "capture-cnn": lambda: capture.part_capture("cnn", args.device, args.runs),
    }[name]()


def _run_part(name: str, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "lrtui.bench",
        "--part",
        name,
        "--device",
        args.device,
        "--tb-steps",
        str(args.tb_steps),
        "--wandb-steps",
        str(args.wandb_steps),
        "--runs",
        str(args.runs),
    ]
    cmd += [
        "--epochs",
        str(args.epochs),
        "--batches",
        str(args.batches),
        "--history-steps",
        str(args.history_steps),
    ]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"lrtui.bench: part {name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median_run(runs: list[dict]) -> dict:
    """The run with the median training time (its own figures, not a mix of runs)."""
    ordered = sorted(runs, key=lambda r: r.get("train_seconds", r["seconds"]))
    return ordered[len(ordered) // 2]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def _rate(r: dict) -> float:
    return r["steps"] / r.get("train_seconds", r["seconds"])


def _print_table(results: dict[str, dict], n: int) -> None:
    print(f"\nmedian of {n} interleaved rounds, each part in a fresh process")
    print(f"{'':56} {'wall s':>8} {'train s':>8} {'steps/s':>10} {'peak MB':>8}")
    for key, label in ROWS:
        r = results[key]
        train = r.get("train_seconds", r["seconds"])
        print(f"{label:56} {r['seconds']:8.2f} {train:8.2f} {_rate(r):10,.0f} {r['peak_mb']:8.0f}")


def _print_ratios(results: dict[str, dict], rounds: dict[str, list[dict]]) -> None:
    tut, head, seq, keys = (results[k] for k in ("tutorial", "headless", "sequential", "keys"))
    spread = ", ".join(
        f"{_rate(a) / _rate(h):.2f}" for h, a in zip(rounds["headless"], rounds["app"], strict=True)
    )
    print("\nratios")
    print(
        f"  headless wall time / tutorial wall time   {head['seconds'] / tut['seconds']:.2f}  (target <= 0.5)"
    )
    print(
        f"  app steps/s / headless steps/s            {_rate(results['app']) / _rate(head):.2f}  "
        f"(target >= 0.9; rounds: {spread})"
    )
    print(
        f"  app steps/s / trainer-alone steps/s       {_rate(results['app']) / _rate(results['engine']):.2f}"
    )
    print(f"  sequential engine / tutorial wall time    {seq['seconds'] / tut['seconds']:.2f}")
    used = keys["steps"] / keys["used_seconds"] / _rate(head)
    thread = results["keys-thread"]
    in_app = thread["steps"] / thread["used_seconds"] / _rate(head)
    print(f"  app with keys pressed every 50 ms / headless steps/s  {used:.2f}  (target >= 0.7)")
    print(f"    the same with the trainer in the app's process      {in_app:.2f}")


def _print_keys(keys_run: dict, thread_run: dict) -> None:
    """Keys during training, with the trainer in its own process (as `lrtui` on the CPU) and,
    side by side, in the app's process."""
    print("\nkey press -> screen, during training (trainer in its own process | in the app's)")
    for name, run in (("own process", keys_run), ("app's process", thread_run)):
        keys, pauses = run["key_ms"], run["pause_ms"]
        p50, p90 = statistics.median(keys), _pct(keys, 0.9)
        line = f"  {name:13} focus n={len(keys):3}  p50 {p50:6.1f} ms  p90 {p90:6.1f} ms"
        if pauses:
            line += f"   pause all p50 {statistics.median(pauses):6.1f} ms"
        print(line + ("  (target p90 <= 100)" if run is keys_run else ""))


def _print_many(many: dict, files: dict) -> None:
    print(f"\nmany runs: {many['runs']} training / {files['files']} files watched (160x45)")
    rows = (
        (f"{many['runs']} runs: c opens compare", many["open_ms"], 500),
        (f"{many['runs']} runs: escape closes it", many["close_ms"], 200),
        (f"{many['runs']} runs: focus key, p90", [_pct(many["focus_ms"], 0.9)], 100),
        (f"{files['files']} files: c opens compare", files["open_ms"], 1000),
        (f"{files['files']} files: escape closes it", files["close_ms"], 200),
    )
    for label, values, target in rows:
        mid, top = statistics.median(values), max(values)
        print(f"  {label:32} median {mid:7.1f} ms  max {top:7.1f} ms  (target <= {target})")


def _print_history(hist: dict, steps: int) -> None:
    mb, traced = hist["history_bytes"] / 1e6, hist["traced_bytes"] / 1e6
    print(
        f"\ndisplay history of one run after {steps:,} steps: {mb:.3f} MB of buckets, "
        f"{traced:.3f} MB traced in all; x6 runs: {6 * traced:.2f} MB (target <= 50 MB)"
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lrtui.bench", description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="the long version (11 epochs, 3 rounds)")
    p.add_argument("--epochs", type=int, help="epochs of the seed experiment (2; --full: 11)")
    p.add_argument("--batches", type=int, default=1000, help="batches per epoch (1000)")
    p.add_argument("--history-steps", type=int, help="history steps (200,000; --full: 1,000,000)")
    p.add_argument("--repeat", type=int, help="interleaved rounds, medians shown (2; --full: 3)")
    p.add_argument("--part", choices=sorted(PARTS), help=argparse.SUPPRESS)
    p.add_argument("--sync-check", action="store_true", help="count CUDA syncs per step (needs a GPU)")
    p.add_argument("--own", action="store_true", help="your own model: MLP and CNN against plain loops")
    p.add_argument("--device", default="cpu", help="for --own: cpu, cuda or auto (default cpu)")
    p.add_argument("--runs", type=int, default=6, help="for --own: runs, the six schedules repeated (6)")
    p.add_argument("--tb", action="store_true", help="TensorBoard logs: lrtui's reader against tensorboard's")
    p.add_argument("--tb-steps", type=int, default=200_000, help="for --tb: steps in the run (200,000)")
    p.add_argument("--wandb", action="store_true", help="a W&B offline run: watched and exported")
    p.add_argument("--wandb-steps", type=int, default=1_000_000, help="for --wandb: steps (1,000,000)")
    p.add_argument("--logs", action="store_true", help="a 1,000,000-step log: export and watch it; start-up")
    p.add_argument("--forecast", action="store_true", help="loss laws on charlm: held-out errors")
    p.add_argument("--forecast-runs", metavar="DIR", help="--forecast: recorded runs (trained if absent)")
    p.add_argument("--forecast-svg", metavar="OUT", help="--forecast: also draw predicted vs observed as SVG")
    p.add_argument("--steps", action="store_true", help="the trainer's step time by phase, fused and unfused")
    p.add_argument("--capture", action="store_true", help="one stacked step: torch's, fused, captured")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    return p


def _defaults(args: argparse.Namespace) -> argparse.Namespace:
    """About a minute and a half on the CI machine by default; --full is the long version."""
    full = {"epochs": 11, "history_steps": 1_000_000, "repeat": 3}
    quick = {"epochs": 2, "history_steps": 200_000, "repeat": 2}
    for key, value in (full if args.full else quick).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def _progress(name: str, result: dict, done: int, total: int) -> None:
    took = result.get("train_seconds", result.get("seconds", result.get("used_seconds", 0.0)))
    print(f"  [{done}/{total}] {name:10} {took:6.2f} s", file=sys.stderr, flush=True)


def _default_parts(args: argparse.Namespace) -> tuple[dict[str, dict], dict[str, list[dict]]]:
    """The timed parts in interleaved rounds (their median round kept), then the others once."""
    size = f"{args.epochs} epochs x {args.batches} batches x 6 schedulers, {args.repeat} rounds"
    print(f"lrtui bench: seed experiment, {size}")
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    rounds: dict[str, list[dict]] = {name: [] for name in TIMED}
    total, done = max(1, args.repeat) * len(TIMED) + len(EXTRA), 0
    for _ in range(max(1, args.repeat)):  # interleaved, so a slow spell of the machine hits every part
        for name in TIMED:
            rounds[name].append(_run_part(name, args))
            done += 1
            _progress(name, rounds[name][-1], done, total)
    results = {name: _median_run(runs) for name, runs in rounds.items()}
    for name in EXTRA:
        results[name] = _run_part(name, args)
        done += 1
        _progress(name, results[name], done, total)
    return results, rounds


def main(argv: list[str] | None = None) -> int:
    args = _defaults(_parser().parse_args(argv))
    if args.part:
        warnings.simplefilter("ignore")
        print(json.dumps(_part(args.part, args)))
        return 0
    if args.sync_check:
        print(json.dumps(_run_part("sync-check", args), indent=2))
        return 0
    if args.tb or args.wandb:
        return _log_part("tb" if args.tb else "wandb", args)
    if args.forecast:
        from lrtui.bench.forecast import main_forecast

        return main_forecast(args.forecast_runs, args.forecast_svg)
    if args.logs:
        from lrtui.bench.many import report_logs

        report_logs(_run_part("logs", args), _run_part("startup", args))
        return 0
    if args.capture:
        from lrtui.bench.capture import report as capture_report

        capture_report([_run_part("capture-mlp", args), _run_part("capture-cnn", args)])
        return 0
    if args.steps:
        from lrtui.bench.steps import report as steps_report

        steps_report(_run_part("steps", args))
        return 0
    if args.own:
        from lrtui.bench.ownmodel import report

        results = [_run_part("own-mlp", args), _run_part("own-cnn", args)]
        report(results)
        _write_json(args.json, results)
        return 0
    results, rounds = _default_parts(args)
    _print_table(results, max(1, args.repeat))
    _print_ratios(results, rounds)
    _print_keys(results["keys"], results["keys-thread"])
    _print_many(results["many"], results["files"])
    _print_history(results["history"], args.history_steps)
    from lrtui.bench.steps import report as steps_report

    steps_report(results["steps"])
    _write_json(args.json, results)
    return 0


def _log_part(name: str, args: argparse.Namespace) -> int:
    """A log reader's part (`tb`, `wandb`): run, reported, written as JSON if asked."""
    from lrtui.bench import tb, wandb_run

    result = _run_part(name, args)
    {"tb": tb.report, "wandb": wandb_run.report}[name](result)
    _write_json(args.json, result)
    return 0


def _write_json(path: str | None, results: object) -> None:
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
