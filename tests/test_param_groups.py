"""A task's own param groups (`param_groups(model)`: no weight decay on norms and biases):
every run's optimizer gets them over its own weights, its scheduler scales each, and the
result equals a plain torch loop built with the same groups, on both engines (a conv net
with BatchNorm trains one run after another; an MLP with LayerNorm stacks), with a run
restarted midway, and every group's LR in each step's record and on the run's panel."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest
import torch
from helpers import all_steps, steps_of
from terminal import Terminal, have_tmux, lrtui_command
from torch.nn import functional as F

from lrtui.engine.tasks import TaskError
from lrtui.engine.trainer import Trainer
from lrtui.modes.config import Settings, build_ready, parse_scheduler_flag
from lrtui.schedule.optimizers import build_optimizer, parse_optimizer
from lrtui.spec.commands import Command, Verb
from lrtui.spec.events import RunStatus, StatusEvent

TASK = """
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

gen = torch.Generator().manual_seed(7)
X = {x}
Y = torch.randint(0, 3, (64,), generator=gen)


def model():
    return {net}


def batches(epoch):
    return DataLoader(TensorDataset(X, Y), batch_size=16)


def param_groups(model):
    decay = [p for name, p in model.named_parameters() if p.ndim > 1]
    rest = [p for name, p in model.named_parameters() if p.ndim <= 1]  # norms and biases
    return [{{"params": decay}}, {{"params": rest, "weight_decay": 0.0, "lr": 0.005}}]
