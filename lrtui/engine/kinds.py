"""Which workload a task name means: the one place that decides it.

A task is a built-in data task (`random`, `teacher`), the character LM (`charlm`), or a task
file (`path.py` or `path.py:Class`). A task given as Python objects (`lrtui.compare`) has no
name to load it again by: it is trained where it was given.
"""

from __future__ import annotations

import torch

from lrtui.engine.builtin import DATA_TASKS, BuiltinWorkload
from lrtui.engine.charlm import CharLMWorkload
from lrtui.engine.tasks import load_task
from lrtui.engine.workload import Workload
from lrtui.spec.experiment import ExperimentSpec

IN_MEMORY_TASK = "compare()"  # the task name of a task given as Python objects


def load_workload(exp: ExperimentSpec, device: torch.device) -> Workload:
    """The task of `exp` as a workload: built in, charlm, or the user's file (loaded)."""
    if exp.task in DATA_TASKS:
        return BuiltinWorkload(exp.model, exp.task, exp.batches, exp.batch_size, exp.seed, device)
    if exp.task == "charlm":
        return CharLMWorkload(exp.batches, exp.batch_size, exp.seed, device)
    return load_task(exp.task)


def loadable(task: str) -> bool:
    """Whether another process can load the task again from its name alone."""
    return task != IN_MEMORY_TASK
