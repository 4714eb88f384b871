"""How often something recurring happens, as a user types it: `500` (steps) or `10m` (minutes).
`--checkpoint-every` reads it; a bad value is a `SpecError` naming the flag."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lrtui.spec.errors import SpecError
from lrtui.spec.text import clean

_FORM = re.compile(r"^\s*(\d{1,9}(?:\.\d+)?)\s*(m|min|s)?\s*$")


@dataclass(frozen=True)
class Cadence:
    """Every `steps` training steps, or every `seconds`: exactly one is set."""

    steps: int | None = None
    seconds: float | None = None


def cadence(value: object, name: str) -> Cadence:
    """`N` steps (a whole number), `Nm` minutes or `Ns` seconds; more than zero."""
    if isinstance(value, Cadence):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    match = _FORM.match(value) if isinstance(value, str) else None
    unit = match.group(2) if match else None
    number = float(match.group(1)) if match else 0.0
    if match is None or number <= 0 or (unit is None and not number.is_integer()):
        shown = clean(value, 40) if isinstance(value, str) else value
        raise SpecError(f"{name} must be a number of steps (500) or of minutes (10m), not {shown!r}")
    if unit is None:
        return Cadence(steps=int(number))
    return Cadence(seconds=number * 60 if unit in ("m", "min") else number)
