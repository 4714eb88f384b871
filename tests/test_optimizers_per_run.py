"""A run is an optimizer and its schedule: `OPTIMIZER | SCHEDULER` specs, schedule-free runs
trained by the package's rules, runs of one optimizer kind stepping together, and the LR that
moved the weights."""

from __future__ import annotations

import sys
import textwrap
from itertools import islice
from types import SimpleNamespace

import pytest
import schedulefree
import torch
from helpers import steps_of
from torch import nn
from torch.nn import functional as F

from lrtui.commands.main import main
from lrtui.engine.slot import StepGroups
from lrtui.engine.trainer import Trainer
from lrtui.modes.config import Settings, build_experiment, build_ready, load_config
from lrtui.schedule.plan import plan, step_lrs
from lrtui.spec.commands import Command, Verb
from lrtui.spec.describe import optimizers_label, run_infos
from lrtui.spec.errors import SpecError
from lrtui.spec.events import EvalEvent, RunStatus, StatusEvent
from lrtui.spec.experiment import CONSTANT_SCHEDULE, Call
from lrtui.spec.settings import parse_scheduler_flag

# A task of the user's: fixed data, each epoch's batches in a seeded order of their own (so a
# plain loop reads exactly what lrtui feeds), a validation loss in eval mode.
TASK = """
import torch
from torch import nn

gen = torch.Generator().manual_seed(5)
X = torch.randn(128, 6, generator=gen)
Y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).long()
VX = torch.randn(64, 6, generator=gen)
VY = (VX[:, 0] + VX[:, 1] * VX[:, 2] > 0).long()


def model():
    return nn.Sequential({layers})


def batches(epoch):
    order = torch.randperm(128, generator=torch.Generator().manual_seed(epoch))
    return [(X[i], Y[i]) for i in order.view(8, 16)]


def evaluate(model):
    model.eval()
    with torch.no_grad():
        return nn.functional.cross_entropy(model(VX), VY).item()
"""
PLAIN = "nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 2)"
BATCHNORM = "nn.Linear(6, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 2)"
EPOCHS = 3


def _task(tmp_path, layers: str, name: str) -> tuple[str, object]:
    """The task file's path, and the same module loaded apart for the plain loop."""
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(TASK.format(layers=layers)))
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return str(path), SimpleNamespace(**namespace)


def _train(task: str, *specs: str, engine: str = "auto", **kw) -> tuple[object, list]:
    settings = Settings(
        runs=[parse_scheduler_flag(s) for s in specs],
        task=task,
        epochs=EPOCHS,
        device="cpu",
        engine=engine,
        **kw,
    )
    ready = build_ready(settings)
    events: list = []
    Trainer(ready.exp, events.extend, workload=ready.workload).run()
    return ready, events


def _readme_loop(
    task, make_optimizer, *, bn: bool, seed: int = 0
) -> tuple[list[float], list[float], list[float]]:
    """Schedule-free by its README: `optimizer.train()` with the model's train(), the steps,
    then `optimizer.eval()` before evaluating; for BatchNorm, the statistics recomputed at the
    averaged weights first (model.train(), 50 training batches forward without gradients).
    Every step's loss and applied LR (`scheduled_lr`), every epoch's validation loss."""
    torch.manual_seed(seed)
    model = task.model()
    optimizer = make_optimizer(model.parameters())
    losses, lrs, vals = [], [], []
    for epoch in range(EPOCHS):
        model.train()
        optimizer.train()
        for x, y in task.batches(epoch):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            lrs.append(optimizer.param_groups[0]["scheduled_lr"])
        optimizer.eval()
        if bn:
            model.train()
            with torch.no_grad():
                for x, _ in islice(task.batches(epoch), 50):
                    model(x)
        vals.append(task.evaluate(model))
    return losses, lrs, vals


def _plain_loop(task, make_optimizer, make_scheduler, seed: int = 0) -> list[float]:
    """A scheduled optimizer in plain torch, stepped per batch: every step's loss."""
    torch.manual_seed(seed)
    model = task.model()
    optimizer = make_optimizer(model.parameters())
    scheduler = make_scheduler(optimizer)
    losses = []
    for epoch in range(EPOCHS):
        for x, y in task.batches(epoch):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
    return losses


