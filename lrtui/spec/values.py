"""Checks of single values a user types (counts, positive numbers, choices, devices), each
failing with a `SpecError` that names the setting."""

from __future__ import annotations

import math

from lrtui.spec.errors import SpecError
from lrtui.spec.experiment import MAX_SEEDS
from lrtui.spec.text import clean

# Far beyond any real comparison, and small enough that a typo fails at once instead of
# allocating for minutes.
LIMITS = {
    "epochs": 1_000_000,
    "batches": 100_000_000,
    "batch_size": 1_000_000,
    "seed": 2**63 - 100,  # room for --seeds above it
    "seeds": MAX_SEEDS,
}


def count(value: object, name: str, low: int = 1) -> int:
    high = LIMITS.get(name.lstrip("-").replace("-", "_"))
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 30 or not text.lstrip("+-").isdigit():
            raise SpecError(f"{name} must be a whole number >= {low}, not {clean(value, 40)!r}")
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SpecError(f"{name} must be a whole number >= {low}, not {value!r}")
    if high is not None and value > high:
        raise SpecError(f"{name} must be at most {high:,}, not {value:,}")
    return value


def positive(value: object, name: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise SpecError(f"{name} must be a number > 0, not {clean(value, 40)!r}") from None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise SpecError(f"{name} must be a number > 0, not {value!r}")
    return float(value)


def choice(value: object, name: str, options: tuple[str, ...] | list[str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise SpecError(f"{name} must be one of {', '.join(options)}, not {value!r}")
    return value


def device_name(value: object, name: str = "--device") -> str:
    if isinstance(value, str) and (value in ("auto", "cpu", "cuda") or _is_cuda_index(value)):
        return value
    raise SpecError(f"{name} must be auto, cpu, cuda or cuda:N, not {value!r}")


def _is_cuda_index(value: str) -> bool:
    head, _, index = value.partition(":")
    return head == "cuda" and index.isdigit()


def flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{name} must be true or false, not {value!r}")
    return value


def task_name(value: object, name: str = "--task") -> str:
    """A built-in task's name, or a reference to the user's task (a file or module, checked
    when it is loaded)."""
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{name} must name a built-in task or a task file or module, not {value!r}")
    return value.strip()


MAX_POLL_SECONDS = 60.0


def poll_seconds(value: object, name: str = "--poll") -> float:
    """How often a watcher reads: positive, and at most a minute (a longer poll looks dead)."""
    seconds = positive(value, name)
    if seconds > MAX_POLL_SECONDS:
        raise SpecError(f"{name} must be at most {MAX_POLL_SECONDS:g} seconds, not {seconds:g}")
    return seconds
