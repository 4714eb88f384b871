"""--seeds K: every schedule under K seeds, shown as mean and spread, ranked with the noise said."""

import io
import json
import math
import statistics

import pytest
import torch
from appkit import replay_app, settle, stream
from helpers import steps_of, train

from lrtui.commands.main import main
from lrtui.engine.trainer import Trainer
from lrtui.modes.config import Settings, build_experiment, build_ready, parse_scheduler_flag
from lrtui.modes.headless import run_headless
from lrtui.spec.describe import run_infos
from lrtui.spec.errors import SpecError
from lrtui.state import leaderboard
from lrtui.state.groups import views
from lrtui.state.runs import ExperimentState
from lrtui.state.seedboard import overlap, seed_board
from lrtui.ui.widgets.panel import RunPanel

SCHEDULES = ["StepLR(step_size=2, gamma=0.5)", "ExponentialLR(gamma=0.9)", "ConstantLR(factor=1.0)"]


def _exp(seeds: int, task: str = "teacher", **kw):
    runs = [parse_scheduler_flag(s) for s in SCHEDULES]
    return build_experiment(Settings(runs=runs, seeds=seeds, epochs=3, batches=10, task=task, **kw))


def test_each_schedule_runs_once_per_seed_side_by_side():
    exp = _exp(3, seed=7)
    assert len(exp.runs) == 9
    assert [r.label for r in exp.runs[:3]] == ["StepLR s7", "StepLR s8", "StepLR s9"]
    assert {r.group for r in exp.runs[3:6]} == {"ExponentialLR"}
    with pytest.raises(SpecError, match="at most 16"):
        _exp(17)


@pytest.mark.parametrize("live", [False, True])
def test_a_seed_gives_every_schedule_the_same_start_and_batches_and_seeds_differ(live):
    exp = _exp(2)
    # live, the trainer is handed the prepared task (a factory), as the app hands it over
    workload = build_ready(Settings(runs=[parse_scheduler_flag(s) for s in SCHEDULES], seeds=2, epochs=3,
                                    batches=10, task="teacher")).workload if live else None  # fmt: skip
    events = train(exp, workload=workload)
    # all three schedules train at LR 0.1 in epoch 1: a seed's runs see the same losses there
    first = {i: [s.loss for s in steps_of(events, i)[:10]] for i in range(6)}
    assert first[0] == first[2] == first[4]  # seed 0 of StepLR, ExponentialLR, ConstantLR
    assert first[1] == first[3] == first[5]  # seed 1
    assert first[0] != first[1]  # other weights, other batches
    trainer = Trainer(exp, lambda _: None, workload=workload)
    trainer._setup()  # each seed's data, as training would draw it
    x0, x1 = (trainer._feeds[k].batch(0, 0)[0] for k in (0, 1))
    assert not torch.equal(x0, x1)  # built-in data made from each seed, not one data set reshuffled


def test_a_task_file_gets_its_own_batch_order_per_seed(tmp_path):
    task = tmp_path / "shuffled.py"
    task.write_text(
        "import torch\n"
        "from torch import nn\n"
        "from torch.utils.data import DataLoader, TensorDataset\n"
        "g = torch.Generator().manual_seed(0)\n"
        "X, Y = torch.randn(64, 4, generator=g), torch.randint(0, 2, (64,), generator=g)\n"
        "def model():\n    return nn.Linear(4, 2)\n"
        "def batches(epoch):\n    return DataLoader(TensorDataset(X, Y), batch_size=8, shuffle=True)\n"
    )
    ready = build_ready(
        Settings(runs=[parse_scheduler_flag(SCHEDULES[2])], seeds=2, epochs=1, task=str(task))
    )
    events = []
    Trainer(ready.exp, events.extend, workload=ready.workload).run()
    a, b = ([s.loss for s in steps_of(events, i)] for i in (0, 1))
    assert len(a) == len(b) == 8 and a != b
    from lrtui.engine.workload import by_seed, initial_module

    task = ready.workload(torch.device("cpu"))
    starts = [initial_module(w, k).weight for k, w in by_seed(task, [0, 1], 0, None).items()]
    assert not torch.equal(*starts)  # each seed its own initial weights, not the prepared one


def test_the_leaderboard_gives_mean_and_spread_and_says_what_the_seeds_cannot_tell():
    exp = _exp(3)
    state = ExperimentState(run_infos(exp), lambda: 0.0)
    state.apply(train(exp))
    board = leaderboard.board(state.runs)
    sb = seed_board(state.runs, board)
    assert sb is not None and sb.seeds == 3 and len(sb.rows) == 3
    finals = {r.label: r.mean["final"] for r in sb.rows}
    step_runs = [s for s in board.rows if state.runs[s.index].info.group == "StepLR"]
    assert math.isclose(finals["StepLR"], statistics.fmean(s.final for s in step_runs))
    row = next(r for r in sb.rows if r.label == "StepLR")
    assert math.isclose(row.sd["final"], statistics.stdev(s.final for s in step_runs))
    for a in sb.rows:
        for b in sb.rows:
            if a is not b:
                assert (b.label in a.within["final"]) == overlap(a, b, "final")


def test_headless_prints_the_schedules_board_and_json_has_it():
    out = io.StringIO()
    assert run_headless(_exp(2), out) == 0
    text = out.getvalue()
    assert "Leaderboard of schedules over 2 seeds" in text and " ± " in text
    out = io.StringIO()
    run_headless(_exp(2), out, as_json=True)
    data = json.loads(out.getvalue())
    assert len(data["runs"]) == 6 and len(data["schedules"]) == 3
    assert all(s["seeds"] == 2 and s["sd"]["final"] is not None for s in data["schedules"])


def test_bad_seed_counts_are_one_line_errors(capsys):
    for value in ("0", "17", "x"):
        with pytest.raises(SystemExit) as done:
            main(["--headless", "--seeds", value])
        assert done.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("lrtui: error:") and "--seeds" in err and "Traceback" not in err


async def test_panels_and_keys_speak_for_a_schedule_over_its_seeds():
    exp = _exp(3)
    app = replay_app(exp, stream(exp))
    async with app.run_test(size=(110, 30)) as pilot:
        await settle(pilot)
        panels = app.panels()
        assert len(panels) == 3 and panels[0].view.info.label == "StepLR"
        group = views(app.state)[0]
        losses = [m.smooth_loss for m in group.members]  # each seed smoothed as its own run
        assert math.isclose(group.smooth_loss, statistics.fmean(losses))
        text = app.query_one("#run-0", RunPanel).render().plain
        assert f"loss~ {group.smooth_loss:.4f}±{statistics.stdev(losses):.3f}" in text
        await pilot.press("1", "p")
        assert app.source.commands[-3:] == [("toggle", 0), ("toggle", 1), ("toggle", 2)]
        await pilot.press("enter")
        await pilot.pause()
        title = app.screen.query_one("#loss-chart").render().plain
        assert "mean over seeds, band: lowest to highest seed" in title
