"""Evaluating a schedule-free run at the weights it would be judged by.

Schedule-free optimizers (Defazio et al. 2024) step at y but are evaluated at x, the average
of their iterates: `optimizer.eval()` moves the model's weights to x. BatchNorm's running
statistics were gathered while training at y, so the package's rule is to recompute them at x
before evaluating: the model in train mode, a few training batches forward without gradients
(at BatchNorm's default momentum 0.1, 50 batches leave 0.9**50 = 0.5% of the old statistics),
then evaluation as usual. `recompute_norm_stats` does exactly that, on the epoch's own batches,
and `evaluate_run` is how the trainer evaluates any run, with or without such an optimizer.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice

import torch
from torch import nn

from lrtui.engine.feed import as_batch
from lrtui.engine.slot import RunSlot
from lrtui.engine.workload import Workload
from lrtui.schedule.build import describe_error

NORM_BATCHES = 50  # as schedule-free's README does it


def has_running_stats(module: nn.Module) -> bool:
    """Whether the model keeps normalisation statistics outside its parameters."""
    return any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats for m in module.modules()
    )


def recompute_norm_stats(
    module: nn.Module, workload: Workload, epoch: int, device: torch.device, batches: int = NORM_BATCHES
) -> None:
    """BatchNorm's running statistics at the weights `module` holds now (the averaged ones,
    its optimizer in eval mode): the first `batches` of `epoch` forward, in train mode, without
    gradients. Nothing happens for a model without them."""
    if not has_running_stats(module):
        return
    module.train()
    with torch.no_grad():
        for item in islice(iter(workload.batches(epoch)), batches):
            workload.loss(module, as_batch(item, device))


def evaluate_run(
    r: RunSlot, module_of: Callable[[], nn.Module], workload: Workload, device: torch.device
) -> float | None:
    """Run `r`'s validation loss (None where the task has none): its optimizer in eval mode
    meanwhile, so a schedule-free run is judged at its averaged weights (`module_of` is read
    only then: the stacked engine copies the weights out), BatchNorm's statistics recomputed
    there first for such a run; the model back in train mode after, for training goes on. The
    task's own error is raised as 'evaluate failed: ...', the run's final message."""
    module = None
    try:
        with torch.no_grad(), r.evaluating():
            module = module_of()
            if r.has_modes:
                recompute_norm_stats(module, workload, r.epoch, device)
            value = workload.evaluate(module)
    except Exception as exc:
        raise RuntimeError(f"evaluate failed: {describe_error(exc)}") from exc
    finally:
        if module is not None:
            module.train()  # evaluate may switch the model to eval mode
    return None if value is None else float(value)
