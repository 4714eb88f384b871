"""A run added while a comparison trains (the app's `N`: the forecast's suggested schedule):
it trains from step 0 on the batches the others had, exactly as it would alone, leaves the
other runs' numbers untouched, is recorded to a file of its own, and a comparison stopped
after it was added resumes with it; a spec that cannot be added is said and changes nothing."""

from __future__ import annotations

import io
import json
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from appkit import replay_app, settle
from helpers import last_status, steps_of
from terminal import Terminal, have_tmux, lrtui_command
from test_forecast import law_events

from lrtui.commands.main import main
from lrtui.engine.checkpoint import listed
from lrtui.engine.engines import RunsFailedError
from lrtui.engine.joined import Joined
from lrtui.engine.resumable import CheckpointingTrainer
from lrtui.engine.trainer import Trainer
from lrtui.modes.config import build_experiment
from lrtui.modes.resume import checkpoints_of, policy_for
from lrtui.record.writer import LogDirSink, recording_tee
from lrtui.spec.commands import Command, Verb
from lrtui.spec.describe import run_infos
from lrtui.spec.events import Notice, RunAdded, RunInfo, RunStatus, StepBlock
from lrtui.spec.parse import parse_run_parts
from lrtui.spec.settings import Settings, parse_scheduler_flag
from lrtui.state.forecast.live import curve_of
from lrtui.state.groups import views
from lrtui.ui import forecasting

SPEC = "CosineAnnealingLR(T_max=60)@batch"
RUNS = ("StepLR(step_size=1)", "ConstantLR(factor=0.5)")


def _settings(schedules, engine: str = "auto", **more) -> Settings:
    runs = [parse_scheduler_flag(s) for s in schedules]
    return Settings(runs=runs, epochs=3, batches=20, engine=engine, lr=0.05, **more)


def _losses(events, run: int) -> list[float]:
    return [s.loss for s in steps_of(events, run)]


def _adding(trainer_of, texts, at: int, stop_at: int | None = None) -> list:
    """Train, sending ADD for each of `texts` once run 0 has taken `at` steps (and STOP once it
    has taken `stop_at`): every step is flushed, so the moment is the same on every rerun."""
    events: list = []
    made: list = []
    sent = {"add": False, "stop": False}

    def sink(batch) -> None:
        events.extend(batch)
        done = sum(len(e) for e in events if isinstance(e, StepBlock) and e.run == 0)
        if done >= at and not sent["add"]:
            sent["add"] = True
            for text in texts:
                made[0].send(Command(Verb.ADD, text=text))
        if stop_at is not None and done >= stop_at and not sent["stop"]:
            sent["stop"] = True
            made[0].send(Command(Verb.STOP))

    made.append(trainer_of(sink))
    made[0].run()
    return events


@pytest.mark.parametrize("engine", ["stacked", "sequential"])
def test_an_added_run_trains_as_it_would_alone_and_leaves_the_others_as_they_were(engine):
    exp = build_experiment(_settings(RUNS, engine))
    events = _adding(lambda sink: Trainer(exp, sink, flush_interval=0.0), ["NoSuchLR(x=1)", SPEC], at=25)
    added = [e for e in events if isinstance(e, RunAdded)]
    assert [(a.run, a.info.label, a.info.spec) for a in added] == [
        (2, "suggested", "CosineAnnealingLR(T_max=60)")
    ]
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert len(notices) == 1 and notices[0].startswith("cannot add NoSuchLR(x=1): ")
    assert "unknown scheduler 'NoSuchLR'" in notices[0]
    assert [last_status(events, i).status for i in range(3)] == [RunStatus.DONE] * 3
    alone: list = []
    Trainer(build_experiment(_settings([SPEC], engine)), alone.extend).run()
    assert _losses(events, 2) == _losses(alone, 0)  # bit for bit: same start, same batches, 60 steps
    assert len(_losses(events, 2)) == 60
    without: list = []
    Trainer(exp, without.extend).run()
    assert [_losses(events, i) for i in (0, 1)] == [_losses(without, i) for i in (0, 1)]


