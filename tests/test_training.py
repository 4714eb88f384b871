"""The trainer: side-by-side runs, control commands, failures kept to their own run."""

import threading

import pytest
from helpers import all_steps, epochs_of, last_status, steps_of, train

from lrtui.engine.trainer import Trainer
from lrtui.modes.config import Settings, build_experiment, parse_scheduler_flag
from lrtui.spec.events import RunStatus, StatusEvent, StepBlock


def _exp(*specs: str, **kw):
    kw.setdefault("epochs", 3)
    kw.setdefault("batches", 20)
    return build_experiment(Settings(runs=[parse_scheduler_flag(s) for s in specs], **kw))


TWO = ("StepLR(step_size=1, gamma=0.5)", "CosineAnnealingLR(T_max=3)@batch")


def _numbers(events, run, gen=0):
    return [(s.step, s.epoch, s.lrs, s.loss) for s in steps_of(events, run, gen)]


def test_runs_advance_together_in_batched_events():
    batches: list[list] = []
    Trainer(_exp(*TWO), batches.append).run()
    assert all(isinstance(b, list) for b in batches)
    assert any(isinstance(e, StepBlock) and len(e) > 1 for b in batches for e in b)  # steps come in blocks
    steps = all_steps([e for b in batches for e in b])
    # all runs advance together: in every batch, each run has reached the same step (within one)
    for batch in batches:
        last: dict[int, int] = {}
        for e in all_steps(batch):
            last[e.run] = e.step
        if len(last) == 2:
            assert abs(last[0] - last[1]) <= 1
    assert sorted({(e.run, e.step) for e in steps}) == sorted((r, s) for r in (0, 1) for s in range(1, 61))
    assert all(e.time >= 0 and len(e.lrs) == 1 for e in steps)


def test_stacked_and_sequential_engines_agree():
    a = train(_exp(*TWO, engine="stacked", task="teacher", model="mlp"))
    b = train(_exp(*TWO, engine="sequential", task="teacher", model="mlp"))
    for run in (0, 1):
        sa, sb = steps_of(a, run), steps_of(b, run)
        assert [s.lrs for s in sa] == [s.lrs for s in sb]
        assert [s.loss for s in sa] == pytest.approx([s.loss for s in sb], rel=1e-5, abs=1e-6)


class _Controller:
    """A sink that pauses, resumes and restarts runs as events arrive."""

    def __init__(self, trainer_box, plan):
        self.events = []
        self.box = trainer_box
        self.plan = plan  # list of (after_step_of_run0, command, run)
        self.done = 0

    def __call__(self, batch):
        self.events.extend(batch)
        self.done = max((e.step for e in all_steps(batch) if e.run == 0 and e.gen == 0), default=self.done)
        done = self.done
        while self.plan and done >= self.plan[0][0]:
            _, command, run = self.plan.pop(0)
            getattr(self.box[0], command)(run)


def _controlled(exp, plan):
    box: list[Trainer] = []
    sink = _Controller(box, plan)
    trainer = Trainer(exp, sink, flush_interval=0.0)
    box.append(trainer)
    trainer.run()
    return sink.events


def test_pause_and_resume_never_change_the_numbers():
    exp = _exp(*TWO)
    plain = train(exp)
    events = _controlled(exp, [(5, "pause", 1), (15, "resume", 1), (25, "pause", None), (25, "resume", None)])
    assert any(isinstance(e, StatusEvent) and e.status is RunStatus.PAUSED and e.run == 1 for e in events)
    for run in (0, 1):
        assert _numbers(events, run) == _numbers(plain, run)


def test_restart_one_run_replays_it_exactly_and_leaves_the_other_alone():
    exp = _exp(*TWO)
    plain = train(exp)
    events = _controlled(exp, [(10, "restart", 1)])
    assert _numbers(events, 0) == _numbers(plain, 0)
    assert _numbers(events, 1, gen=1) == _numbers(plain, 1)
    assert last_status(events, 1).gen == 1


def test_divergence_stops_only_that_run():
    exp = _exp("StepLR(step_size=1, gamma=0.5)", "LambdaLR(lr_lambda=constant(value=1e39))")
    events = train(exp)
    assert last_status(events, 0).status is RunStatus.DONE
    assert len(epochs_of(events, 0)) == 3
    diverged = last_status(events, 1)
    assert diverged.status is RunStatus.DIVERGED and "loss became" in diverged.message
    assert all(s.loss == s.loss for s in steps_of(events, 1))  # no NaN step was reported


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ((("step_size", 1), ("bogus", 2)), "cannot build StepLR: TypeError"),  # fails to build
        ((("step_size", 1), ("gamma", "x")), "StepLR failed at step 1: TypeError"),  # fails while training
    ],
)
def test_a_failing_run_fails_alone(kwargs, message):
    """Specs that skipped the CLI's checks (e.g. built in code) still fail only their own run."""
    from dataclasses import replace

    from lrtui.spec.experiment import Call

    exp = _exp(*TWO)
    broken = replace(exp.runs[1], scheduler=Call("StepLR", kwargs))
    events = train(replace(exp, runs=(exp.runs[0], broken)))
    assert last_status(events, 0).status is RunStatus.DONE
    assert len(epochs_of(events, 0)) == 3
    failed = last_status(events, 1)
    assert failed.status is RunStatus.ERROR and message in failed.message


def test_stop_ends_the_thread_promptly_and_marks_runs_stopped():
    events = []
    started = threading.Event()

    def sink(batch):
        events.extend(batch)
        if any(isinstance(e, StepBlock) for e in batch):
            started.set()

    trainer = Trainer(_exp(*TWO, epochs=1000), sink, linger=True)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    assert started.wait(30)
    trainer.stop()
    thread.join(10)
    assert not thread.is_alive()
    assert last_status(events, 0).status is RunStatus.STOPPED


def test_a_lingering_trainer_waits_paused_without_training():
    events = []
    trainer = Trainer(_exp(*TWO), events.extend, linger=True, start_paused=True)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    trainer.stop()
    thread.join(10)
    assert not thread.is_alive()
    assert not all_steps(events)


def test_cpu_training_leaves_a_core_to_the_thread_that_shows_the_events():
    from lrtui.engine.trainer import cpu_threads

    assert cpu_threads(2, 2) == 1  # the CI machine: one core trains, one draws
    assert cpu_threads(16, 16) == 15
    assert cpu_threads(4, 16) == 4  # never more threads than torch was given
    assert cpu_threads(8, 1) == 1
    assert cpu_threads(2, 2, light=False) == 2  # your model: every core trains


def test_a_plateau_run_ends_its_events_with_how_it_ended():
    """ReduceLROnPlateau's counters change at the last epoch's end, in the same batch as the
    run's `done`: they come before it, so a log (and `watch`) ends on the final status."""
    from lrtui.spec.events import PlateauEvent

    exp = build_experiment(
        Settings(runs=[parse_scheduler_flag("ReduceLROnPlateau(patience=0)")], epochs=3, batches=4)
    )
    events = [e for e in train(exp) if getattr(e, "run", 0) == 0]
    assert any(isinstance(e, PlateauEvent) for e in events)
    assert isinstance(events[-1], StatusEvent) and events[-1].status is RunStatus.DONE
