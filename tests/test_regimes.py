"""Regime marks, ReduceLROnPlateau counters, and ReduceLROnPlateau inside composed schedules."""

import math
from itertools import pairwise

import pytest
import torch
from helpers import epochs_of, steps_of, train
from torch.optim import lr_scheduler as L

from lrtui.modes.config import Settings, build_experiment, parse_scheduler_flag
from lrtui.record.format import decode, encode
from lrtui.spec.events import MarkEvent, PlanEvent, PlateauCounters, PlateauEvent

BATCHES = 5


def _exp(*specs: str, epochs: int = 12):
    return build_experiment(
        Settings(
            runs=[parse_scheduler_flag(s) for s in specs], epochs=epochs, batches=BATCHES, task="teacher"
        )
    )


def _marks(events, run: int) -> list[MarkEvent]:
    return [e for e in events if isinstance(e, MarkEvent) and e.run == run]


def _plan(events, run: int) -> PlanEvent:
    return next(e for e in events if isinstance(e, PlanEvent) and e.run == run)


def test_marks_fall_where_the_schedules_change_regime():
    exp = _exp(
        "StepLR(step_size=3, gamma=0.5)",
        "MultiStepLR(milestones=[2, 7], gamma=0.1)",
        "CosineAnnealingWarmRestarts(T_0=4)",
        "OneCycleLR(max_lr=0.5, pct_start=0.25)",
        "SequentialLR(schedulers=[LinearLR(start_factor=0.1, total_iters=3), ExponentialLR(gamma=0.9)], "
        "milestones=[3])",
    )
    events = train(exp, plans=True)
    assert [(m.step, m.label) for m in _marks(events, 0)] == [
        (3 * BATCHES * k, "StepLR x0.5") for k in (1, 2, 3, 4)
    ]
    assert [(m.step, m.kind) for m in _marks(events, 1)] == [(2 * BATCHES, "drop"), (7 * BATCHES, "drop")]
    assert [(m.step, m.kind) for m in _marks(events, 2)] == [
        (4 * BATCHES, "restart"),
        (8 * BATCHES, "restart"),
        (12 * BATCHES, "restart"),
    ]
    total = exp.epochs * BATCHES
    peak = math.floor(0.25 * total) - 1  # the step at which OneCycleLR reaches max_lr
    one_cycle = _marks(events, 3)
    assert [(m.step, m.label) for m in one_cycle] == [(peak, "OneCycleLR peak")]
    lrs = [s.lrs[0] for s in steps_of(events, 3)]
    assert lrs[peak] == max(lrs)  # the LR used right after the mark is the peak
    assert [(m.step, m.label) for m in _marks(events, 4)] == [(3 * BATCHES, "phase 2: ExponentialLR")]
    # schedules that ignore the loss know their marks ahead: the plan holds the same ones
    for run in range(5):
        planned = [(step, label) for step, _, label in _plan(events, run).marks]
        assert planned == [(m.step, m.label) for m in _marks(events, run)], run


def test_plateau_cuts_are_marked_and_its_counters_follow_torch():
    exp = _exp("ReduceLROnPlateau(patience=1, factor=0.5, threshold=0.1, cooldown=1)")
    events = train(exp, flush_interval=0.0)
    epoch_lrs = [e.lrs[0] for e in epochs_of(events, 0)]
    before = [exp.lr, *epoch_lrs[:-1]]
    cuts = [i + 1 for i, (a, b) in enumerate(zip(before, epoch_lrs, strict=True)) if b < a]
    assert cuts, "the test needs a schedule that cuts"
    assert [m.step for m in _marks(events, 0)] == [e * BATCHES for e in cuts]
    assert all(m.kind == "cut" and m.label == "plateau cut x0.5" for m in _marks(events, 0))
    # replay torch's own scheduler on the same losses: counters after every epoch agree
    counters = {e.step: e.counters for e in events if isinstance(e, PlateauEvent)}
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=exp.lr)
    ref = L.ReduceLROnPlateau(opt, patience=1, factor=0.5, threshold=0.1, cooldown=1)
    seen = None
    for epoch in epochs_of(events, 0):
        opt.step()
        ref.step(epoch.loss)
        seen = counters.get(epoch.step, seen)
        assert seen is not None
        assert (seen.bad_epochs, seen.cooldown_left, seen.best) == (
            ref.num_bad_epochs,
            ref.cooldown_counter,
            ref.best,
        )
        assert (seen.patience, seen.cooldown, seen.active) == (1, 1, True)
    assert seen.cuts == len(cuts)


