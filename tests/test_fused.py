"""The fused multi-run optimizer step (`lrtui.engine.fused`) against N separate torch
optimizers: the same weights after every step, for each optimizer family lrtui fuses, with
weight decay, per-run schedulers that cycle momentum or betas, a paused run, and a run
restarted midway. On the CPU, and on CUDA where there is one."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from helpers import all_steps, steps_of
from torch import nn
from torch.nn import functional as F
from torch.optim import lr_scheduler as lrs

from lrtui.engine.capture import CapturedLoss
from lrtui.engine.engines import StackedEngine
from lrtui.engine.fused import FusedStep, fuse, why_not_fused
from lrtui.engine.slot import StepGroups
from lrtui.engine.trainer import Trainer
from lrtui.modes.config import Settings, build_experiment, parse_scheduler_flag
from lrtui.schedule.optimizers import parse_optimizer
from lrtui.spec.commands import Command, Verb
from lrtui.spec.events import RunStatus, StatusEvent

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")),
]
STEPS = 12
RESTART_AT = 5  # run 1 restarts after this many steps
PAUSED = range(7, 9)  # run 2 sits these steps out

OPTIMIZERS = {
    "SGD": (torch.optim.SGD, {}),
    "SGD+wd": (torch.optim.SGD, {"weight_decay": 0.01}),
    "momentum": (torch.optim.SGD, {"momentum": 0.9, "dampening": 0.1}),
    "nesterov+wd": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    "Adam": (torch.optim.Adam, {}),
    "Adam+wd": (torch.optim.Adam, {"weight_decay": 0.01, "betas": (0.8, 0.99)}),
    "AdamW": (torch.optim.AdamW, {"weight_decay": 0.05}),
    "RMSprop": (torch.optim.RMSprop, {}),
    "RMSprop+momentum+wd": (torch.optim.RMSprop, {"momentum": 0.9, "weight_decay": 0.01}),
    "RMSprop centered": (torch.optim.RMSprop, {"centered": True, "alpha": 0.9}),
}


def _model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))


def _schedulers(k: int, optimizer: torch.optim.Optimizer) -> lrs.LRScheduler:
    """A different schedule per run; CyclicLR and OneCycleLR cycle momentum or beta1 too."""
    lr = optimizer.param_groups[0]["lr"]
    if k == 0:
        return lrs.StepLR(optimizer, step_size=3, gamma=0.5)
    if k == 1:
        return lrs.CyclicLR(optimizer, base_lr=lr / 10, max_lr=lr, step_size_up=3)
    return lrs.OneCycleLR(optimizer, max_lr=lr, total_steps=STEPS + 1)


def _data(device: str, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(8, 6, generator=gen).to(device), torch.randint(0, 3, (8,), generator=gen).to(device))
        for _ in range(STEPS)
    ]


def _batched_loss(template: nn.Module):
    def one(params, batch):
        x, y = batch
        return F.cross_entropy(torch.func.functional_call(template, params, (x,)), y)

    return torch.func.vmap(one, in_dims=(0, 0))


def _groups(params: list[nn.Parameter], grouped: bool) -> list:
    """A run's parameters as they are, or in two groups as a task may set them: the matrices,
    and the biases at half the LR without weight decay (listed in another order)."""
    if not grouped:
        return params
    return [
        {"params": [p for p in params if p.ndim > 1]},
        {"params": [p for p in reversed(params) if p.ndim <= 1], "weight_decay": 0.0, "lr": 0.025},
    ]


class Reference:
    """N separate torch optimizers, one per run, each with its scheduler, stepping an engine of
    their own that computes the very same gradients: only the optimizer arithmetic differs."""

    def __init__(self, inits, cls, kwargs, device: str, grouped: bool = False) -> None:
        self.cls, self.kwargs, self.grouped = cls, kwargs, grouped
        self.engine = StackedEngine(_batched_loss(inits[0]), inits, len(inits), torch.device(device))
        self.runs = [self._fresh(k) for k in range(len(inits))]

    def _fresh(self, k: int):
        optimizer = self.cls(_groups(self.engine.params(k), self.grouped), lr=0.05, **self.kwargs)
        return optimizer, _schedulers(k, optimizer)

    def restart(self, k: int) -> None:
        self.engine.reset(k)
        self.runs[k] = self._fresh(k)

    def step(self, runs: list[int], batch) -> None:
        self.engine.forward_backward(runs, [batch])
        for k in runs:
            optimizer, scheduler = self.runs[k]
            optimizer.step()
            optimizer.zero_grad()
            scheduler.step()


class Fused:
    """The same runs stacked: one backward pass, one fused step, each run's own scheduler."""

    def __init__(self, inits, cls, kwargs, device: str, grouped: bool = False) -> None:
        self.cls, self.kwargs, self.grouped = cls, kwargs, grouped
        self.engine = StackedEngine(_batched_loss(inits[0]), inits, len(inits), torch.device(device))
        self.runs = [self._fresh(k) for k in range(len(inits))]
        step = fuse(self.engine, list(range(len(inits))), [o for o, _ in self.runs])
        assert isinstance(step, FusedStep)
        self.step_all = step

    def _fresh(self, k: int):
        optimizer = self.cls(_groups(self.engine.params(k), self.grouped), lr=0.05, **self.kwargs)
        return optimizer, _schedulers(k, optimizer)

    def restart(self, k: int) -> None:
        self.engine.reset(k)
        self.runs[k] = self._fresh(k)
        fresh = self.runs[k][0].param_groups  # as the trainer does (`StepGroups.restart`)
        self.step_all.param_groups[k * len(fresh) : (k + 1) * len(fresh)] = fresh

    def step(self, runs: list[int], batch) -> None:
        self.engine.forward_backward(runs, [batch])
        self.step_all.step()
        for k in runs:
            for p in self.engine.params(k):
                p.grad = None
            self.runs[k][1].step()


