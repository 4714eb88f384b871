"""The trainer with checkpoints: taken when due, and training put back from one.

A checkpoint is written after a training step once everything of that step has been handed to
the sink, so a run's events file holds every step up to a checkpoint before the checkpoint
exists (`lrtui resume` checks it did reach the disk). A stop (quit, Ctrl-C, SIGTERM, SIGHUP)
checkpoints too, before the runs are marked stopped, so resuming a stopped comparison loses
nothing. Resuming, the runs are built as at the start (silently: their logs told that
already), then every run, optimizer, schedule, random stream and data position is put back,
and each unfinished run says so with a `resumed` mark at the step it went back to.

The base `Trainer` knows nothing of this: here are its three moments, set-up, a training
step and the end of the loop, each extended.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from lrtui.engine import checkpoint
from lrtui.engine.checkpoint import CheckpointPolicy, Clock
from lrtui.engine.runstate import Holders, load_run_state, trainer_state
from lrtui.engine.slot import RunSlot
from lrtui.engine.trainer import Trainer
from lrtui.spec.events import Event, MarkEvent, Notice, RunStatus, Sink, StatusEvent
from lrtui.spec.experiment import ExperimentSpec

RESUMED = "resumed"  # the mark's kind, at the step a resumed run went back to


class CheckpointingTrainer(Trainer):
    """`Trainer`, checkpointing under `checkpoints` and resuming from `checkpoints.resume_from`."""

    def __init__(self, exp: ExperimentSpec, sink: Sink, *, checkpoints: CheckpointPolicy, **options) -> None:
        super().__init__(exp, sink, **options)
        self.policy = checkpoints
        self._due = Clock(checkpoints, self._clock)
        self._quiet = checkpoints.resume_from is not None  # while the runs are built again
        self.failed = ""  # why the last checkpoint could not be written

    def _emit(self, event: Event) -> None:
        if not self._quiet:
            super()._emit(event)

    def _setup(self) -> None:
        super()._setup()
        # the model's own random stream (dropout) from the seed: the run a resumed one is held
        # to must itself be the same on every rerun (a resume puts the stream back as it was)
        torch.manual_seed(self.exp.seed)
        if self.policy.resume_from is not None:
            self._quiet = False
            for event in self._resume(Path(self.policy.resume_from)):
                self._emit(event)
            self._flush()

    def _train_step(self, active: list[RunSlot]) -> None:
        super()._train_step(active)
        if self._due.due(self._steps_taken):
            self.checkpoint()

    def _apply_commands(self, block: bool) -> bool:
        """Before waiting for a command with every run finished (a trainer kept for an attached
        app, `--for-app`), the checkpoints go: killed while it waits, the comparison is done,
        not one `lrtui resume` would train again."""
        if block and all(r.status.finished for r in self._runs):
            checkpoint.remove_all(Path(self.policy.directory))
        return super()._apply_commands(block)

    def _loop(self) -> None:
        super()._loop()
        if all(r.status.finished for r in self._runs):  # nothing left to resume
            checkpoint.remove_all(Path(self.policy.directory))
        elif self.stopped and self._due.behind(self._steps_taken):
            self.checkpoint()

    def _holders(self) -> Holders:
        """The optimizers that step several runs at once: a run's optimizer state lives there
        (`slot.StepGroups`), else in the run's own optimizer."""
        groups = getattr(self, "_steps", None)
        return [optimizer for optimizer, _ in getattr(groups, "_shared", ())]

    def checkpoint(self) -> None:
        """Hand over every pending event, then write the checkpoint. A failure (a full disk)
        is told once as a notice and training goes on; the checkpoints before it stay."""
        self._flush()
        steps = self._steps_taken
        self._due.taken(steps)
        state = trainer_state(self.exp, self._runs, self._engine, self._holders(), steps, self._clock())
        state["policy"] = replace(self.policy, resume_from=None)  # `lrtui resume` needs no more
        try:
            checkpoint.write(Path(self.policy.directory), steps, state)
        except OSError as exc:
            why = f"checkpoint at step {steps} not written: {exc.strerror or exc}; training goes on"
            if not self.failed:
                self._sink([Notice(why)])
            self.failed = why
            return
        self.failed = ""

    def _resume(self, path: Path) -> list[Event]:
        """Every run as the checkpoint left it; the events that say the unfinished ones go on."""
        state = checkpoint.read(path)
        now = self._clock()
        for r, saved in zip(self._runs, state["runs"], strict=True):
            load_run_state(r, saved, self._engine, self._holders(), now, self.device)
        going = [r for r in self._runs if not r.status.finished]
        for r in going:  # the data where it was: each epoch drawn again up to the run's batch
            if r.batch > 0:
                self._feeds[r.spec.seed].batch(r.epoch, r.batch - 1)
        for seed, feed in self._feeds.items():
            feed.keep([(r.epoch, r.batch) for r in going if r.spec.seed == seed])
        checkpoint.set_random_states(state["random"])  # drawing the data left them alone anyway
        self._steps_taken = state["steps"]
        self._due = Clock(self.policy, self._clock, self._steps_taken)
        events: list[Event] = []
        for r in going:
            r.status = RunStatus.RUNNING
            shown = RunStatus.PAUSED if r.paused else RunStatus.RUNNING
            events.append(StatusEvent(r.index, r.gen, shown, f"resumed at step {r.step}", r.step))
            events.append(MarkEvent(r.index, r.gen, r.step, RESUMED, f"resumed at step {r.step}"))
        return events


def make_trainer(exp: ExperimentSpec, sink: Sink, *, checkpoints: CheckpointPolicy | None = None,
                 **options) -> Trainer:  # fmt: skip
    """A trainer, checkpointing where `checkpoints` says so."""
    if checkpoints is None:
        return Trainer(exp, sink, **options)
    return CheckpointingTrainer(exp, sink, checkpoints=checkpoints, **options)
