"""The README's chart of predicted against observed loss curves, as a small SVG: each run's
observed loss (a centred window mean) solid, the law's prediction dashed, in one colour, and
the schedule the law suggests (its predicted loss) dotted in black."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lrtui.state.forecast.curves import RunCurve, grid, window_means
from lrtui.state.forecast.fit import Fitted
from lrtui.state.forecast.suggest import Suggested

W, H, PAD = 760, 420, 50
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
Y_RANGE = (1.0, 2.5)


def _path(xs: np.ndarray, ys: np.ndarray, steps: int) -> str:
    keep = np.isfinite(ys) & (ys <= Y_RANGE[1]) & (ys >= Y_RANGE[0])
    px = PAD + (W - 2 * PAD) * xs[keep] / steps
    py = H - PAD - (H - 2 * PAD) * (ys[keep] - Y_RANGE[0]) / (Y_RANGE[1] - Y_RANGE[0])
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(px, py, strict=True))


def write_svg(
    out: str, curves: dict[str, RunCurve], fitted: Fitted, keys: list[str], suggested: Suggested | None = None
) -> None:
    steps = max(curves[k].seen for k in keys)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="monospace" '
             'font-size="11"><rect width="100%" height="100%" fill="white"/>']  # fmt: skip
    for tick in range(0, steps + 1, 400):
        x = PAD + (W - 2 * PAD) * tick / steps
        parts.append(f'<text x="{x:.0f}" y="{H - PAD + 15}" text-anchor="middle">{tick}</text>')
    for loss in np.arange(Y_RANGE[0], Y_RANGE[1] + 1e-9, 0.25):
        y = H - PAD - (H - 2 * PAD) * (loss - Y_RANGE[0]) / (Y_RANGE[1] - Y_RANGE[0])
        parts.append(f'<text x="{PAD - 5}" y="{y + 4:.0f}" text-anchor="end">{loss:.2f}</text>')
        parts.append(f'<line x1="{PAD}" x2="{W - PAD}" y1="{y:.0f}" y2="{y:.0f}" stroke="#eee"/>')
    for i, key in enumerate(k for k in keys if k != "constant-N"):
        run, colour = curves[key], COLOURS[i % len(COLOURS)]
        points = grid(0, run.seen, 300)
        coarse = grid(0, run.seen, 100)  # windows ~12 steps wide: the curve, not the batches
        observed = _path(coarse, window_means(run.losses, coarse), steps)
        predicted = _path(points, fitted.curve(run.lrs)[points], steps)
        parts.append(f'<polyline points="{observed}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        parts.append(f'<polyline points="{predicted}" fill="none" stroke="{colour}" stroke-dasharray="5,3"/>')
        parts.append(
            f'<text x="{W - PAD - 150}" y="{PAD + 14 * i}" fill="{colour}">{run.name} ({run.seen})</text>'
        )
    if suggested is not None:  # the law's best schedule at 1,200 steps, beside the runs
        points = grid(0, suggested.curve.size, 300)
        parts.append(f'<polyline points="{_path(points, suggested.curve[points], steps)}" fill="none" '
                     'stroke="black" stroke-dasharray="1,3" stroke-width="1.5"/>')  # fmt: skip
        y = PAD + 14 * len(keys)
        parts.append(f'<text x="{W - PAD - 150}" y="{y}">suggested (dotted)</text>')
    title = f"charlm: observed (solid), {fitted.law.name} forecast (dashed); fitted: constant + cosine, 1,200"
    parts.append(f'<text x="{W / 2}" y="20" text-anchor="middle">{title}</text>')
    parts.append(f'<text x="{W / 2}" y="{H - 10}" text-anchor="middle">training step</text></svg>')
    Path(out).write_text("\n".join(parts) + "\n")
