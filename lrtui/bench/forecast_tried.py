"""The suggestion, tried: the schedule lrtui's forecast suggests at 1,200 steps, trained as the
runs it was fitted on were (`--task charlm`, the same seed, so the same batches), its observed
final beside the predicted one and every run's. Recorded once in `suggested/` beside the runs,
and trained again only when the suggestion changes (`suggested.spec` holds the one trained)."""

from __future__ import annotations

import shutil
from pathlib import Path

from lrtui.bench.forecast import recorded, standard_error, train
from lrtui.modes.forecast import read_curves
from lrtui.record.readers import ReadOptions
from lrtui.state.forecast.curves import RunCurve, final_mean
from lrtui.state.forecast.fit import Fitted
from lrtui.state.forecast.suggest import Suggested

EPOCHS = "epochs = 12"


def trained(folder: Path, spec: str) -> RunCurve:
    """The suggestion's run, trained unless the one recorded is of this spec."""
    logs, kept = folder / "suggested", folder / "suggested.spec"
    run = {"suggested": spec.removesuffix("@batch")}
    if not (kept.exists() and kept.read_text() == spec and recorded(logs, EPOCHS, run)):
        shutil.rmtree(logs, ignore_errors=True)
        train(folder, "suggested", EPOCHS, run)
        kept.write_text(spec)
    (curve,) = read_curves(logs, ReadOptions())
    return curve


def print_tried(folder: Path, suggested: Suggested, fitted: Fitted, curves: dict[str, RunCurve]) -> None:
    run = trained(folder, suggested.spec)
    observed = final_mean(run.losses, run.seen)
    predicted = fitted.final(run.lrs, run.seen, run.losses)
    others = {k: final_mean(c.losses, c.seen) for k, c in curves.items() if c.seen == run.seen}
    below = sorted(k for k, v in others.items() if v <= observed)
    print(
        f"  trained: observed final {observed:.4f} ± {200 * standard_error(run):.2f}%, predicted "
        f"{predicted:.4f} ({100 * (predicted / observed - 1):+.2f}%); the {run.seen:,}-step runs' finals: "
        + ", ".join(f"{k} {v:.4f}" for k, v in sorted(others.items(), key=lambda kv: kv[1]))
        + (" (ends below every one)" if not below else f" (ends above {', '.join(below)})")
    )