def _evals(events: list, run: int) -> list[float]:
    return [e.loss for e in events if isinstance(e, EvalEvent) and e.run == run]


# ---- the spec: OPTIMIZER | SCHEDULER, either part optional -----------------------------------


def test_a_run_spec_names_its_optimizer_its_schedule_or_both():
    both = parse_scheduler_flag("AdamW(lr=3e-3, weight_decay=0.1) | CosineAnnealingLR(T_max=10)@batch")
    assert both.optimizer == Call("AdamW", (("lr", 3e-3), ("weight_decay", 0.1)))
    assert both.call == Call("CosineAnnealingLR", (("T_max", 10),)) and both.interval == "batch"
    bare = parse_scheduler_flag("AdamWScheduleFree(lr=0.01, warmup_steps=100)")
    assert bare.call is None and bare.optimizer is not None and bare.optimizer.name == "AdamWScheduleFree"
    alone = parse_scheduler_flag("StepLR(step_size=2)")
    assert alone.optimizer is None and alone.call == Call("StepLR", (("step_size", 2),))
    assert parse_scheduler_flag("momentum | StepLR(step_size=1)").optimizer == Call("momentum")
    quoted = parse_scheduler_flag("SGD | CyclicLR(base_lr=0.001, max_lr=0.1, mode='a|b')")  # | in a string
    assert quoted.optimizer == Call("SGD") and quoted.call is not None and quoted.call.get("mode") == "a|b"


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("|", "names neither an optimizer nor a scheduler"),
        ("AdamW | StepLR | SGD", "at most one |"),
        ("StepLR(step_size=1) | AdamW", "AdamW is an optimizer; write OPTIMIZER | SCHEDULER"),
        ("AdamW(lr=lambda: 1) | StepLR", "must be a literal"),
    ],
)
def test_a_malformed_run_spec_is_one_line_naming_the_problem(spec, says):
    with pytest.raises(SpecError, match=says.replace("|", r"\|")):
        parse_scheduler_flag(spec)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("AdamWSchedulFree", "did you mean the optimizer AdamWScheduleFree"),
        ("AdamWScheduleFree(warmup_step=10)", "did you mean warmup_steps?"),
        ("Adamw(lr=-1) | StepLR(step_size=1)", "lr must be a positive number"),
        ("SGDScheduleFree(momentum=1.0)", "Momentum must be between 0 and 1"),
        ("Adma | StepLR(step_size=1)", "did you mean Adam"),
    ],
)
def test_a_runs_optimizer_is_checked_like_the_flags_with_did_you_mean(capsys, spec, says):
    with pytest.raises(SystemExit) as exit_info:
        main(["--headless", "-s", spec, "--epochs", "1", "--batches", "1"])
    assert exit_info.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("lrtui: error: ") and says in line and "Traceback" not in line


def test_without_the_package_a_schedule_free_run_names_the_extra(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "schedulefree", None)  # import schedulefree: ImportError
    with pytest.raises(SystemExit):
        main(["--headless", "-s", "AdamWScheduleFree", "--epochs", "1", "--batches", "1"])
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line == (
        "lrtui: error: AdamWScheduleFree: optimizer AdamWScheduleFree needs the schedulefree package: "
        "pip install 'lrtui[schedulefree]'"
    )


