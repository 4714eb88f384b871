"""The two registries a new kind plugs into: tasks (`engine.kinds`) and optimizer families
(`schedule.optimizers`), each kept in step with the names `--help` lists without torch."""

from __future__ import annotations

import argparse
from dataclasses import replace

import pytest
import torch
from torch import nn

from lrtui.commands.flags import experiment_flags
from lrtui.engine.builtin import BuiltinWorkload
from lrtui.engine.kinds import IN_MEMORY_TASK, TASK_FILE, TASK_KINDS, load_workload, task_kind
from lrtui.engine.slot import RunSlot, shared_optimizer
from lrtui.engine.trainer import Trainer
from lrtui.modes.config import Settings, build_experiment, parse_scheduler_flag
from lrtui.schedule.optimizers import (
    ALIASES,
    OPTIMIZER_KINDS,
    OptimizerKind,
    build_optimizer,
    kind_of,
)
from lrtui.spec.choices import MODEL_TASKS, OPTIMIZER_ALIASES, TASKS
from lrtui.spec.events import EvalEvent
from lrtui.spec.experiment import Call, ExperimentSpec


def _help_of(flag: str) -> str:
    parser = argparse.ArgumentParser()
    experiment_flags(parser)
    return next(a.help for a in parser._actions if flag in a.option_strings) or ""


# ---- tasks --------------------------------------------------------------------------------
def test_every_builtin_task_is_registered_once_and_help_lists_exactly_them():
    assert list(TASK_KINDS) == list(TASKS)  # spec's names, for --help without torch
    assert all(kind.name == name and kind.builtin for name, kind in TASK_KINDS.items())
    assert _help_of("--task").startswith(f"{', '.join(TASK_KINDS)}, or your own")
    assert all(task_kind(name) is kind for name, kind in TASK_KINDS.items())


def test_the_tasks_that_take_a_model_are_named_in_spec_as_in_the_registry():
    """A run's recorded setup names `--model` only where it picks the network (spec's names)."""
    assert set(MODEL_TASKS) == {k.name for k in TASK_KINDS.values() if k.takes_model}


def test_any_other_name_is_a_task_file_and_compare_objects_stay_where_given():
    for name in ("task.py", "pkg.mod:Task", "Random"):
        assert task_kind(name) is TASK_FILE
    assert not TASK_FILE.builtin and TASK_FILE.loadable
    assert not task_kind(IN_MEMORY_TASK).loadable


def test_each_builtin_task_builds_a_workload_from_the_spec():
    spec = ExperimentSpec(runs=(), batches=2, batch_size=4)
    for name, kind in TASK_KINDS.items():
        workload = load_workload(replace(spec, task=name), torch.device("cpu"))
        assert isinstance(workload.model(), nn.Module)
        assert len(list(workload.batches(0))) == 2
        assert kind.label(replace(spec, task=name)).endswith(name)


def test_a_task_whose_data_comes_from_the_seed_builds_each_seed_apart():
    spec = ExperimentSpec(runs=(), batches=2, batch_size=4, task="teacher")
    kind = task_kind("teacher")
    assert kind.seeded_data and kind.takes_model and kind.max_samples
    a, b = (kind.build(spec, torch.device("cpu"), k).batches(0)[0][0] for k in (0, 1))
    assert not torch.equal(a, b)
    assert kind.label(spec) == "linear · teacher"


# ---- optimizer families -----------------------------------------------------------------------
def test_aliases_are_read_from_the_kinds_and_match_what_help_lists():
    assert ALIASES == OPTIMIZER_ALIASES
    assert all(call.name in OPTIMIZER_KINDS for call in ALIASES.values())
    assert _help_of("--optimizer").startswith(", ".join(OPTIMIZER_ALIASES))


def test_every_optimizer_kind_builds_its_torch_class():
    for name, kind in OPTIMIZER_KINDS.items():
        optimizer = build_optimizer(Call(name), [nn.Parameter(torch.zeros(3))], 0.1)
        assert type(optimizer) is kind.optimizer_class() and kind_of(optimizer) is kind and kind.name == name


def _calls(kind: OptimizerKind) -> list[Call]:
    """The kind's plain call, its aliases, and each option that keeps more state, set."""
    more = [Call(kind.name, ((key, 0.9 if key == "momentum" else True),)) for key, _ in kind.more_state]
    aliases = [call for call in ALIASES.values() if call.name == kind.name]
    return [Call(kind.name), *aliases, *more]


@pytest.mark.parametrize("name", list(OPTIMIZER_KINDS))
def test_state_per_parameter_is_what_torch_allocates_after_a_step(name):
    kind = OPTIMIZER_KINDS[name]
    for call in _calls(kind):
        param = nn.Parameter(torch.randn(3, 4))
        optimizer = build_optimizer(call, [param], 0.1)
        param.grad = torch.randn(3, 4)
        optimizer.step()
        held = [v for v in optimizer.state[param].values() if torch.is_tensor(v) and v.shape == param.shape]
        assert len(held) == kind.state_per_param(call), call


def test_an_optimizer_with_modes_evaluates_in_eval_mode_and_trains_in_train_mode(monkeypatch):
    """The hook schedule-free needs: train() once built, eval() around each evaluation, and
    each run stepping its own optimizer (the shared one would hold the state it switches)."""
    log: list[str] = []

    class Moded(torch.optim.SGD):
        def train(self) -> None:
            log.append("train")

        def eval(self) -> None:
            log.append("eval")

    class Evaluated(BuiltinWorkload):
        def evaluate(self, model: nn.Module) -> float:
            log.append("evaluate")
            return 1.0

    monkeypatch.setitem(OPTIMIZER_KINDS, "Moded", OptimizerKind("Moded", Moded, 0, has_modes=True))
    settings = Settings(
        runs=[parse_scheduler_flag("StepLR(step_size=1)")], epochs=2, batches=3, task="random"
    )
    exp = replace(build_experiment(settings), optimizer=Call("Moded"))
    events: list = []
    trainer = Trainer(exp, events.extend, workload=lambda d: Evaluated("linear", "random", 3, 4, 0, d))
    trainer.run()
    # and eval() once more when the run ends: it ends at the weights it is judged by
    assert log == ["train", "eval", "evaluate", "train", "eval", "evaluate", "train", "eval"]
    assert [e.loss for e in events if isinstance(e, EvalEvent)] == [1.0, 1.0]
    assert shared_optimizer(trainer._runs) is None


def test_torchs_optimizers_have_no_modes_and_share_one_step():
    runs = [RunSlot(i, None) for i in range(2)]  # type: ignore[arg-type]
    for r in runs:
        r.optimizer = build_optimizer(Call("Adam"), [nn.Parameter(torch.zeros(2))], 0.1)
        with r.evaluating():  # nothing to switch
            pass
    assert not any(kind.has_modes for kind in OPTIMIZER_KINDS.values() if kind.cls is not None)
    assert isinstance(shared_optimizer(runs), torch.optim.Adam)
