"""Shared test helpers: train synchronously, and a plain-torch reference loop."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from lrtui.engine.builtin import MODELS, make_dataset
from lrtui.engine.trainer import Trainer
from lrtui.schedule.optimizers import build_optimizer
from lrtui.spec.events import EpochEvent, Event, StatusEvent, StepBlock, StepEvent
from lrtui.spec.experiment import ExperimentSpec


def train(exp: ExperimentSpec, **kwargs) -> list[Event]:
    """Run the trainer to the end on this thread and return every event, in order."""
    events: list[Event] = []
    Trainer(exp, events.extend, **kwargs).run()
    return events


def all_steps(events: list[Event]) -> list[StepEvent]:
    """Every step, one by one, whether it came alone or in a block."""
    out: list[StepEvent] = []
    for e in events:
        if isinstance(e, StepBlock):
            out.extend(e.steps())
        elif isinstance(e, StepEvent):
            out.append(e)
    return out


def steps_of(events: list[Event], run: int, gen: int = 0) -> list[StepEvent]:
    return [e for e in all_steps(events) if e.run == run and e.gen == gen]


def epochs_of(events: list[Event], run: int, gen: int = 0) -> list[EpochEvent]:
    return [e for e in events if isinstance(e, EpochEvent) and e.run == run and e.gen == gen]


def last_status(events: list[Event], run: int) -> StatusEvent:
    return [e for e in events if isinstance(e, StatusEvent) and e.run == run][-1]


def reference(exp: ExperimentSpec, make_scheduler, interval: str, metric: bool = False):
    """The tutorial's loop in plain torch: per-step LRs and losses, per-epoch LRs."""
    x, y = make_dataset(exp.task, exp.batches, exp.batch_size, exp.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(exp.seed)
        model = MODELS[exp.model].build()
    opt = build_optimizer(exp.optimizer, model.parameters(), exp.lr)
    sched = make_scheduler(opt)
    step_lrs, losses, epoch_lrs = [], [], []
    for _ in range(exp.epochs):
        for b in range(exp.batches):
            step_lrs.append(opt.param_groups[0]["lr"])
            opt.zero_grad()
            loss = F.cross_entropy(model(x[b]), y[b])
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if interval == "batch":
                sched.step(loss.item()) if metric else sched.step()
        if interval == "epoch":
            sched.step(losses[-1]) if metric else sched.step()
        epoch_lrs.append(opt.param_groups[0]["lr"])
    return step_lrs, losses, epoch_lrs


def plain_task_loop(task, make_scheduler, loss_fn, *, epochs: int, lr: float, seed: int = 0) -> list[float]:
    """A task trained by hand in plain torch: the model built under `seed`, SGD at `lr`, each
    epoch's batches in order, the schedule stepped per epoch; every step's loss."""
    torch.manual_seed(seed)
    model = task.model()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    sched = make_scheduler(opt)
    losses = []
    for epoch in range(epochs):
        for x, y in task.batches(epoch):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        sched.step()
    return losses


__all__ = ["epochs_of", "last_status", "nn", "plain_task_loop", "reference", "steps_of", "train"]