def test_runs_get_their_own_optimizer_label_title_and_setup():
    exp = build_experiment(
        Settings(
            runs=[
                parse_scheduler_flag(s)
                for s in (
                    "AdamW(lr=0.003) | CosineAnnealingLR(T_max=10)",
                    "AdamWScheduleFree(warmup_steps=20)",
                    "StepLR(step_size=2)",
                )
            ],
            optimizer=Call("SGD"),
            lr=0.1,
            epochs=2,
            batches=10,
        )
    )
    cosine, free, step = exp.runs
    assert [r.label for r in exp.runs] == ["AdamW · CosineAnnealingLR", "AdamWScheduleFree", "StepLR"]
    assert exp.lr_of(cosine) == 0.003 and exp.lr_of(free) == exp.lr_of(step) == 0.1
    assert free.scheduler == CONSTANT_SCHEDULE and free.interval == "batch"
    assert exp.optimizer_of(step) == Call("SGD")
    details = [info.detail for info in run_infos(exp)]
    assert details[0].startswith("AdamW(lr=0.003) | T_max=10")
    assert details[1] == "schedule-free · AdamWScheduleFree(warmup_steps=20)"
    assert details[2] == "step_size=2 · per epoch"
    setups = [dict(info.config) for info in run_infos(exp)]
    assert [s["optimizer"] for s in setups] == [
        "AdamW(lr=0.003)",
        "AdamWScheduleFree(warmup_steps=20)",
        "SGD()",
    ]
    assert [s["lr"] for s in setups] == ["0.003", "0.1", "0.1"]
    assert optimizers_label(exp) == "AdamW · AdamWScheduleFree (schedule-free) · SGD"


def test_a_config_file_gives_runs_their_optimizers(tmp_path):
    path = tmp_path / "runs.toml"
    path.write_text(
        textwrap.dedent(
            """
            schedulers = ["AdamW(weight_decay=0.1) | StepLR(step_size=1)"]

            [[run]]
            optimizer = "SGD(momentum=0.9)"
            scheduler = "OneCycleLR(max_lr=0.1)"
            name = "sgd one-cycle"

            [[run]]
            optimizer = "SGDScheduleFree(warmup_steps=5)"
            """
        )
    )
    runs = load_config(str(path)).runs
    assert [(r.optimizer and r.optimizer.name, r.call and r.call.name) for r in runs] == [
        ("AdamW", "StepLR"),
        ("SGD", "OneCycleLR"),
        ("SGDScheduleFree", None),
    ]
    exp = build_experiment(Settings(epochs=2, batches=4), str(path))
    assert [r.label for r in exp.runs] == ["AdamW · StepLR", "sgd one-cycle", "SGDScheduleFree"]
    path.write_text('[[run]]\noptimizer = "SGD"\nscheduler = "AdamW | StepLR"\n')
    with pytest.raises(SpecError, match="the optimizer is given twice"):
        load_config(str(path))


def test_the_optimizers_preset_pairs_each_optimizer_with_its_schedule():
    exp = build_experiment(Settings(preset="optimizers"))
    assert exp.task == "charlm"
    assert [r.label for r in exp.runs] == [
        "AdamW · cosine",
        "AdamW · WSD",
        "schedule-free AdamW",
        "SGD-momentum · one-cycle",
    ]
    assert [exp.optimizer_of(r).name for r in exp.runs] == ["AdamW", "AdamW", "AdamWScheduleFree", "SGD"]
    assert all(r.interval == "batch" for r in exp.runs)


# ---- schedule-free, by the package's rules ----------------------------------------------------


@pytest.mark.parametrize(
    ("layers", "engine"),
    [(PLAIN, "stacked"), (PLAIN, "sequential"), (BATCHNORM, "auto")],
    ids=["stacked", "sequential", "batchnorm"],
)
def test_a_schedule_free_run_equals_the_packages_readme_loop(tmp_path, layers, engine):
    """Beside a scheduled AdamW run (its own kind, stepped apart), the schedule-free run's
    every loss, applied LR and validation loss are the README loop's."""
    path, task = _task(tmp_path, layers, "sf_" + engine)
    spec = "AdamWScheduleFree(lr=0.02, warmup_steps=10)"
    ready, events = _train(path, "AdamW(lr=0.01) | StepLR(step_size=1)", spec, engine=engine)
    assert ready.exp.engine == ("sequential" if layers == BATCHNORM else engine)
    losses, lrs, vals = _readme_loop(
        task, lambda p: schedulefree.AdamWScheduleFree(p, lr=0.02, warmup_steps=10), bn=layers == BATCHNORM
    )
    steps = steps_of(events, 1)
    assert len(steps) == len(losses) == EPOCHS * 8
    exact = engine != "stacked"  # the stacked pass sums in another order: float tolerance
    tol = {} if exact else {"rel": 1e-5, "abs": 1e-6}
    assert [s.loss for s in steps] == (losses if exact else pytest.approx(losses, **tol))
    assert [s.lrs[0] for s in steps] == pytest.approx(lrs, rel=1e-12)
    assert lrs[:3] == pytest.approx([0.002, 0.004, 0.006]) and lrs[-1] == pytest.approx(0.02)  # its warm-up
    assert _evals(events, 1) == (vals if exact else pytest.approx(vals, **tol))


