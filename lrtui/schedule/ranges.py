"""Values no schedule can mean, checked by parameter name across torch's and Hugging Face's
schedules. torch checks some of these itself, some not (a negative gamma makes StepLR flip
the LR's sign)."""

from __future__ import annotations

import math

from lrtui.spec.errors import SpecError

_POSITIVE = {
    "gamma",
    "max_lr",
    "step_size",
    "T_max",
    "T_0",
    "step_size_up",
    "step_size_down",
    "total_steps",
    "epochs",
    "steps_per_epoch",
    "div_factor",
    "final_div_factor",
}
_NON_NEGATIVE = {
    "eta_min",
    "min_lr",
    "base_lr",
    "patience",
    "cooldown",
    "total_iters",
    "threshold",
    "eps",
    "power",
    "factor",
    "start_factor",
    "end_factor",
    "base_momentum",
    "max_momentum",
    # Hugging Face's schedules
    "num_warmup_steps",
    "num_training_steps",
    "num_decay_steps",
    "num_stable_steps",
    "num_cycles",
    "lr_end",
    "min_lr_rate",
    "min_lr_ratio",
    "warmup_lr_rate",
    "timescale",
}


def check_range(name: str, key: str, value: object, where: str) -> None:
    numbers = value if isinstance(value, tuple) else (value,)
    for v in numbers:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if not math.isfinite(v):
            raise SpecError(f"{where}: {name} {key} must be finite, not {v!r}")
        if key in _POSITIVE and v <= 0:
            raise SpecError(f"{where}: {name} {key} must be > 0, not {v!r}")
        if key in _NON_NEGATIVE and v < 0:
            raise SpecError(f"{where}: {name} {key} must be >= 0, not {v!r}")
        if key == "milestones" and v < 0:
            raise SpecError(f"{where}: {name} milestones must be >= 0, not {v!r}")