"""
NETS = {  # engine: (inputs, the model)
    "sequential": (
        "torch.randn(64, 3, 8, 8, generator=gen)",
        "nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), "
        "nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))",
    ),
    "stacked": (
        "torch.randn(64, 10, generator=gen)",
        "nn.Sequential(nn.Linear(10, 16), nn.LayerNorm(16), nn.ReLU(), nn.Linear(16, 3))",
    ),
}
RUNS = (  # two of one optimizer class (one shared step), one of another
    "AdamW(lr=0.01, weight_decay=0.1) | StepLR(step_size=1, gamma=0.5)",
    "AdamW(lr=0.02, weight_decay=0.2) | CosineAnnealingLR(T_max=3)",
    "SGD(lr=0.05, momentum=0.9, weight_decay=0.05) | StepLR(step_size=1, gamma=0.7)",
)
EPOCHS, BATCHES, RESTART_AFTER = 3, 4, 5


def _task(tmp_path: Path, engine: str) -> Path:
    x, net = NETS[engine]
    path = tmp_path / f"grouped_{engine}.py"
    path.write_text(TASK.format(x=x, net=net))
    return path


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem + "_plain", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _plain(module, run: str, epochs: int) -> tuple[list[float], list[tuple[float, ...]]]:
    """The run trained by hand: the model built under seed 0, torch's optimizer over the
    task's groups, the schedule stepped per epoch; every step's loss and group LRs."""
    torch.manual_seed(0)
    model = module.model()
    spec = parse_scheduler_flag(run)
    opt = build_optimizer(spec.optimizer, module.param_groups(model), 0.1)
    sched = getattr(torch.optim.lr_scheduler, spec.call.name)(opt, **dict(spec.call.kwargs))
    losses, lrs = [], []
    for epoch in range(epochs):
        for x, y in module.batches(epoch):
            lrs.append(tuple(g["lr"] for g in opt.param_groups))
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        sched.step()
    return losses, lrs


def _train(path: Path, engine: str, restart: int | None = None) -> list:
    flags = Settings(runs=[parse_scheduler_flag(s) for s in RUNS], task=str(path), epochs=EPOCHS,
                     lr=0.1, device="cpu", engine=engine, optimizer=parse_optimizer("SGD"))  # fmt: skip
    ready = build_ready(flags, dry_run=False)
    assert ready.exp.engine == engine
    events: list = []
    box: list[Trainer] = []
    pending = [restart] if restart is not None else []

    def sink(batch) -> None:
        events.extend(batch)
        done = max((e.step for e in all_steps(batch) if e.run == 0), default=0)
        if pending and done >= RESTART_AFTER:
            box[0].send(Command(Verb.RESTART, pending.pop()))

    box.append(Trainer(ready.exp, sink, workload=ready.workload, flush_interval=0.0))
    box[0].run()
    assert not [e.message for e in events if isinstance(e, StatusEvent) and e.status is RunStatus.ERROR]
    shared = [type(optimizer).__name__ for optimizer, _ in box[0]._steps._shared]  # type: ignore[union-attr]
    # stacked: the two AdamW runs share one fused step over their groups; one after another:
    # torch's own step for them (nothing stacked to fuse)
    assert shared[0] == ("FusedStep" if engine == "stacked" else "AdamW")
    return events


@pytest.mark.parametrize("engine", ["sequential", "stacked"])
def test_each_run_trains_with_the_tasks_groups_as_a_plain_loop_would(tmp_path, engine: str) -> None:
    path = _task(tmp_path, engine)
    module = _module(path)
    events = _train(path, engine, restart=1)
    for run, gen in ((0, 0), (1, 1), (2, 0)):
        losses, lrs = _plain(module, RUNS[run], EPOCHS)
        mine = steps_of(events, run, gen)
        assert len(mine) == EPOCHS * BATCHES
        assert [s.lrs for s in mine] == pytest.approx(lrs, rel=1e-9)
        assert all(len(s.lrs) == 2 for s in mine)
        assert [s.loss for s in mine] == pytest.approx(losses, rel=1e-4, abs=1e-6)
    assert 0 < len(steps_of(events, 1, 0)) < EPOCHS * BATCHES  # run 1 restarted midway


def test_the_groups_decay_what_the_task_says_and_nothing_else(tmp_path) -> None:
    """Against the same loop without groups (weight decay on everything): the losses differ,
    so the groups were applied and not ignored."""
    path = _task(tmp_path, "stacked")
    module = _module(path)
    grouped, _ = _plain(module, RUNS[1], 2)
    module.param_groups = lambda model: [{"params": list(model.parameters())}]
    ungrouped, _ = _plain(module, RUNS[1], 2)
    assert grouped != pytest.approx(ungrouped, rel=1e-6)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ('return [{"params": list(model.parameters())[:-1]}]', "leaves out 3.bias"),
        ('return [{"params": list(model.parameters())}, {"params": [model[0].weight]}]', "is in more"),
        ('return [{"params": list(model.parameters()), "foreach": True}]', "sets foreach, which lrtui sets"),
        ("return model", "not a list of dicts"),
    ],
)  # fmt: skip
def test_groups_lrtui_cannot_use_are_refused_naming_the_line(tmp_path, body: str, said: str) -> None:
    path = tmp_path / "bad_groups.py"
    text = TASK.format(x=NETS["stacked"][0], net=NETS["stacked"][1])
    head, _, _ = text.partition("def param_groups")
    path.write_text(head + "def param_groups(model):\n" + textwrap.indent(body, "    ") + "\n")
    flags = Settings(runs=[parse_scheduler_flag("StepLR(step_size=1)")], task=str(path), device="cpu")
    with pytest.raises(TaskError) as error:
        build_ready(flags, dry_run=False)
    line = head.count("\n") + 1
    assert str(error.value).startswith(f"{path}:{line}: ") and said in str(error.value)


@pytest.mark.journey
@pytest.mark.skipif(not have_tmux(), reason="journeys run in tmux: apt-get install tmux")
def test_the_panel_shows_every_groups_lr_live(tmp_path) -> None:
    """`lrtui --task` with the conv net's groups (the second at an LR of its own, 0.005): the
    run's panel shows both LRs as its schedule left them: 0.01/0.005 halved twice."""
    path = _task(tmp_path, "sequential")
    argv = ["--task", str(path), "-s", RUNS[0], "--epochs", "3"]
    with Terminal(lrtui_command(*argv), 120, 40) as term:
        done = term.wait_for(lambda s: " finished " in s.splitlines()[0], timeout=120)
        assert "lr 0.0025/0.00125" in done
        term.press("q")
        assert term.exit_status(timeout=15) == 0


def test_the_state_keeps_every_groups_newest_lr_and_the_panel_line_shows_them() -> None:
    from lrtui.spec.events import RunInfo, StepBlock
    from lrtui.state.runs import ExperimentState
    from lrtui.ui.widgets.lines import lr_text

    state = ExperimentState([RunInfo("grouped"), RunInfo("plain"), RunInfo("same")], lambda: 0.0)
    state.apply([
        StepBlock(0, 0, 1, (1, 1), ((0.01, 0.005), (0.008, 0.004)), (1.0, 0.9), (0.1, 0.2)),
        StepBlock(1, 0, 1, (1,), ((0.01,),), (1.0,), (0.1,)),
        StepBlock(2, 0, 1, (1,), ((0.01, 0.01),), (1.0,), (0.1,)),
    ])  # fmt: skip
    grouped, plain, same = state.runs
    assert (grouped.lr, grouped.group_lrs) == (0.008, (0.008, 0.004))
    assert (plain.group_lrs, same.group_lrs) == ((), (0.01, 0.01))
    assert [lr_text(r) for r in state.runs] == ["0.008/0.004", "0.01", "0.01"]  # one LR where all agree
    state.apply([StatusEvent(0, 1, RunStatus.RUNNING)])  # a restart forgets the old ones
    assert grouped.group_lrs == ()