def _weights_equal(ref: Reference, fused: Fused) -> None:
    for k in range(len(ref.runs)):
        for name, (mine, theirs) in enumerate(zip(fused.engine.params(k), ref.engine.params(k), strict=True)):
            torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-6, msg=f"run {k}, weight {name}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_the_fused_step_equals_separate_torch_optimizers(name: str, device: str) -> None:
    cls, kwargs = OPTIMIZERS[name]
    inits = [_model(seed) for seed in (1, 2, 3)]
    ref, fused = Reference(inits, cls, kwargs, device), Fused(inits, cls, kwargs, device)
    for step, batch in enumerate(_data(device)):
        if step == RESTART_AT:
            ref.restart(1)
            fused.restart(1)
        runs = [0, 1] if step in PAUSED else [0, 1, 2]
        ref.step(runs, batch)
        fused.step(runs, batch)
        _weights_equal(ref, fused)
    moved = [
        (p - q).abs().max().item() for p, q in zip(fused.engine.params(0), inits[0].parameters(), strict=True)
    ]
    assert max(moved) > 1e-3  # the runs trained


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["nesterov+wd", "Adam+wd", "AdamW", "RMSprop+momentum+wd"])
def test_the_fused_step_equals_torch_with_several_param_groups(name: str, device: str) -> None:
    """A task's own groups (`paramgroups`): each group's own LR and weight decay, every
    group scaled by the run's scheduler, a restart and a pause, as torch's optimizers do."""
    cls, kwargs = OPTIMIZERS[name]
    inits = [_model(seed) for seed in (1, 2, 3)]
    ref, fused = Reference(inits, cls, kwargs, device, True), Fused(inits, cls, kwargs, device, True)
    assert len(fused.step_all.param_groups) == 6
    for step, batch in enumerate(_data(device)):
        if step == RESTART_AT:
            ref.restart(1)
            fused.restart(1)
        runs = [0, 1] if step in PAUSED else [0, 1, 2]
        ref.step(runs, batch)
        fused.step(runs, batch)
        _weights_equal(ref, fused)
    assert [g["lr"] for g in fused.step_all.param_groups] == [
        g["lr"] for o, _ in ref.runs for g in o.param_groups
    ]


def test_a_restart_starts_the_runs_state_again() -> None:
    """Adam's first step after a restart is its first step again: the moments and the bias
    correction start anew (a run that kept them would move by a different amount)."""
    inits = [_model(seed) for seed in (1, 2)]
    fused = Fused(inits, torch.optim.Adam, {}, "cpu")
    batch = _data("cpu")[0]
    fused.step([0, 1], batch)
    fused.step([0, 1], batch)
    fused.restart(0)
    before = [p.detach().clone() for p in fused.engine.params(0)]
    fused.step([0, 1], batch)
    first = Fused([inits[0]], torch.optim.Adam, {}, "cpu")
    first.step([0], batch)
    for p, q, start in zip(fused.engine.params(0), first.engine.params(0), before, strict=True):
        torch.testing.assert_close(p, q)
        assert not torch.equal(p, start)