def test_runs_added_after_every_run_finished_train_when_the_trainer_lingers():
    """A live app's trainer waits once every run has ended (`r` may restart one): `N` then
    still adds a run, and two adds get two names."""
    exp = build_experiment(_settings(RUNS[:1]))
    events: list = []
    made: list = []

    def sink(batch) -> None:
        events.extend(batch)
        ended = [e for e in batch if getattr(e, "status", None) is RunStatus.DONE]
        if any(e.run == 0 for e in ended):
            made[0].send(Command(Verb.ADD, text=SPEC))
            made[0].send(
                Command(Verb.ADD, text="LinearLR(start_factor=1.0, end_factor=0.1, total_iters=60)@batch")
            )
        if any(e.run == 2 for e in ended):
            made[0].send(Command(Verb.STOP))

    made.append(Trainer(exp, sink, linger=True, flush_interval=0.0))
    made[0].run()
    labels = [e.info.label for e in events if isinstance(e, RunAdded)]
    assert labels == ["suggested", "suggested 2"]
    assert [last_status(events, i).status for i in range(3)] == [RunStatus.DONE] * 3
    assert [len(_losses(events, i)) for i in range(3)] == [60, 60, 60]


class _Part:
    """An engine part that answers with fixed losses, or raises for its runs."""

    def __init__(self, losses: list[float] | None) -> None:
        self.losses, self.asked = losses, []

    def forward_backward(self, runs, batches):
        self.asked.append((list(runs), len(batches)))
        if self.losses is None:
            raise RuntimeError("this part failed")
        return torch.tensor([self.losses[r] for r in runs])


def test_joined_engines_keep_the_runs_order_and_each_parts_failure_its_own():
    first, second = _Part([1.0, 2.0]), _Part([30.0])
    joined = Joined.grown(first, 2, second)
    assert joined.forward_backward([0, 2, 1], ["b0", "b2", "b1"]).tolist() == [1.0, 30.0, 2.0]
    assert first.asked[-1] == ([0, 1], 2) and second.asked[-1] == ([0], 1)  # each run's own batch
    third = _Part(None)
    joined = Joined.grown(joined, 3, third)
    with pytest.raises(RunsFailedError) as failed:
        joined.forward_backward([3, 0, 2], ["shared"])
    assert failed.value.losses.tolist() == [1.0, 30.0] and list(failed.value.failures) == [0]
    with pytest.raises(RuntimeError, match="this part failed"):  # every run failed: as raised
        joined.forward_backward([3], ["shared"])


def test_an_added_run_is_recorded_and_a_stopped_comparison_resumes_with_it(tmp_path: Path, capsys):
    """Recording (`--log-dir`), the added run gets a file of its own; stopped (a checkpoint is
    taken) and `lrtui resume`d, it trains on to the end with the others, every step once."""
    log_dir = tmp_path / "logs"
    settings = _settings(RUNS, "stacked", log_dir=str(log_dir))
    exp = build_experiment(settings)
    log_dir.mkdir()
    sink = LogDirSink(log_dir, run_infos(exp))
    policy = policy_for(sink, settings)

    def trainer(then):
        return CheckpointingTrainer(exp, recording_tee(sink, then), checkpoints=policy, flush_interval=0.0)

    _adding(trainer, [SPEC], at=10, stop_at=30)
    sink.close()
    assert listed(checkpoints_of(log_dir))  # stopped mid-way: a checkpoint to resume from
    assert main(["resume", str(log_dir), "--headless", "--no-summary"]) == 0
    table = capsys.readouterr().out
    assert table.count("Epoch 3,") == 3 and "suggested" in table  # the table's third block
    lines = [json.loads(x) for x in (log_dir / "suggested.jsonl").read_text().splitlines()]
    assert lines[0]["run"] == "suggested" and lines[0]["spec"] == "CosineAnnealingLR(T_max=60)"
    steps = [d["step"] for d in lines[1:] if "event" not in d]
    assert steps == list(range(1, 61))  # every step once: no gap, none twice across the resume
    assert [d["status"] for d in lines if d.get("event") == "status"][-1] == "done"
    alone: list = []
    Trainer(build_experiment(_settings([SPEC], "stacked")), alone.extend).run()
    losses = [d["loss"] for d in lines[1:] if "event" not in d]
    assert losses == pytest.approx(_losses(alone, 0), rel=1e-6)  # as trained alone (JSON's digits)
    assert not listed(checkpoints_of(log_dir))