def test_without_recomputing_batchnorm_statistics_the_evaluation_would_differ(tmp_path):
    """The BatchNorm rule matters here: evaluated with the statistics gathered at the training
    weights, the validation losses differ from lrtui's."""
    path, task = _task(tmp_path, BATCHNORM, "sf_bn_rule")
    _, events = _train(path, "AdamWScheduleFree(lr=0.02, warmup_steps=10)")
    _, _, stale = _readme_loop(
        task, lambda p: schedulefree.AdamWScheduleFree(p, lr=0.02, warmup_steps=10), bn=False
    )
    assert all(abs(a - b) > 1e-6 for a, b in zip(_evals(events, 0), stale, strict=True))


@pytest.mark.parametrize("name", ["SGDScheduleFree", "RAdamScheduleFree"])
def test_the_other_schedule_free_optimizers_train_by_the_same_rules(tmp_path, name):
    path, task = _task(tmp_path, BATCHNORM, "sf_" + name)
    _, events = _train(path, f"{name}(lr=0.05)")
    cls = getattr(schedulefree, name)
    losses, lrs, vals = _readme_loop(task, lambda p: cls(p, lr=0.05), bn=True)
    assert [s.loss for s in steps_of(events, 0)] == losses
    assert [s.lrs[0] for s in steps_of(events, 0)] == pytest.approx(lrs, rel=1e-12)
    assert _evals(events, 0) == vals


def test_the_planned_lr_of_a_schedule_free_run_is_its_warm_up_times_its_schedule():
    specs = (
        "AdamWScheduleFree(warmup_steps=4)",
        "SGDScheduleFree(warmup_steps=4) | StepLR(step_size=1, gamma=0.5)",
    )
    exp = build_experiment(
        Settings(runs=[parse_scheduler_flag(s) for s in specs], lr=0.01, epochs=2, batches=5)
    )
    bare, stepped = (plan(run, exp) for run in exp.runs)
    assert bare is not None and stepped is not None and bare.per_batch and stepped.per_batch
    assert list(bare.lrs) == pytest.approx([0.0025, 0.005, 0.0075, 0.01, *[0.01] * 6])
    # per epoch, StepLR halves what the optimizer's own warm-up scales, batch by batch
    assert list(stepped.lrs) == pytest.approx([0.0025, 0.005, 0.0075, 0.01, 0.01, *[0.005] * 5])
    assert step_lrs(stepped, exp.runs[1], exp) == list(stepped.lrs)


# ---- per-run optimizers: fair, and stepping together by kind ------------------------------------


@pytest.mark.parametrize("engine", ["stacked", "sequential"])
def test_runs_with_different_optimizers_each_equal_their_own_plain_loop(tmp_path, engine):
    path, task = _task(tmp_path, PLAIN, "mixed_" + engine)
    specs = (
        "AdamW(lr=0.01, weight_decay=0.1) | StepLR(step_size=8, gamma=0.5)@batch",
        "SGD(momentum=0.9) | ExponentialLR(gamma=0.99)@batch",
        "Adam(lr=0.003) | StepLR(step_size=4, gamma=0.5)@batch",
        "AdamW(lr=0.02) | ExponentialLR(gamma=0.95)@batch",
    )
    _, events = _train(path, *specs, engine=engine, lr=0.1)
    sched = torch.optim.lr_scheduler
    plain = [
        _plain_loop(
            task, lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1), lambda o: sched.StepLR(o, 8, 0.5)
        ),
        _plain_loop(
            task, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), lambda o: sched.ExponentialLR(o, 0.99)
        ),
        _plain_loop(task, lambda p: torch.optim.Adam(p, lr=0.003), lambda o: sched.StepLR(o, 4, 0.5)),
        _plain_loop(task, lambda p: torch.optim.AdamW(p, lr=0.02), lambda o: sched.ExponentialLR(o, 0.95)),
    ]
    for run, reference in enumerate(plain):
        assert [s.loss for s in steps_of(events, run)] == pytest.approx(reference, rel=1e-5, abs=1e-6), run