@pytest.mark.parametrize(
    ("optimizers", "reason"),
    [
        ([torch.optim.Adam, torch.optim.Adam], None),
        ([torch.optim.Adagrad, torch.optim.Adagrad], "no fused law for Adagrad"),
        ([torch.optim.SGD, torch.optim.Adam], "no fused law for Adam, SGD"),
    ],
)
def test_what_cannot_be_fused_says_why(optimizers, reason) -> None:
    built = [cls([nn.Parameter(torch.zeros(2))], lr=0.1) for cls in optimizers]
    assert why_not_fused(built) == reason


@pytest.mark.parametrize(
    ("cls", "kwargs", "reason"),
    [
        (torch.optim.Adam, {"amsgrad": True}, "amsgrad"),
        (torch.optim.SGD, {"maximize": True}, "maximize"),
    ],
)
def test_options_without_a_fused_formula_keep_torchs_step(cls, kwargs, reason) -> None:
    inits = [_model(1), _model(2)]
    engine = StackedEngine(_batched_loss(inits[0]), inits, 2, torch.device("cpu"))
    built = [cls(engine.params(k), lr=0.1, **kwargs) for k in range(2)]
    assert why_not_fused(built) == reason
    assert fuse(engine, [0, 1], built) is None


def test_runs_with_different_formulas_are_not_fused() -> None:
    built = [
        torch.optim.RMSprop([nn.Parameter(torch.zeros(2))], lr=0.1, centered=centered)
        for centered in (False, True)
    ]
    assert why_not_fused(built) == "runs whose options choose different formulas"


class _Unfused(Trainer):
    """The trainer with torch's shared step in place of the fused one (what it did before)."""

    def _setup(self) -> None:
        super()._setup()
        self._steps = StepGroups(self._runs)


def _train_with(trainer_class, exp, plan: list[tuple[int, Verb, int]]) -> tuple[list, object]:
    """Train to the end; `plan`: after run 0's step s, send `verb` for run `run`."""
    events: list = []
    box: list[Trainer] = []

    def sink(batch) -> None:
        events.extend(batch)
        done = max((e.step for e in all_steps(batch) if e.run == 0 and e.gen == 0), default=0)
        while plan and done >= plan[0][0]:
            _, verb, run = plan.pop(0)
            box[0].send(Command(verb, run))

    trainer = trainer_class(exp, sink, flush_interval=0.0)
    box.append(trainer)
    trainer.run()
    return events, trainer


TASKS = {  # the teacher task's MLP, 20 batches an epoch; charlm (a character LM), 8
    "nesterov": ({"task": "teacher", "model": "mlp", "batches": 20}, 0.05),
    "AdamW(weight_decay=0.01)": ({"task": "teacher", "model": "mlp", "batches": 20}, 0.05),
    "RMSprop(momentum=0.5)": ({"task": "teacher", "model": "mlp", "batches": 20}, 0.05),
    "Adam": ({"task": "charlm", "batches": 8}, 0.003),
}


@pytest.mark.parametrize("optimizer", list(TASKS))
def test_the_trainer_steps_fused_as_it_did_unfused(optimizer: str) -> None:
    """The trainer as lrtui runs it (per-batch schedules that cycle momentum or beta1, a run
    restarted early and one paused for a while) gives the losses torch's shared step gives."""
    task, lr = TASKS[optimizer]
    specs = (
        "StepLR(step_size=1, gamma=0.5)",
        f"OneCycleLR(max_lr={2 * lr})@batch",
        f"CyclicLR(base_lr={lr / 5}, max_lr={2 * lr})@batch",
    )
    exp = build_experiment(
        Settings(
            runs=[parse_scheduler_flag(s) for s in specs], epochs=2, lr=lr,
            optimizer=parse_optimizer(optimizer), **task,
        )
    )  # fmt: skip
    plan = [(2, Verb.RESTART, 1), (4, Verb.PAUSE, 2), (6, Verb.RESUME, 2)]
    fused_events, fused = _train_with(Trainer, exp, list(plan))
    plain_events, _ = _train_with(_Unfused, exp, list(plan))
    assert isinstance(fused._steps._shared[0][0], FusedStep)
    for run, gen in ((0, 0), (1, 0), (1, 1), (2, 0)):
        mine, theirs = steps_of(fused_events, run, gen), steps_of(plain_events, run, gen)
        assert len(mine) == len(theirs) > 0
        assert [s.lrs for s in mine] == [s.lrs for s in theirs]
        assert [s.loss for s in mine] == pytest.approx([s.loss for s in theirs], rel=1e-4, abs=1e-6)
    assert len(steps_of(fused_events, 1, 1)) == 2 * task["batches"]  # the restarted run trained to its end
    assert all(e.status is not RunStatus.ERROR for e in fused_events if isinstance(e, StatusEvent))


