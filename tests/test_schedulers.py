"""Every torch scheduler, driven by lrtui, against torch stepping it directly."""

import math

import pytest
from helpers import epochs_of, reference, steps_of, train
from torch.optim import lr_scheduler as L

from lrtui.modes.config import Settings, build_experiment, parse_scheduler_flag
from lrtui.schedule.factors import FACTORS
from lrtui.schedule.plan import plan
from lrtui.schedule.registry import check_call, registry
from lrtui.spec.errors import SpecError
from lrtui.spec.experiment import ExperimentSpec, RunSpec
from lrtui.spec.parse import parse_call

EPOCHS, BATCHES = 6, 4

# name -> (lrtui spec, the same scheduler built by hand with torch)
EXAMPLES = {
    "LambdaLR": (
        "LambdaLR(lr_lambda=linear_warmup(steps=3))",
        lambda o: L.LambdaLR(o, lambda e: min(1.0, (e + 1) / 3)),
    ),
    "MultiplicativeLR": (
        "MultiplicativeLR(lr_lambda=constant(value=0.8))",
        lambda o: L.MultiplicativeLR(o, lambda e: 0.8),
    ),
    "StepLR": ("StepLR(step_size=2, gamma=0.5)", lambda o: L.StepLR(o, step_size=2, gamma=0.5)),
    "MultiStepLR": (
        "MultiStepLR(milestones=[1, 4], gamma=0.3)",
        lambda o: L.MultiStepLR(o, milestones=[1, 4], gamma=0.3),
    ),
    "ConstantLR": (
        "ConstantLR(factor=0.5, total_iters=3)",
        lambda o: L.ConstantLR(o, factor=0.5, total_iters=3),
    ),
    "LinearLR": (
        "LinearLR(start_factor=0.2, total_iters=4)",
        lambda o: L.LinearLR(o, start_factor=0.2, total_iters=4),
    ),
    "ExponentialLR": ("ExponentialLR(gamma=0.7)", lambda o: L.ExponentialLR(o, gamma=0.7)),
    "SequentialLR": (
        "SequentialLR(schedulers=[LinearLR(start_factor=0.1, total_iters=2), ExponentialLR(gamma=0.9)], "
        "milestones=[2])",
        lambda o: L.SequentialLR(
            o, [L.LinearLR(o, start_factor=0.1, total_iters=2), L.ExponentialLR(o, gamma=0.9)], milestones=[2]
        ),
    ),
    "PolynomialLR": (
        "PolynomialLR(total_iters=5, power=2.0)",
        lambda o: L.PolynomialLR(o, total_iters=5, power=2.0),
    ),
    "CosineAnnealingLR": (
        "CosineAnnealingLR(T_max=5, eta_min=0.01)",
        lambda o: L.CosineAnnealingLR(o, T_max=5, eta_min=0.01),
    ),
    "ChainedScheduler": (
        "ChainedScheduler(schedulers=[ConstantLR(factor=0.5, total_iters=2), ExponentialLR(gamma=0.9)])",
        lambda o: L.ChainedScheduler(
            [L.ConstantLR(o, factor=0.5, total_iters=2), L.ExponentialLR(o, gamma=0.9)]
        ),
    ),
    "ReduceLROnPlateau": (
        "ReduceLROnPlateau(factor=0.5, patience=0, threshold=0.5)",
        lambda o: L.ReduceLROnPlateau(o, factor=0.5, patience=0, threshold=0.5),
    ),
    "CyclicLR": (
        "CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=3)",
        lambda o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3),
    ),
    "CosineAnnealingWarmRestarts": (
        "CosineAnnealingWarmRestarts(T_0=2, T_mult=2)",
        lambda o: L.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2),
    ),
    "OneCycleLR": (
        "OneCycleLR(max_lr=0.2, total_steps=30)",
        lambda o: L.OneCycleLR(o, max_lr=0.2, total_steps=30),
    ),
}


def test_examples_cover_every_scheduler_torch_has():
    assert set(registry()) == set(EXAMPLES)


def _exp(spec: str, interval: str, **kw) -> ExperimentSpec:
    flags = Settings(runs=[parse_scheduler_flag(f"{spec}@{interval}")], epochs=EPOCHS, batches=BATCHES, **kw)
    return build_experiment(flags)


