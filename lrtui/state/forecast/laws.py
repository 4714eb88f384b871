"""The registry of loss laws: a new law is a module with a `Law` and one entry here."""

from __future__ import annotations

from lrtui.state.forecast.annealing import Annealing
from lrtui.state.forecast.law import Law
from lrtui.state.forecast.multipower import MultiPower

LAWS: dict[str, Law] = {"multi-power": MultiPower(), "annealing": Annealing()}
