"""The LR range test: train a copy of the model while the LR grows exponentially from a tiny
value to a huge one, and read off where the loss falls fastest.

The LR grows by torch's own `ExponentialLR` (gamma chosen so `steps` steps go from `start` to
`end`); the loss is smoothed with a debiased EMA (beta 0.98) and the test stops once the
smoothed loss exceeds 4 times its best. The model the task built is never touched: the test
trains a deep copy, with an optimizer of its own, so a comparison that follows starts from the
very same weights.

Three suggestions are read off the smoothed curve (all of them facts about the curve, none a
promise): the steepest descent (the most negative slope against log LR, before the minimum),
the valley (the middle of the longest stretch over which the loss keeps falling, fastai's
rule), and the LR at the minimum divided by 10.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from lrtui.engine.feed import as_batch
from lrtui.engine.seeding import seeded_batches
from lrtui.engine.workload import Workload
from lrtui.schedule.optimizers import build_optimizer
from lrtui.spec.errors import SpecError
from lrtui.spec.experiment import Call
from lrtui.spec.smoothing import DebiasedEma

BETA = 0.98
DIVERGED = 4.0


@dataclass
class RangeResult:
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    stopped: str = ""  # why the test ended before its last step, if it did


@dataclass(frozen=True)
class Suggestions:
    steepest: float | None
    valley: float | None
    min_tenth: float | None

    def ranked(self) -> list[tuple[str, float]]:
        """(name, LR) of each suggestion there is, the one that served best as a OneCycleLR
        peak first. Measured (README, "lrtui find") on a CNN and a transformer over ~300
        steps: the minimum / 10 trained best on both; the steepest descent was 15x too low
        on one and 7x too high on the other; the valley was 30-100x too low on both."""
        named = (
            ("minimum / 10", self.min_tenth),
            ("steepest descent", self.steepest),
            ("valley", self.valley),
        )
        return [(name, lr) for name, lr in named if lr is not None]


def range_test(
    workload: Workload,
    init: torch.nn.Module,
    optimizer: Call,
    device: torch.device,
    *,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 100,
    seed: int = 0,
    on_step: Callable[[RangeResult], None] | None = None,
    stopped: Callable[[], bool] = lambda: False,
) -> RangeResult:
    """Run the test on a copy of `init`, on the batches a comparison under `seed` would see
    (`engine.seeding`); `on_step` sees the result after every step."""
    model = copy.deepcopy(init).to(device)
    model.train()
    opt = build_optimizer(optimizer, model.parameters(), start)
    gamma = (end / start) ** (1 / max(1, steps - 1))
    schedule = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=gamma)
    result, ema, best = RangeResult(), DebiasedEma(BETA), math.inf
    for k, batch in enumerate(_batches(workload, device, steps, seed), 1):
        if stopped():
            result.stopped = "stopped"
            break
        lr = float(opt.param_groups[0]["lr"])
        opt.zero_grad()
        loss = workload.loss(model, batch)
        loss.backward()
        opt.step()
        schedule.step()
        value = float(loss.detach())
        if k == 1 and not math.isfinite(value):
            raise SpecError(
                f"the range test's first step gave a loss of {value} at LR {lr:g}: the task cannot train"
            )
        smooth = ema.add(value)
        result.lrs.append(lr)
        result.losses.append(value)
        result.smoothed.append(smooth)
        best = min(best, smooth)
        if on_step is not None:
            on_step(result)
        if not math.isfinite(smooth) or smooth > DIVERGED * best:
            result.stopped = f"the smoothed loss passed {DIVERGED:g}x its best at LR {lr:.3g}"
            break
    return result


def _batches(workload: Workload, device: torch.device, steps: int, seed: int):
    """`steps` batches from the task's epochs, in order, as training under `seed` would see them."""
    taken, epoch = 0, 0
    while taken < steps:
        count = 0
        for item in seeded_batches(workload.batches, seed, epoch):
            yield as_batch(item, device)
            count += 1
            taken += 1
            if taken == steps:
                return
        if count == 0:
            raise SpecError("the task's batches(epoch) gave no batches")
        epoch += 1


def suggest(result: RangeResult) -> Suggestions:
    lrs, smooth = result.lrs, result.smoothed
    finite = [i for i, v in enumerate(smooth) if math.isfinite(v)]
    if len(finite) < 3:
        return Suggestions(None, None, None)
    low = min(finite, key=lambda i: smooth[i])
    skip = max(1, len(finite) // 10)  # the first steps' EMA is mostly noise (others skip 10 points)
    min_tenth = lrs[low] / 10 if low >= skip else None  # lowest in the noisy start: it never fell
    valley = _valley(lrs, smooth, skip, finite[-1] + 1)
    return Suggestions(_steepest(lrs, smooth, low, skip), valley, min_tenth)


def _steepest(lrs: list[float], smooth: list[float], low: int, skip: int) -> float | None:
    """The LR where the smoothed loss falls fastest against log10(LR), before its minimum."""
    slopes = []
    for i in range(max(1, skip), low + 1):
        j = min(i + 1, len(lrs) - 1)
        run = math.log10(lrs[j]) - math.log10(lrs[i - 1])
        if run > 0:
            slopes.append(((smooth[j] - smooth[i - 1]) / run, i))
    return lrs[min(slopes)[1]] if slopes else None


def _valley(lrs: list[float], smooth: list[float], skip: int, n: int) -> float | None:
    """The middle of the longest strictly falling run of the smoothed loss (as a subsequence:
    a bump does not end it)."""
    longest = [1] * n
    back = list(range(n))
    for i in range(skip, n):
        for j in range(skip, i):
            if smooth[j] > smooth[i] and longest[j] + 1 > longest[i]:
                longest[i], back[i] = longest[j] + 1, j
    end = max(range(skip, n), key=lambda i: longest[i])
    first = end
    while back[first] != first:
        first = back[first]
    return lrs[first + (end - first) // 2] if end > first else None