@pytest.mark.parametrize("interval", ["epoch", "batch"])
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_lrtui_steps_every_scheduler_exactly_like_torch(name, interval):
    spec, make = EXAMPLES[name]
    exp = _exp(spec, interval, batch_size=8, task="teacher", seed=3)
    events = train(exp)
    metric = name == "ReduceLROnPlateau"
    ref_step_lrs, ref_losses, ref_epoch_lrs = reference(exp, make, interval, metric)
    steps = steps_of(events, 0)
    assert [s.lrs[0] for s in steps] == ref_step_lrs
    assert [e.lrs[0] for e in epochs_of(events, 0)] == ref_epoch_lrs
    assert [s.loss for s in steps] == pytest.approx(ref_losses, rel=1e-5, abs=1e-6)


def test_plan_matches_training_for_schedules_that_ignore_the_loss():
    exp = _exp(EXAMPLES["CyclicLR"][0], "batch")
    planned = plan(exp.runs[0], exp)
    trained = [s.lrs[0] for s in steps_of(train(exp), 0)]
    assert planned is not None and list(planned.lrs[: len(trained)]) == trained
    assert plan(_exp(EXAMPLES["ReduceLROnPlateau"][0], "epoch").runs[0], exp) is None


def test_default_intervals_follow_each_schedulers_intent():
    exp = build_experiment(
        Settings(
            runs=[
                parse_scheduler_flag(s)
                for s in (
                    "OneCycleLR(max_lr=0.1)",
                    "CyclicLR(base_lr=0.01, max_lr=0.1)",
                    "StepLR(step_size=1)",
                )
            ]
        )
    )
    assert [r.interval for r in exp.runs] == ["batch", "batch", "epoch"]


def test_one_cycle_total_steps_derived_from_run_length():
    exp = _exp("OneCycleLR(max_lr=0.1)", "batch")
    assert exp.runs[0].scheduler.get("total_steps") == EPOCHS * BATCHES
    assert train(exp)[-1].status.value == "done"


def test_seed_preset_keeps_the_tutorials_per_epoch_stepping():
    exp = build_experiment(Settings())
    assert [r.label for r in exp.runs] == [
        "StepLR",
        "MultiStepLR",
        "ExponentialLR",
        "CosineAnnealingLR",
        "ReduceLROnPlateau",
        "CyclicLR",
    ]
    assert {r.interval for r in exp.runs} == {"epoch"}
    assert exp.epochs == 11 and [exp.epoch_label(e) for e in (1, 2, 11)] == [1, 11, 101]


def test_all_preset_has_every_scheduler_and_trains_without_errors():
    exp = build_experiment(Settings(preset="all", epochs=8, batches=5))
    assert {r.scheduler.name for r in exp.runs} == set(registry())
    events = train(exp)
    for i in range(len(exp.runs)):
        assert len(epochs_of(events, i)) == 8, exp.runs[i].label


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("Nope(a=1)", "unknown scheduler 'Nope'"),
        ("steplr(step_size=1)", "did you mean StepLR"),
        ("StepLR(step_size=2, gama=0.1)", "has no parameter 'gama'"),
        ("StepLR(step_size=2.5)", "step_size=2.5 is not int"),
        ("StepLR(step_size='2')", "is not int"),
        ("StepLR(gamma=0.5)", "needs step_size"),
        ("StepLR(step_size=2, gamma=-0.5)", "gamma must be > 0"),
        ("ExponentialLR(gamma=inf)", "must be a literal"),
        ("MultiStepLR(milestones=[5, 2])", "milestones must increase"),
        ("ReduceLROnPlateau(mode='maximum')", "mode='maximum' is not"),
        ("ReduceLROnPlateau(factor=1.5)", "Factor should be < 1.0"),
        ("LambdaLR(lr_lambda=0.5)", "must name a factor"),
        ("LambdaLR(lr_lambda=warp(steps=3))", "unknown factor 'warp'"),
        ("LambdaLR(lr_lambda=linear_warmup(steps=0))", "steps must be a whole number >= 1"),
        ("SequentialLR(schedulers=[StepLR(step_size=1)], milestones=[2, 3])", "SequentialLR"),
        ("StepLR(step_size=open(mode='r'))", "must be a literal"),
        ("OneCycleLR(max_lr=0.1, total_steps=10)", "total_steps=10 is smaller than the 24 steps"),
        ("CyclicLR(base_lr=-0.1, max_lr=0.1)", "base_lr must be >= 0"),
    ],
)
def test_bad_specs_are_named(spec, message):
    with pytest.raises(SpecError, match=message):
        _exp(spec, "batch")


def test_every_factor_is_checked_and_callable():
    for name in FACTORS:
        call = parse_call(f"LambdaLR(lr_lambda={name}())")
        check_call(call, "t")
        run = RunSpec(call, "epoch", name)
        planned = plan(run, ExperimentSpec(runs=(run,), epochs=20))
        assert planned is not None and all(math.isfinite(v) and v >= 0 for v in planned.lrs)
