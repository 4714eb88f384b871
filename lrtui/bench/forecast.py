"""`python -m lrtui.bench --forecast`: how well the loss laws forecast real training.

On `--task charlm` (AdamW, lr 0.01, 1,200 steps; warm-up 120 steps where a schedule has one)
each law is fitted on a constant LR and a warm-up+cosine run, then predicts a WSD, a linear
decay and a step decay it never saw, and the constant and a warm-up+cosine run at 2,400 steps
(fit on N steps, predict 2N). Printed: every final loss (the mean over the last 5% of steps)
observed and predicted, its error, two standard errors of the observed final, the ranking of
the held-out schedules; the forecast as lrtui makes it (both laws, the one with the smaller
held-out error kept) with each predicted final's band and whether the observed final lies in
it; the same with the step decay fitted too (what a third run with a sharp drop buys), each
law fitted on all five 1,200-step runs (its own reach on the task), the per-step noise the
runs share (they train on the same batch at each step) and the errors without the refit that
takes it out; two limits of the runs (the constant run, without warm-up, against WSD at the
same LR; a power law's 2N final fitted on the constant run's first N/2 to 3N/2 steps); the
schedule the multi-power fit suggests at 1,200 steps, and the fit time of 6 runs x 10,000
steps (synthetic curves).

The runs are trained once and recorded (`--forecast-runs DIR`, reused when there): the two
comparisons take about ten minutes on a 2-core CPU.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lrtui.modes.forecast import read_curves
from lrtui.record.readers import ReadOptions
from lrtui.state.forecast.curves import RunCurve, final_mean, final_width, make_curve, window_means
from lrtui.state.forecast.fit import Fitted, fit
from lrtui.state.forecast.heldout import FIT_SHARE, forecast, score
from lrtui.state.forecast.law import Law
from lrtui.state.forecast.laws import LAWS
from lrtui.state.forecast.shared import wiggles
from lrtui.state.forecast.suggest import for_runs

N = 1200
WARM = "LinearLR(start_factor=0.01, total_iters=120)"
COMMON = 'task = "charlm"\noptimizer = "adamw"\nlr = 0.01\nbatches = 100\n'
RUNS = {
    "n1200": ("epochs = 12", {
        "warmup-cosine": f"SequentialLR(schedulers=[{WARM}, CosineAnnealingLR(T_max=1080)], "
                         "milestones=[120])",
        "wsd": f"SequentialLR(schedulers=[{WARM}, ConstantLR(factor=1.0, total_iters=840), "
               "LinearLR(start_factor=1.0, end_factor=0.01, total_iters=240)], milestones=[120, 960])",
        "linear": f"SequentialLR(schedulers=[{WARM}, LinearLR(start_factor=1.0, end_factor=0.01, "
                  "total_iters=1080)], milestones=[120])",
        "step": f"SequentialLR(schedulers=[{WARM}, StepLR(step_size=360, gamma=0.3)], milestones=[120])",
    }),
    "n2400": ("epochs = 24", {
        "constant": "LambdaLR(lr_lambda=constant(value=1.0))",
        "warmup-cosine-2x": f"SequentialLR(schedulers=[{WARM}, CosineAnnealingLR(T_max=2280)], "
                            "milestones=[120])",
    }),
}  # fmt: skip
HELD_OUT = ("wsd", "linear", "step")


def default_folder() -> Path:
    return Path(tempfile.gettempdir()) / "lrtui-forecast-runs"


def record(folder: Path) -> None:
    """Train and record the comparisons not recorded yet (each run's file complete)."""
    for name, (epochs, runs) in RUNS.items():
        if not recorded(folder / name, epochs, runs):
            train(folder, name, epochs, runs)


def recorded(logs: Path, epochs: str, runs: dict[str, str]) -> bool:
    return all(_steps(logs / f"{run}.jsonl") >= int(epochs.split()[-1]) * 100 for run in runs)


def train(folder: Path, name: str, epochs: str, runs: dict[str, str]) -> None:
    """One comparison of `runs` (name: spec, trained per batch) into `folder/name`."""
    logs, config = folder / name, folder / f"{name}.toml"
    folder.mkdir(parents=True, exist_ok=True)
    tables = "".join(f'\n[[run]]\nname = "{run}"\nscheduler = "{spec}@batch"\n' for run, spec in runs.items())
    config.write_text(COMMON + epochs + "\n" + tables)
    print(f"lrtui.bench: training {name} ({', '.join(runs)}) into {logs}", file=sys.stderr)
    cmd = [sys.executable, "-m", "lrtui", "--config", str(config), "--headless", "--no-summary",
           "--log-dir", str(logs)]  # fmt: skip
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def _steps(path: Path) -> int:
    return path.read_text().count('"step"') if path.exists() else 0


def load(folder: Path) -> dict[str, RunCurve]:
    curves = {c.name: c for name in RUNS for c in read_curves(folder / name, ReadOptions())}
    whole = curves["constant"]
    curves["constant-N"] = make_curve("constant", whole.lrs[:N], whole.losses[:N])
    return curves


def standard_error(run: RunCurve) -> float:
    """The relative standard error of a run's observed final: the scatter of its last 5% of
    steps about their local mean (a 21-step window), over √(steps averaged)."""
    steps = run.seen
    tail = np.arange(steps - final_width(steps), steps)
    scatter = run.losses[tail] - window_means(run.losses, tail)
    return float(np.std(scatter) / np.sqrt(tail.size) / final_mean(run.losses, steps))


def fit_time(repeat: int = 3) -> dict[str, float]:
    """Median seconds of a fit of 6 runs x 10,000 steps (curves of a known multi-power law, with
    a per-step noise the runs share, as runs of one seed do, so the refits on the loss with it
    taken out are timed too)."""
    truth = Fitted(LAWS["multi-power"], np.array([1.5, 0.7, 0.4, -0.9, -3.9, 0.6, 0.4]), 1.0, (), 0.0)
    t = np.arange(10_000) / 10_000
    shapes = [np.ones_like(t), 0.5 * (1 + np.cos(np.pi * t)) + 0.01, 1 - 0.99 * t,
              np.where(t < 0.8, 1, 1 - 4.9 * (t - 0.8)), np.where(t < 0.5, 1, 0.3),
              np.exp(-3 * t)]  # fmt: skip
    rng = np.random.default_rng(0)
    batches = 0.06 * rng.standard_normal(t.size)  # one batch order: the runs share its noise
    runs = [make_curve(f"r{i}", lr, truth.curve(lr) * np.exp(batches + 0.01 * rng.standard_normal(t.size)))
            for i, lr in enumerate(shapes)]  # fmt: skip
    out = {}
    for name, law in LAWS.items():
        fit(law, runs[:2])  # imports and first calls out of the timing
        out[name] = statistics.median(_timed(lambda law=law: fit(law, runs)) for _ in range(repeat))
    return out


def _timed(work) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def predictions(curves: dict[str, RunCurve]) -> dict[str, tuple[Fitted, dict[str, float]]]:
    """Each law fitted on constant + warm-up+cosine at N steps: its predicted final per run."""
    fitted_on = [curves["constant-N"], curves["warmup-cosine"]]
    out = {}
    for name, law in LAWS.items():
        fitted = fit(law, fitted_on)
        out[name] = (
            fitted,
            {key: fitted.final(run.lrs, run.seen, run.losses) for key, run in _shown(curves)},
        )
    return out


def _shown(curves: dict[str, RunCurve]) -> list[tuple[str, RunCurve]]:
    keys = ["constant-N", "warmup-cosine", *HELD_OUT, "constant", "warmup-cosine-2x"]
    return [(key, curves[key]) for key in keys]


def report(folder: Path, svg: str | None = None) -> int:
    curves = load(folder)
    laws = predictions(curves)
    print(f"Forecast on --task charlm (runs in {folder}); fitted on constant + warm-up+cosine, {N:,} steps")
    head = f"{'run':<26}{'role':<10}{'observed final ± 2 SE':<24}" + "".join(f"{n:<22}" for n in laws)
    print(head)
    for key, run in _shown(curves):
        role = "fitted" if key in ("constant-N", "warmup-cosine") else "2N" if run.seen > N else "held out"
        observed = final_mean(run.losses, run.seen)
        se2 = 2 * standard_error(run)
        cells = "".join(
            f"{p[key]:.4f} ({100 * (p[key] / observed - 1):+.2f}%)".ljust(22) for _, p in laws.values()
        )
        label = f"{run.name} ({run.seen:,})"
        print(f"{label:<26}{role:<10}{f'{observed:.4f} ± {100 * se2:.2f}%':<24}{cells}")
    truth = sorted(HELD_OUT, key=lambda k: final_mean(curves[k].losses, curves[k].seen))
    print(f"held-out ranking, observed: {' < '.join(truth)}")
    for name, (_, p) in laws.items():
        print(f"  {name}: {' < '.join(sorted(HELD_OUT, key=lambda k: p[k]))}")
    kept = print_bands(curves)
    print_third_run(curves)
    print_shared(curves)
    print_limits(curves, kept)
    suggested = for_runs(kept, [curves["warmup-cosine"]], N)
    final = suggested.predicted_final
    print(f"suggested at {N:,} steps by the {kept.law.name} fit (lrtui's): predicted final {final:.4f}")
    print(f"  lrtui -s '{suggested.spec}'")
    from lrtui.bench.forecast_order import print_order
    from lrtui.bench.forecast_tried import print_tried

    print_tried(folder, suggested, kept, curves)
    print_order(curves)
    times = fit_time()
    print(
        "fit of 6 runs x 10,000 steps: "
        + ", ".join(f"{n} {s:.2f} s" for n, s in times.items())
        + " (median of 3)"
    )
    if svg:
        from lrtui.bench.forecast_chart import write_svg

        write_svg(svg, curves, kept, [k for k, _ in _shown(curves)], suggested)
        print(f"chart: {svg}")
    return 0


def print_bands(curves: dict[str, RunCurve]) -> Fitted:
    """The forecast as lrtui makes it (`heldout.forecast`: every law, one kept by its held-out
    error) on the two fitted runs, and each predicted final's band (`Forecast.band`): whether
    the observed final lies within it. Returns the law kept, fitted."""
    result = forecast([curves["constant-N"], curves["warmup-cosine"]])
    best = result.best
    assert best is not None
    laws = ", ".join(
        f"{s.fitted.law.name} {100 * s.heldout_error:.2f}% ± {100 * s.heldout_se:.2f}% "
        f"(R² {s.heldout_r2:.3f}; "
        f"{_raw_r2(s.fitted.law, [curves['constant-N'], curves['warmup-cosine']]):.3f} with the shared "
        "batch difficulty left in)"
        for s in result.scored
    )
    kept = best.fitted.law.name
    print(f"lrtui's forecast: held-out error ± its standard error (last 20% of steps) {laws}: {kept} kept")
    cells, inside = [], 0
    for key, run in _shown(curves)[2:]:
        error, band = _error(best.fitted, run), result.band(run.lrs, run.seen, run.losses)
        inside += abs(error) <= band
        cells.append(f"{key} {100 * error:+.2f}% ± {100 * band:.2f}%")
    print(
        f"  its finals' error ± band (held-out error, or the laws' spread where wider): {', '.join(cells)};"
        f" observed within the band {inside} of {len(cells)}, within the held-out error alone "
        f"{sum(abs(_error(best.fitted, r)) <= best.heldout_error for _, r in _shown(curves)[2:])}"
    )
    return best.fitted


def _raw_r2(law: Law, runs: list[RunCurve]) -> float:
    """The held-out R² as it was before the batches' shared difficulty was taken out of it."""
    cut = [int(r.seen * FIT_SHARE) for r in runs]
    return score(fit(law, [r.cut(c) for r, c in zip(runs, cut, strict=True)]), runs, cut)[1]


def print_limits(curves: dict[str, RunCurve], fitted: Fitted) -> None:
    """Two limits of the task's runs, measured. The constant run has no warm-up and WSD has
    one, both at the peak LR from the warm-up's end until WSD decays: their loss ratio there
    (the batches they share cancel in it), against the ratio of the law lrtui kept (a warm-up
    is only LR area to the multi-power and annealing laws; the convex-bound law's saturating
    area counts its low LRs more). And the power law's reach to 2N on its own: fitted on the first
    N/2, 3N/4, N and 3N/2 steps of the 2N-step constant run (where both laws are L0 + A·S1^-alpha),
    its 2N final's error and L0."""
    steps = np.arange(int(0.4 * N), int(0.8 * N))
    const, wsd = curves["constant"], curves["wsd"]
    seen = float(np.mean(np.log(const.losses[steps] / wsd.losses[steps])))
    law = float(np.nanmean(np.log(fitted.curve(const.lrs)[steps] / fitted.curve(wsd.lrs)[steps])))
    print(
        f"constant (no warm-up) / WSD (warm-up), both at the peak LR, steps {steps[0] + 1}-{steps[-1] + 1}: "
        f"observed {100 * np.expm1(seen):+.2f}%, {fitted.law.name} fit {100 * np.expm1(law):+.2f}%"
    )
    whole, cells = curves["constant"], []
    for n in (N // 2, 3 * N // 4, N, 3 * N // 2):
        fitted_n = fit(LAWS["annealing"], [make_curve("constant", whole.lrs[:n], whole.losses[:n])])
        cells.append(
            f"{n:,} steps {100 * _error(fitted_n, whole):+.2f}% (L0 {fitted_n.parameters()['L0']:.2f})"
        )
    print(
        f"L0 + A·S1^-alpha (either law on a constant LR) fitted on the constant run's first steps alone, "
        f"its {2 * N:,}-step final: " + ", ".join(cells)
    )


def print_third_run(curves: dict[str, RunCurve]) -> None:
    """What limits the two-run fit, measured: the held-out errors again with the step decay
    (a sharp drop) fitted too, so only WSD and linear decay are held out; and how near each
    law comes to the finals of all five 1,200-step runs when fitted on all of them (no run
    held out: the law's own reach on this task, which no choice of fitted runs can beat)."""
    on = [curves["constant-N"], curves["warmup-cosine"], curves["step"]]
    cells = []
    for name, law in LAWS.items():
        fitted = fit(law, on)
        errors = [_error(fitted, curves[k]) for k in ("wsd", "linear")]
        cells.append(f"{name} wsd {100 * errors[0]:+.2f}%, linear {100 * errors[1]:+.2f}%")
    print("fitted on constant + warm-up+cosine + step instead: " + "; ".join(cells))
    every = [curves[k] for k in ("constant-N", "warmup-cosine", *HELD_OUT)]
    for name, law in LAWS.items():
        fitted = fit(law, every)
        cells = [f"{run.name} {100 * _error(fitted, run):+.2f}%" for run in every]
        print(f"{name} fitted on all five {N:,}-step runs, its own finals: " + ", ".join(cells))


def print_shared(curves: dict[str, RunCurve]) -> None:
    """What the runs' shared batches are, measured: the standard deviation of the per-step
    log-loss wiggles (`shared.wiggles`) every 1,200-step run shares (their mean) and each run's
    own (its wiggle less the mean); and the held-out errors of the fit without the refit that
    takes the shared part out (`fit(..., shared=False)`), to set beside the table."""
    runs = [curves[k] for k in ("constant-N", "warmup-cosine", *HELD_OUT)]
    stack = np.array([wiggles(r.losses[:N]) for r in runs])[:, N // 10 :]
    mean = np.nanmean(stack, axis=0)
    own = ", ".join(f"{r.name} {np.nanstd(w - mean):.3f}" for r, w in zip(runs, stack, strict=True))
    print(f"per-step log-loss wiggles of the five runs: shared sd {np.nanstd(mean):.3f}; own sd {own}")
    on = [curves["constant-N"], curves["warmup-cosine"]]
    for name, law in LAWS.items():
        fitted = fit(law, on, shared=False)
        cells = [f"{key} {100 * _error(fitted, run):+.2f}%" for key, run in _shown(curves)[2:]]
        print(f"{name} without the shared-batch refit: " + ", ".join(cells))


def _error(fitted: Fitted, run: RunCurve) -> float:
    """predicted / observed final - 1 for a recorded run."""
    return fitted.final(run.lrs, run.seen, run.losses) / final_mean(run.losses, run.seen) - 1


def main_forecast(folder: str | None, svg: str | None) -> int:
    where = Path(folder) if folder else default_folder()
    record(where)
    return report(where, svg)
