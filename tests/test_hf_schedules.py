"""Hugging Face's schedules by name: built by transformers' own functions, equal to
`transformers.get_scheduler` on the same optimizer at every step, with their regimes marked."""

from __future__ import annotations

import pytest
import torch

from lrtui.modes.config import Settings, build_experiment, parse_scheduler_flag
from lrtui.schedule.build import build_watched
from lrtui.schedule.plan import plan
from lrtui.spec.choices import HF_SCHEDULES
from lrtui.spec.errors import SpecError

transformers = pytest.importorskip("transformers")

STEPS = 120
SPECS = {
    "linear": "num_warmup_steps=10",
    "cosine": "num_warmup_steps=10, num_cycles=0.5",
    "cosine_with_restarts": "num_warmup_steps=10, num_cycles=3",
    "polynomial": "num_warmup_steps=10, lr_end=1e-4, power=2.0",
    "constant": "",
    "constant_with_warmup": "num_warmup_steps=10",
    "inverse_sqrt": "num_warmup_steps=10",
    "cosine_with_min_lr": "num_warmup_steps=10, min_lr_rate=0.1",
    "cosine_warmup_with_min_lr": "num_warmup_steps=10, min_lr_rate=0.1, warmup_lr_rate=0.2",
    "warmup_stable_decay": "num_warmup_steps=10, num_decay_steps=30, min_lr_ratio=0.1",
}


def test_the_names_are_every_step_count_schedule_of_transformers():
    from transformers.optimization import TYPE_TO_SCHEDULER_FUNCTION

    step_count = {t.value for t in TYPE_TO_SCHEDULER_FUNCTION} - {"reduce_lr_on_plateau", "greedy"}
    assert set(HF_SCHEDULES) == step_count


@pytest.mark.parametrize("name", HF_SCHEDULES)
def test_every_step_equals_get_scheduler(name):
    exp = build_experiment(
        Settings(runs=[parse_scheduler_flag(f"hf.{name}({SPECS[name]})")], epochs=1, batches=STEPS, lr=0.1)
    )
    run = exp.runs[0]
    assert run.interval == "batch" and (
        name == "constant" or run.scheduler.get("num_training_steps") in (STEPS, None)
    )
    ours = build_watched(
        run.scheduler, opt_a := torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    )
    kwargs = {k: v for k, v in run.scheduler.kwargs if k not in ("num_warmup_steps", "num_training_steps")}
    theirs = transformers.get_scheduler(
        name,
        opt_b := torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1),
        num_warmup_steps=run.scheduler.get("num_warmup_steps"),
        num_training_steps=STEPS,
        scheduler_specific_kwargs=kwargs or None,
    )
    for _ in range(STEPS):
        assert opt_a.param_groups[0]["lr"] == opt_b.param_groups[0]["lr"]
        opt_a.step(), opt_b.step()
        ours.scheduler.step(), theirs.step()


def test_regimes_are_marked_in_the_plan():
    specs = [
        "hf.warmup_stable_decay(num_warmup_steps=10, num_decay_steps=30)",
        "hf.cosine_with_restarts(num_warmup_steps=10, num_cycles=3)",
    ]
    exp = build_experiment(Settings(runs=[parse_scheduler_flag(s) for s in specs], epochs=1, batches=STEPS))
    wsd, restarts = (plan(run, exp) for run in exp.runs)
    assert [(k, kind) for k, kind, _ in wsd.marks] == [(10, "warmup"), (90, "phase")]
    assert [kind for _, kind, _ in restarts.marks] == ["warmup", "restart", "restart"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("hf.cosine(num_cycles=0.5)", "needs num_warmup_steps"),
        ("hf.cosine(num_warmup_steps=5, warmup=3)", "has no parameter 'warmup'"),
        ("hf.cosine(num_warmup_steps=-5)", "must be >= 0"),
        ("hf.cosine(num_warmup_steps='ten')", "is not int"),
        ("hf.cosine_with_warmup(num_warmup_steps=5)", "did you mean hf."),
    ],
)
def test_bad_hf_specs(spec, expected):
    with pytest.raises(SpecError, match=expected):
        build_experiment(Settings(runs=[parse_scheduler_flag(spec)], epochs=1, batches=10))