def test_runs_are_grouped_by_optimizer_kind_for_their_steps(tmp_path):
    path, _ = _task(tmp_path, PLAIN, "groups")
    specs = (
        "AdamW | StepLR(step_size=1)",
        "SGD(momentum=0.9) | StepLR(step_size=1)",
        "AdamWScheduleFree",
        "AdamW(weight_decay=0.1) | ExponentialLR(gamma=0.9)",
        "SGDScheduleFree",
    )
    ready = build_ready(
        Settings(runs=[parse_scheduler_flag(s) for s in specs], task=path, epochs=1, device="cpu")
    )
    trainer = Trainer(ready.exp, lambda events: None, workload=ready.workload)
    trainer.run()
    groups = StepGroups(trainer._runs)
    assert groups.describe(trainer._runs) == (
        "optimizer steps: AdamW x2 shared, SGD x1 shared, AdamWScheduleFree alone, SGDScheduleFree alone"
    )
    assert [groups.steps(r) for r in trainer._runs] == [True, True, False, True, False]
    assert groups.holder(trainer._runs[0]) is groups.holder(trainer._runs[3]) is not None
    # a run that ended holds its averaged weights: its optimizer in eval mode
    assert all(not g["train_mode"] for g in trainer._runs[2].optimizer.param_groups)


def test_a_restarted_run_in_a_shared_group_trains_as_fresh(tmp_path):
    """A restart replaces the run's group and state in its shared optimizer: the run's second
    life equals its first, step for step (old moments left behind would change every step by
    far more than rounding)."""
    path, _ = _task(tmp_path, PLAIN, "restart")
    specs = (
        "AdamW | StepLR(step_size=1)",
        "AdamW(lr=0.003) | StepLR(step_size=1)",
        "SGD | StepLR(step_size=1)",
    )
    ready = build_ready(
        Settings(runs=[parse_scheduler_flag(s) for s in specs], task=path, epochs=2, device="cpu")
    )
    events: list = []
    trainer = Trainer(ready.exp, events.extend, workload=ready.workload, linger=True)

    def restart_once_then_stop(batch: list) -> None:
        events.extend(batch)
        for e in batch:
            if isinstance(e, StatusEvent) and e.run == 1 and e.status is RunStatus.DONE:
                trainer.send(Command(Verb.RESTART, 1) if e.gen == 0 else Command(Verb.STOP))

    trainer._sink = restart_once_then_stop
    trainer.run()
    first = [s.loss for s in steps_of(events, 1, gen=0)]
    second = [s.loss for s in steps_of(events, 1, gen=1)]
    # within float tolerance: alone, the run may step through another kernel than beside its peer
    assert len(first) == 16 and second == pytest.approx(first, rel=1e-5, abs=1e-6)


def test_compare_from_python_takes_each_runs_optimizer_and_shows_the_applied_lr(capsys):
    import lrtui

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, generator=gen)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    results = lrtui.compare(
        model=nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.Linear(8, 1)),
        batches=[(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)],
        schedulers=[
            "AdamW(lr=0.01) | StepLR(step_size=1, gamma=0.5)",
            "SGDScheduleFree(lr=0.05, warmup_steps=4)",
        ],
        epochs=2,
        device="cpu",
        headless=True,
    )
    adamw, free = results.runs
    assert (adamw.name, free.name) == ("AdamW · StepLR", "SGDScheduleFree")
    assert adamw.lrs == pytest.approx([0.01] * 4 + [0.005] * 4)
    assert free.lrs == pytest.approx([0.0125, 0.025, 0.0375, 0.05, 0.05, 0.05, 0.05, 0.05])  # its warm-up
    assert adamw.status == free.status == "done"