@pytest.mark.parametrize("name", ["momentum", "Adam", "RMSprop+momentum+wd"])
def test_its_state_reads_and_loads_as_torchs_does(name: str) -> None:
    """`state[p]` is torch's own form (what a checkpoint saves); a fused step given a torch
    optimizer's state (what a resume loads) goes on as that optimizer would."""
    cls, kwargs = OPTIMIZERS[name]
    inits = [_model(seed) for seed in (1, 2)]
    ref, fused = Reference(inits, cls, kwargs, "cpu"), Fused(inits, cls, kwargs, "cpu")
    data = _data("cpu")
    for batch in data[:4]:
        ref.step([0, 1], batch)
        fused.step([0, 1], batch)
    for k in (0, 1):
        for p, q in zip(fused.engine.params(k), ref.engine.params(k), strict=True):
            theirs = {key: v for key, v in ref.runs[k][0].state[q].items() if v is not None}
            mine = fused.step_all.state[p]
            assert set(theirs) <= set(mine)
            for key, value in theirs.items():
                torch.testing.assert_close(mine[key], value, rtol=1e-5, atol=1e-6, check_dtype=False)
    resumed = fuse(fused.engine, [0, 1], [o for o, _ in fused.runs])
    assert resumed is not None
    for k in (0, 1):
        for p, q in zip(fused.engine.params(k), ref.engine.params(k), strict=True):
            resumed.state[p] = ref.runs[k][0].state[q]
    fused.step_all = resumed
    for batch in data[4:8]:
        ref.step([0, 1], batch)
        fused.step([0, 1], batch)
        _weights_equal(ref, fused)


def _compiled_on_the_cpu(loss):
    """torch's compiler without CUDA graphs (its eager backend): the capture path on a CPU."""
    return torch.compile(loss, backend="eager", dynamic=False)


def test_steps_are_not_captured_on_the_cpu_and_say_why() -> None:
    inits = [_model(1), _model(2)]
    engine = StackedEngine(_batched_loss(inits[0]), inits, 2, torch.device("cpu"))
    assert engine.capture_note is None  # not asked for
    assert engine.capture() == "not captured: CUDA graphs need a CUDA device, not cpu"
    plain = StackedEngine(_batched_loss(inits[0]), inits, 2, torch.device("cpu"))
    batch = _data("cpu")[0]
    assert torch.equal(engine.forward_backward([0, 1], [batch]), plain.forward_backward([0, 1], [batch]))


def test_a_captured_pass_falls_back_when_the_batch_shapes_change() -> None:
    """Captured while the batches keep their shapes (a paused run shortens only the run axis);
    a batch of another shape ends the capture, says so, and the numbers stay the eager ones."""
    inits = [_model(1), _model(2)]
    as_on_a_gpu = CapturedLoss(_batched_loss(inits[0]), torch.device("cuda"), _compiled_on_the_cpu)
    captured = StackedEngine(as_on_a_gpu, inits, 2, torch.device("cpu"))
    assert as_on_a_gpu.captured and captured.capture_note is None
    eager = StackedEngine(_batched_loss(inits[0]), inits, 2, torch.device("cpu"))
    data = _data("cpu")
    short = (data[3][0][:5], data[3][1][:5])
    for runs, batch in (([0, 1], data[0]), ([0], data[1]), ([0, 1], data[2])):
        torch.testing.assert_close(
            captured.forward_backward(runs, [batch]), eager.forward_backward(runs, [batch])
        )
        assert captured.capture_note is None
    torch.testing.assert_close(
        captured.forward_backward([0, 1], [short]), eager.forward_backward([0, 1], [short])
    )
    assert (
        captured.capture_note
        == "not captured: the task's batch shapes change (((8, 6), (8,)) then ((5, 6), (5,)))"
    )
    for mine, theirs in zip(captured.params(1), eager.params(1), strict=True):
        torch.testing.assert_close(mine.grad, theirs.grad)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_captured_pass_on_cuda_gives_the_eager_numbers() -> None:
    inits = [_model(1), _model(2), _model(3)]
    captured = StackedEngine(_batched_loss(inits[0]), inits, 3, torch.device("cuda"))
    eager = StackedEngine(_batched_loss(inits[0]), inits, 3, torch.device("cuda"))
    assert captured.capture() is None
    kept = []
    for batch in _data("cuda"):
        kept.append(captured.forward_backward([0, 1, 2], [batch]))  # kept across steps, as the outbox does
        torch.testing.assert_close(kept[-1], eager.forward_backward([0, 1, 2], [batch]), rtol=1e-5, atol=1e-6)
    assert captured.capture_note is None, captured.capture_note
    assert len({float(k.sum()) for k in kept}) == len(kept)  # each step's losses its own


