"""Which kind of task a task name means, and all that differs by kind: the one place it is decided.

A task is a built-in data task (`random`, `teacher`), the character LM (`charlm`), or a task
file (`path.py` or `path.py:Class`). A task given as Python objects (`lrtui.compare`) has no
name to load it again by: it is trained where it was given. Every caller that behaves
differently by task (the trainer's seeds, preparation, the config's limits and preset, the
live app's label, `find`'s command) asks the task's `TaskKind` rather than testing its name,
so a new built-in task is one entry here (a data task for `--model`: one in
`engine.builtin.DATASETS`), and its name and help line in `spec.choices`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from lrtui.engine.builtin import DATASETS, MAX_SAMPLES, builtin_workload
from lrtui.engine.charlm import CharLMWorkload
from lrtui.engine.tasks import TaskError, load_task
from lrtui.engine.workload import Workload
from lrtui.spec.choices import IN_MEMORY_TASK
from lrtui.spec.experiment import ExperimentSpec
from lrtui.spec.text import clean

# (experiment, device, seed offset) -> the workload; the offset matters only where the data
# is made from the seed (`TaskKind.seeded_data`), the others draw each seed's order instead
BuildTask = Callable[[ExperimentSpec, torch.device, int], Workload]


@dataclass(frozen=True)
class TaskKind:
    """What lrtui needs to know of one kind of task, beyond the `Workload` it builds."""

    name: str
    build: BuildTask
    builtin: bool = True  # named by a word --help lists; lrtui makes its batches (--batch-size counts)
    seeded_data: bool = False  # its data is made from the seed: each seed builds a workload of its own
    takes_model: bool = False  # --model picks its network
    tried: bool = True  # preparation tries its first step; lrtui's tiny data tasks always stack and fit
    loadable: bool = True  # another process (the spawned live trainer) can load it from its name alone
    max_samples: int | None = None  # the most samples it makes up front, where it holds all its data
    preset: str = "seed"  # the schedules compared when none are given

    def label(self, exp: ExperimentSpec) -> str:
        """What the task is called where the live app names it: the model too where it has one."""
        return f"{exp.model} · {exp.task}" if self.takes_model else clean(exp.task, 80)


def _data_task(name: str) -> TaskKind:
    """A data task of `engine.builtin`: the chosen model on data made up front from the seed."""
    return TaskKind(
        name, builtin_workload, seeded_data=True, takes_model=True, tried=False, max_samples=MAX_SAMPLES
    )


def _charlm(exp: ExperimentSpec, device: torch.device, seed: int) -> Workload:
    return CharLMWorkload(exp.batches, exp.batch_size, exp.seed + seed, device)


def _task_file(exp: ExperimentSpec, device: torch.device, seed: int) -> Workload:
    return load_task(exp.task)


def _in_memory(exp: ExperimentSpec, device: torch.device, seed: int) -> Workload:
    raise TaskError(f"{IN_MEMORY_TASK}: a task given as Python objects cannot be loaded by name")


TASK_KINDS: dict[str, TaskKind] = {
    kind.name: kind
    for kind in (
        *(_data_task(name) for name in DATASETS),
        TaskKind("charlm", _charlm, preset="lm"),
    )
}
TASK_FILE = TaskKind("task file", _task_file, builtin=False)  # any other name: the user's file or module
IN_MEMORY = TaskKind(IN_MEMORY_TASK, _in_memory, builtin=False, loadable=False)
_BY_NAME = {**TASK_KINDS, IN_MEMORY_TASK: IN_MEMORY}


def task_kind(task: str) -> TaskKind:
    """The kind of the task named `task`: a built-in, a task given as objects, else a task file."""
    return _BY_NAME.get(task, TASK_FILE)


def load_workload(exp: ExperimentSpec, device: torch.device) -> Workload:
    """The task of `exp` as a workload: built in, charlm, or the user's file (loaded)."""
    return task_kind(exp.task).build(exp, device, 0)