WARMUP_THEN_PLATEAU = (
    "SequentialLR(schedulers=[LinearLR(start_factor=0.1, total_iters=3), "
    "ReduceLROnPlateau(patience=0, factor=0.5, threshold=0.05)], milestones=[3])"
)


def test_plateau_inside_sequential_lr_gets_the_loss():
    """torch's SequentialLR refuses ReduceLROnPlateau; lrtui composes the same torch classes
    and hands the loss through. Checked against the two torch schedulers driven by hand."""
    exp = _exp(WARMUP_THEN_PLATEAU)
    events = train(exp, flush_interval=0.0)
    epochs = epochs_of(events, 0)
    assert len(epochs) == exp.epochs
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=exp.lr)
    warmup = L.LinearLR(opt, start_factor=0.1, total_iters=3)
    plateau = L.ReduceLROnPlateau(opt, patience=0, factor=0.5, threshold=0.05)
    expected = []
    for k, epoch in enumerate(epochs, 1):
        opt.step()
        if k < 3:
            warmup.step()
        else:
            if k == 3:  # the hand-over puts the plateau at its epoch-0 LR: the base LR
                opt.param_groups[0]["lr"] = exp.lr
            plateau.step(epoch.loss)
        expected.append(opt.param_groups[0]["lr"])
    assert [e.lrs[0] for e in epochs] == expected
    assert min(expected[3:]) < exp.lr  # the plateau did cut
    labels = [m.label for m in _marks(events, 0)]
    assert labels[0] == "phase 2: ReduceLROnPlateau"
    assert labels.count("plateau cut x0.5") == sum(1 for a, b in pairwise(expected) if b < a)
    counters = [e.counters for e in events if isinstance(e, PlateauEvent)]
    assert not counters[0].active and counters[-1].active  # waits for its phase, then counts


def test_plateau_inside_chained_scheduler_gets_the_loss():
    exp = _exp(
        "ChainedScheduler(schedulers=[ExponentialLR(gamma=0.95), ReduceLROnPlateau(patience=0, factor=0.5)])"
    )
    events = train(exp)
    assert all(e.status.value != "error" for e in events if hasattr(e, "status"))
    assert len(epochs_of(events, 0)) == exp.epochs


def test_one_cycle_inside_sequential_lr_gets_the_run_length():
    exp = _exp(
        "SequentialLR(schedulers=[ConstantLR(factor=1.0, total_iters=1), OneCycleLR(max_lr=0.3)], "
        "milestones=[2]) @batch"
    )
    inner = exp.runs[0].scheduler.get("schedulers")[1]
    assert inner.get("total_steps") == exp.epochs * BATCHES


@pytest.mark.parametrize(
    "event",
    [
        MarkEvent(0, 0, 40, "drop", "StepLR x0.1"),
        PlateauEvent(0, 0, 50, PlateauCounters(1, 2, 0, 1, 0.25, 3, False)),
        PlanEvent(0, 0, (0.1, 0.01), "epoch", 10, ((10, "drop", "StepLR x0.1"),)),
    ],
)
def test_marks_counters_and_planned_marks_survive_the_events_file(event):
    assert decode(encode(event) or "", 0, 0) == event


def test_warm_ups_are_marked_where_torch_ends_them_also_with_its_default_length():
    exp = _exp("LinearLR(start_factor=0.1)", "ConstantLR(factor=0.5, total_iters=2)", epochs=8)
    events = train(exp)
    assert [(m.step, m.label) for m in _marks(events, 0)] == [(5 * BATCHES, "LinearLR ends")]  # torch's 5
    assert [(m.step, m.label) for m in _marks(events, 1)] == [(2 * BATCHES, "ConstantLR ends")]