def test_the_bench_prints_the_step_split_fused_and_unfused_side_by_side() -> None:
    """`python -m lrtui.bench --steps`, as a user runs it (a short seed experiment)."""
    done = subprocess.run(
        [sys.executable, "-m", "lrtui.bench", "--steps", "--epochs", "1", "--batches", "60"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any("fused step" in line and "torch shared" in line for line in lines)
    assert any(line.split()[-2:] == ["FusedStep", "SGD"] for line in lines)
    for phase in ("forward/backward", "optimizer", "schedulers", "events", "the rest", "all"):
        row = next(line for line in lines if line.strip().startswith(phase) and "step by" not in line)
        fused, torch_shared = (float(x) for x in row.split()[-2:])
        assert fused >= 0 and torch_shared >= 0
    rate = next(line for line in lines if line.strip().startswith("run-steps/s"))
    assert float(rate.split()[1].replace(",", "")) > 0


def test_the_separate_processes_contender_trains_each_schedule_in_its_own_process() -> None:
    """`--own --device cuda`'s row for what a user does instead (a script per schedule, all
    at once), here on the CPU: every process trains and the span of their training is told."""
    from lrtui.bench.processes import separate_processes

    seconds = separate_processes("mlp", "cpu", runs=2, epochs=1, batches=2)
    assert 0 < seconds < 300


CPU_REASON = "stacked pass not captured: CUDA graphs need a CUDA device, not cpu"


def test_the_trainer_tells_why_its_pass_is_not_captured_once(monkeypatch) -> None:
    """Capture asked for where it cannot be (forced on for the CPU): the reason comes as one
    notice, the status bar's; where capture is not asked for, nothing is said."""
    from lrtui.engine import engines
    from lrtui.spec.events import Notice

    exp = build_experiment(Settings(runs=[parse_scheduler_flag("StepLR(step_size=1)")] * 2, epochs=2,
                                    task="teacher", model="mlp", batches=5))  # fmt: skip
    quiet: list = []
    Trainer(exp, quiet.extend, flush_interval=0.0).run()
    assert not [e for e in quiet if isinstance(e, Notice)]
    monkeypatch.setattr(engines, "CAPTURE_DEVICES", frozenset({"cpu"}))
    events: list = []
    trainer = Trainer(exp, events.extend, flush_interval=0.0)
    trainer.run()
    assert [e.message for e in events if isinstance(e, Notice)] == [CPU_REASON]
    assert len(steps_of(events, 0)) == len(steps_of(quiet, 0)) == 10  # training went on, eager


async def test_the_status_bar_says_why_the_pass_is_not_captured(monkeypatch) -> None:
    """The app as a user runs it (its trainer in a thread, so the forcing reaches it): the
    reason is under the status line while the runs train and after."""
    from textual.geometry import Region

    from lrtui.engine import engines
    from lrtui.modes.config import build_ready
    from lrtui.modes.live import build_app

    monkeypatch.setattr(engines, "CAPTURE_DEVICES", frozenset({"cpu"}))
    flags = Settings(runs=[parse_scheduler_flag("StepLR(step_size=1)")] * 2, epochs=2, task="teacher",
                     model="mlp", batches=5, device="cpu")  # fmt: skip
    app = build_app(build_ready(flags, dry_run=False), isolate=False)
    async with app.run_test(size=(100, 30)) as pilot:
        while not all(r.status is RunStatus.DONE for r in app.state.runs):  # bounded by the test's timeout
            await pilot.pause(0.05)
            app.drain()
        await pilot.pause()
        assert app.state.notice == CPU_REASON
        bar = app.query_one("#status")
        lines = [s.text.strip() for s in bar.render_lines(Region(0, 0, 100, bar.size.height))]
        assert CPU_REASON in lines
        await pilot.press("q")
