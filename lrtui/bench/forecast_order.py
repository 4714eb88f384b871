"""The laws' order of preference (`state/forecast/laws.py`), measured: lrtui's forecast on
several sets of the 1,200-step charlm runs, each law's held-out error (last 20% of the runs
fitted) beside its worst final error on the runs it did not see (the constant run left out
of those: no set without it holds a constant LR, and every law misses it there by 2-7%), and
the law lrtui keeps. What the held-out error can say of a law is how it goes on with the
schedules it saw; the worst error on the others is what a user needs of it."""

from __future__ import annotations

from lrtui.state.forecast.curves import RunCurve, final_mean
from lrtui.state.forecast.heldout import forecast

SETS = (
    ("constant-N", "warmup-cosine"),
    ("constant-N", "step"),
    ("constant-N", "warmup-cosine", "step"),
    ("warmup-cosine", "step"),
    ("warmup-cosine", "wsd"),
    ("warmup-cosine", "linear"),
)
OTHERS = ("warmup-cosine", "wsd", "linear", "step")


def print_order(curves: dict[str, RunCurve]) -> None:
    print("the laws' order, measured: fitted on each set, held-out error / worst final error on the others")
    for fitted_on in SETS:
        result = forecast([curves[k] for k in fitted_on])
        cells = []
        for s in sorted(result.scored, key=lambda s: s.fitted.law.name):
            others = [curves[k] for k in OTHERS if k not in fitted_on]
            worst = max(
                abs(s.fitted.final(r.lrs, r.seen, r.losses) / final_mean(r.losses, r.seen) - 1)
                for r in others
            )
            cells.append(f"{s.fitted.law.name} {100 * s.heldout_error:.2f}% / {100 * worst:.2f}%")
        kept = result.best.fitted.law.name if result.best else "none"
        print(f"  {' + '.join(fitted_on)}: {'; '.join(cells)}; kept: {kept}")