async def test_n_adds_the_suggested_schedule_once_where_the_app_trains():
    infos, events = law_events(["constant", "cosine", "step"], 2000, 1200)
    app = replay_app(infos, events)  # the live fit off: it is made below, on this thread
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        curves = [c for v in views(app.state) if (c := curve_of(v)) is not None]
        steps = {v.info.label: v.step for v in views(app.state)}
        app.forecast._fit(curves, sum(steps.values()), steps)  # the fit its thread makes
        found = app.forecast.latest.suggested
        assert found is not None
        await pilot.press("N")  # a source that only replays: the command to train it elsewhere
        await pilot.pause()
        assert app.source.sent == [] and "(copied)" in list(app._notifications)[-1].message
        app.source.adds_runs = True  # as the trainer, a spawned one and an attached app's say
        await pilot.press("N", "N")
        await pilot.pause()
        assert app.source.sent == [Command(Verb.ADD, text=found.spec)]  # once
        said = [n.message for n in app._notifications][-2:]
        assert said[0].endswith("added as a new run, trained from step 0 on the same batches")
        assert said[1].endswith("added already (a new suggestion comes as the runs train on)")
        assert app.clipboard == forecasting.offer(app.forecast, views(app.state))
        app.offered.clear()  # another app attached to the comparison added it: its run is there
        app.state.apply([RunAdded(3, RunInfo("suggested", spec=str(parse_run_parts(found.spec)[1])))])
        await pilot.press("N")
        await pilot.pause()
        assert len(app.source.sent) == 1 and list(app._notifications)[-1].message.endswith(said[1][-60:])


def test_a_headless_table_and_a_background_greeting_grow_with_an_added_run(tmp_path: Path):
    from lrtui.modes.attach import ControlledLog
    from lrtui.modes.headless import TablePrinter

    exp = build_experiment(_settings(RUNS))
    out = io.StringIO()
    printer = TablePrinter(exp, out)
    log = ControlledLog(LogDirSink(tmp_path, run_infos(exp)), exp, "label", None)
    try:
        info = run_infos(build_experiment(_settings([SPEC])))[0]
        batch = [RunAdded(2, info)]
        printer.feed(batch)
        log(batch)
        hello = log._greeting()
        assert [i.label for i in hello["infos"]] == ["StepLR", "ConstantLR", info.label]
        assert hello["files"][-1] == f"{info.label}.jsonl"
        assert printer.block_text(2).startswith(info.label)
    finally:
        log.close()


# ---- the journey: `N` in a terminal, on the character language model ---------------------------
WARM = "LinearLR(start_factor=0.01, total_iters=120)"
CHARLM = [
    "--task", "charlm", "--optimizer", "adamw", "--lr", "0.01", "--epochs", "12", "--batches", "100",
    "-s", "LambdaLR(lr_lambda=constant(value=1.0))@batch",
    "-s", f"SequentialLR(schedulers=[{WARM}, CosineAnnealingLR(T_max=1080)], milestones=[120])@batch",
]  # fmt: skip


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()[1:]] if path.exists() else []


