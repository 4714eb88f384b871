"""`lrtui find`: an LR range test on a built-in task or your own (`--task`), live in the
terminal or, with `--headless`, printed. Ends with the suggestions and flags to use them."""

from __future__ import annotations

import argparse
import csv
import shlex
import sys

from lrtui.spec.choices import OPTIMIZER_ALIASES, TASKS
from lrtui.spec.errors import SpecError
from lrtui.spec.experiment import ExperimentSpec
from lrtui.spec.text import clean
from lrtui.spec.values import positive


def _parser() -> argparse.ArgumentParser:
    from lrtui.cli import _checked, _experiment_flags, _Parser

    p = _Parser(
        prog="lrtui find", description="An LR range test: the LR grows exponentially while the model trains."
    )
    _experiment_flags(p)
    p.add_argument("--start-lr", type=_checked(positive, "--start-lr"), default=1e-7, help="first LR (1e-7)")
    p.add_argument("--end-lr", type=_checked(positive, "--end-lr"), default=10.0, help="last LR (10)")
    p.add_argument("--steps", type=int, default=100, help="batches the LR grows over (100)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--headless", action="store_true", help="print the suggestions instead of the live chart")
    p.add_argument("--csv", metavar="OUT", help="write lr,loss,smoothed for every step (- for stdout)")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error in your task file")
    return p


def _check(args: argparse.Namespace) -> None:
    if args.start_lr >= args.end_lr:
        raise SpecError(f"--start-lr {args.start_lr:g} must be smaller than --end-lr {args.end_lr:g}")
    if args.steps < 3:
        raise SpecError(f"--steps must be at least 3, not {args.steps}")


def main(argv: list[str]) -> int:
    p = _parser()
    args = p.parse_args(argv)
    try:
        _check(args)
        run_test, suggest, title, command = _prepare(args)

        def advice(result) -> list[str]:
            return report_lines(result, suggest(result), command)

        if args.headless or not sys.stdout.isatty():
            result = run_test(lambda r: None, lambda: False)
        else:
            result = _live(run_test, suggest, advice, title)
            if result is None:
                return 0  # quit before the end
    except SpecError as exc:
        if args.debug and getattr(exc, "detail", ""):
            sys.stderr.write(exc.detail)  # type: ignore[attr-defined]
        p.exit(2, f"lrtui: error: {clean(str(exc), 2000)}\n")
    _write_csv(result, args.csv)
    print("\n".join(advice(result)), file=sys.stderr if args.csv == "-" else sys.stdout)
    return 0


def _prepare(args: argparse.Namespace):
    from lrtui.config import Settings, merge
    from lrtui.engine.device import resolve_device
    from lrtui.engine.rangetest import range_test, suggest
    from lrtui.engine.workload import initial_module
    from lrtui.launch import load_workload

    settings = Settings(
        runs=list(args.scheduler), preset=args.preset, epochs=args.epochs, batches=args.batches,
        batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer, model=args.model,
        task=args.task or "teacher", seed=args.seed, device=args.device,
    )  # fmt: skip
    merged = merge(settings, args.config)
    exp = merged.exp
    device = resolve_device(exp.device)
    workload = load_workload(exp, device)
    init = initial_module(workload, exp.seed)

    def run_test(on_step, stopped):
        return range_test(workload, init, exp.optimizer, device, start=args.start_lr, end=args.end_lr,
                          steps=args.steps, seed=exp.seed, on_step=on_step, stopped=stopped)  # fmt: skip

    span = f"LR {args.start_lr:g} → {args.end_lr:g} over {args.steps} steps"
    title = f"lrtui find · {clean(exp.task, 60)} · {exp.optimizer} · {span}"
    return run_test, suggest, title, comparison_argv(exp, merged.batches_given, args.lr is not None)


def comparison_argv(exp: ExperimentSpec, batches_given: bool, lr_given: bool) -> list[str]:
    """The command that trains what the range test trained (task, model, optimizer, batch
    size, run length, seed, device), the schedules to be added: pasted, it compares the
    suggested peaks on the same model and data. A task file's epoch is every batch it gives,
    unless --batches was given; a built-in task's is the batches the test assumed."""
    argv = ["lrtui", "--task", exp.task]
    if exp.task in ("random", "teacher"):  # the built-in tasks --model applies to
        argv += ["--model", exp.model]
    optimizer = next((name for name, call in OPTIMIZER_ALIASES.items() if call == exp.optimizer), None)
    argv += ["--optimizer", optimizer or str(exp.optimizer)]
    if exp.task in TASKS:  # a task file's batches(epoch) makes its own batches
        argv += ["--batch-size", str(exp.batch_size)]
    argv += ["--epochs", str(exp.epochs)]
    if batches_given or exp.task in TASKS:
        argv += ["--batches", str(exp.batches)]
    if lr_given:  # OneCycleLR sets its own LRs; the base LR matters for schedules added to it
        argv += ["--lr", f"{exp.lr:g}"]
    if exp.seed:
        argv += ["--seed", str(exp.seed)]
    if exp.device != "auto":
        argv += ["--device", exp.device]
    return argv


def report_lines(result, found, command: list[str]) -> list[str]:
    """The test's end, each suggestion (the one that served best first), and a command to
    paste that compares them as OneCycleLR peaks."""
    ended = f" ({result.stopped})" if result.stopped else ""
    lines = [f"LR range test: {len(result.lrs)} steps, LR {result.lrs[0]:.3g} to {result.lrs[-1]:.3g}{ended}"]
    ranked = found.ranked()
    for i, (name, lr) in enumerate(ranked):
        note = "served best as a peak LR (OneCycleLR max_lr; README)" if i == 0 else ""
        lines.append(f"  {name:17} {lr:<10.3g} {note}".rstrip())
    peaks = list(dict.fromkeys(f"{lr:.3g}" for _, lr in ranked))  # two that round alike: one run
    if peaks:
        schedules = [arg for peak in peaks for arg in ("-s", f"OneCycleLR(max_lr={peak})")]
        lines.append("Try: " + shlex.join(command + schedules))
    return lines


def _live(run_test, suggest, advice, title: str):
    from lrtui.ui.find import FindApp

    app = FindApp(run_test, suggest, title, advice)
    app.run()
    if app.failure_text:
        raise SpecError(app.failure_text)
    return app.result


def _write_csv(result, csv_out: str | None) -> None:
    if not csv_out:
        return
    out = sys.stdout if csv_out == "-" else open(csv_out, "w", encoding="utf-8", newline="")  # noqa: SIM115
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["lr", "loss", "smoothed"])
    writer.writerows(zip(result.lrs, result.losses, result.smoothed, strict=True))
    if out is not sys.stdout:
        out.close()