@pytest.mark.journey
@pytest.mark.skipif(not have_tmux(), reason="journeys run in tmux: apt-get install tmux")
def test_journey_n_adds_the_suggested_schedule_to_a_recording_comparison(tmp_path: Path):
    """A user compares a constant LR and warm-up+cosine on charlm, recording (`--log-dir`: it
    trains in a process of its own, this terminal attached). `N` before the forecast can be
    trusted says why there is no suggestion; once it is trusted (the runs' end: the last fifth
    of 1,200 steps is then followed closely), `N` adds the suggested schedule as a third run,
    which gets a panel, trains from step 0 and is recorded; `q` stops it all, exit code 0."""
    logs = tmp_path / "logs"
    with Terminal(lrtui_command(*CHARLM, "--log-dir", str(logs)), 160, 45) as term:
        term.wait_for(lambda s: "LambdaLR" in s and "SequentialLR" in s, timeout=90)
        term.press("N")
        term.wait_for("no suggestion yet", timeout=30)  # nothing trusted to suggest from yet
        deadline = time.monotonic() + 420
        while "added as a new run" not in (screen := term.screen()):
            assert time.monotonic() < deadline, screen
            if "added already" in screen:
                break
            term.press("N")  # again, until the forecast is trusted and the suggestion searched
            time.sleep(3)
        screen = term.wait_for(lambda s: re.search(r"\b3 suggested\b", s), timeout=60)
        path = logs / "suggested.jsonl"
        deadline = time.monotonic() + 120
        while sum(1 for e in _events(path) if "event" not in e) < 50:
            assert time.monotonic() < deadline, term.screen()
            time.sleep(0.5)
        term.press("q")
        assert term.exit_status(timeout=60) == 0
    first = json.loads(path.read_text().splitlines()[0])
    assert first["run"] == "suggested" and first["spec"].startswith("SequentialLR(")
    steps = [e["step"] for e in _events(path) if "event" not in e]
    assert steps == list(range(1, len(steps) + 1))  # from step 0, every step once
    ends = {
        p.stem: [e["status"] for e in _events(p) if e.get("event") == "status"][-1]
        for p in logs.glob("*.jsonl")
    }
    assert set(ends) == {"LambdaLR", "SequentialLR", "suggested"} and ends["suggested"] == "stopped"
    assert {ends["LambdaLR"], ends["SequentialLR"]} <= {"done", "stopped"}  # trusted before or at the end


@pytest.mark.parametrize("engine", ["stacked", "sequential"])
def test_a_run_added_or_restarted_while_another_is_mid_epoch_reads_the_epoch_again(engine):
    """The batches every run had passed are dropped; a run added (or restarted) at step 0 while
    another is still in that epoch gets them drawn again, the same: a second `N` while the first
    suggested run was mid-epoch crashed the trainer (KeyError in the feed)."""

    def long(schedules):  # one epoch of 100 batches: what every run passed is dropped each 32 steps
        return build_experiment(replace(_settings(schedules, engine), epochs=1, batches=100))

    exp = long(RUNS)
    second = "LinearLR(start_factor=1.0, end_factor=0.1, total_iters=60)@batch"
    events: list = []
    made: list = []
    sent: list[str] = []

    def sink(batch) -> None:
        events.extend(batch)
        if not sent:
            sent.append(SPEC)
            made[0].send(Command(Verb.ADD, text=SPEC))
        elif len(sent) == 1 and len(_losses(events, 2)) >= 40:  # the first added run mid-epoch 0
            sent.append(second)
            made[0].send(Command(Verb.ADD, text=second))
            made[0].send(Command(Verb.RESTART, 0))  # and a run of the start goes back too

    made.append(Trainer(exp, sink, flush_interval=0.0))
    made[0].run()
    assert [last_status(events, i).status for i in range(4)] == [RunStatus.DONE] * 4
    for run, text in ((2, SPEC), (3, second), (0, RUNS[0])):
        alone: list = []
        Trainer(long([text]), alone.extend).run()
        gen = 1 if run == 0 else 0
        assert [s.loss for s in steps_of(events, run, gen)] == _losses(alone, 0), run


def test_training_that_breaks_ends_every_unfinished_run_with_why(monkeypatch):
    """An exception no run's step catches (the feed's KeyError was one) ends every unfinished
    run `error`, naming it, before it goes up: apps and logs no longer show them running."""
    from lrtui.engine import feed

    calls = {"n": 0}
    real = feed.EpochFeed.batch

    def breaking(self, epoch, index):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 30:
            raise KeyError(0)
        return real(self, epoch, index)

    monkeypatch.setattr(feed.EpochFeed, "batch", breaking)
    events: list = []
    with pytest.raises(KeyError):
        Trainer(build_experiment(_settings(RUNS)), events.extend).run()
    ends = [last_status(events, i) for i in range(2)]
    assert [e.status for e in ends] == [RunStatus.ERROR] * 2
    assert ends[0].message == "training failed: KeyError: 0"
    assert ends[0].step == len(_losses(events, 0)) == 14  # two runs ask a batch a step: the 30th is step 15's
