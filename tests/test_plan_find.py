"""`lrtui plan` (schedules previewed without training) and `lrtui find` (the LR range test)."""

from __future__ import annotations

import csv
import io
import json
import shlex
import textwrap

import pytest
import torch

from lrtui.commands.main import main
from lrtui.engine.builtin import BuiltinWorkload
from lrtui.engine.rangetest import RangeResult, range_test, suggest
from lrtui.engine.workload import initial_module
from lrtui.modes.config import Settings, build_experiment, parse_scheduler_flag
from lrtui.modes.plan import planned_runs
from lrtui.spec.experiment import Call


def _csv(capsys, *argv: str) -> list[list[str]]:
    assert main(list(argv)) == 0
    return list(csv.reader(io.StringIO(capsys.readouterr().out)))


def test_plan_csv_is_the_lr_each_step_trains_with(capsys):
    rows = _csv(
        capsys,
        "plan",
        "-s",
        "StepLR(step_size=1, gamma=0.1)",
        "--epochs",
        "3",
        "--batches",
        "2",
        "--csv",
        "-",
    )
    assert rows[0] == ["step", "run", "lr"]
    assert [(int(r[0]), float(r[2])) for r in rows[1:]] == [
        (1, 0.1), (2, 0.1), (3, pytest.approx(0.01)), (4, pytest.approx(0.01)),
        (5, pytest.approx(0.001)), (6, pytest.approx(0.001)),
    ]  # fmt: skip


def test_plan_of_a_per_batch_schedule_equals_stepping_torch(capsys):
    rows = _csv(
        capsys, "plan", "-s", "OneCycleLR(max_lr=0.5)", "--epochs", "2", "--batches", "25", "--csv", "-"
    )
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=50)
    expected = []
    for _ in range(50):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert [float(r[2]) for r in rows[1:]] == expected


def test_plan_numbers_and_text_outside_a_terminal(capsys):
    argv = ["plan", "-s", "hf.cosine(num_warmup_steps=10)", "-s", "ReduceLROnPlateau()", "--epochs", "1"]
    assert main([*argv, "--batches", "100"]) == 0
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out and "planned LR" in captured.out
    cosine = next(line for line in captured.out.splitlines() if line.startswith("hf.cosine "))
    assert cosine.split()[1:4] == ["0.100000", "11", "0.100000"]  # peak, its step, LR after warm-up
    assert "follows the loss" in captured.out and "has no plan" in captured.err


def test_plan_summary_counts_steps_above_half_the_peak():
    exp = build_experiment(
        Settings(runs=[parse_scheduler_flag("StepLR(step_size=2, gamma=0.1)")], epochs=4, batches=10)
    )
    (run,) = planned_runs(exp)
    assert run.numbers[-1] == "20"  # two epochs of 10 batches at 0.1, then 0.01


async def test_the_plan_app_draws_and_toggles_log():
    from lrtui.ui.plan import PlanApp

    exp = build_experiment(Settings(epochs=2, batches=50))
    app = PlanApp(planned_runs(exp), "plan")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("l", "l")
        await pilot.pause()
        assert app.query_one("#plan-numbers").row_count == 6 and app.is_running
        await pilot.press("q")
    assert app.return_code == 0


def test_find_headless_suggests_and_leaves_the_model_untouched(capsys, tmp_path):
    workload = BuiltinWorkload("mlp", "teacher", 50, 32, 0, torch.device("cpu"))
    init = initial_module(workload, 0)
    before = {k: v.clone() for k, v in init.state_dict().items()}
    result = range_test(workload, init, Call("SGD", (("momentum", 0.9),)), torch.device("cpu"), steps=100)
    assert all(torch.equal(before[k], v) for k, v in init.state_dict().items())
    assert result.lrs[0] == pytest.approx(1e-7) and result.stopped.startswith("the smoothed loss passed 4x")
    assert result.smoothed[-1] > 4 * min(result.smoothed)
    found = suggest(result)
    assert 1e-7 < found.steepest < found.min_tenth * 10 and found.valley < found.min_tenth * 10
    out = tmp_path / "find.csv"
    assert main(["find", "--headless", "--model", "mlp", "--optimizer", "momentum", "--csv", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (
        "steepest descent" in printed
        and "Try: lrtui --task teacher --model mlp --optimizer momentum " in printed
    )
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["lr", "loss", "smoothed"] and len(rows) > 50


def test_suggestions_on_a_made_up_curve():
    lrs = [10 ** (-6 + k * 0.1) for k in range(60)]
    loss = [2.0] * 20 + [2.0 - 0.09 * k for k in range(20)] + [0.2 + 0.5 * k for k in range(20)]
    found = suggest(RangeResult(lrs, loss, loss))
    assert found.min_tenth == pytest.approx(lrs[40] / 10)  # the minimum, 0.2 at index 40
    assert lrs[20] <= found.steepest <= lrs[40] and lrs[20] <= found.valley <= lrs[40]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--start-lr", "1", "--end-lr", "0.1"], "must be smaller than --end-lr"),
        (["--steps", "0"], "--steps must be at least 3"),
        (["--optimizer", "Nope()"], "unknown optimizer"),
    ],
)
def test_find_bad_input(capsys, argv, expected):
    with pytest.raises(SystemExit) as exit_info:
        main(["find", "--headless", *argv])
    assert exit_info.value.code == 2 and expected in capsys.readouterr().err


def test_find_on_a_task_whose_loss_is_nan(tmp_path, capsys):
    task = tmp_path / "nan.py"
    task.write_text(
        textwrap.dedent("""
        import torch
        from torch import nn

        def model():
            return nn.Linear(2, 1)

        def batches(epoch):
            return [(torch.full((4, 2), float("nan")), torch.zeros(4, 1))]
    """)
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["find", "--headless", "--task", str(task)])
    assert exit_info.value.code == 2 and "first step gave a loss of nan" in capsys.readouterr().err


def test_plan_bad_spec(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["plan", "-s", "StepLR(gamma=2)"])
    assert exit_info.value.code == 2 and "StepLR needs step_size" in capsys.readouterr().err


def test_plan_into_a_pipe_marks_each_schedule_and_ticks_round_steps(capsys):
    """Without colour, only a line's marker tells schedules apart; ticks are round values."""
    specs = ["OneCycleLR(max_lr=0.1)", "StepLR(step_size=1, gamma=0.5)", "CosineAnnealingLR(T_max=4)"]
    argv = ["plan", *(a for s in specs for a in ("-s", s)), "--epochs", "4", "--batches", "500"]
    assert main(argv) == 0
    chart = capsys.readouterr().out.split("\n\n")[0].splitlines()
    legend = {
        name: next(line for line in chart if f" {name} " in line or line.rstrip().endswith(f" {name}"))
        for name in ("OneCycleLR", "StepLR", "CosineAnnealingLR")
    }
    markers = {name: line[line.index(name) - 3 : line.index(name) - 1] for name, line in legend.items()}
    assert len({m[0] for m in markers.values()}) == 3 and all(m[0] == m[1] != " " for m in markers.values())
    body = "\n".join(line for line in chart if not any(n in line for n in legend))
    assert all(body.count(m[0]) >= 10 for m in markers.values())  # each schedule's own line
    x_ticks = next(line for i, line in enumerate(chart) if "training step" in chart[i + 1]).split()
    assert x_ticks == ["0", "500", "1,000", "1,500", "2,000"]
    y_ticks = [float(line.split("┤")[0]) for line in chart if "┤" in line]
    assert y_ticks[-1] == 0 and y_ticks[0] == pytest.approx(0.1)
    assert all(round(t / 0.02, 6).is_integer() for t in y_ticks)  # multiples of one round step


TINY_TASK = """
import torch
from torch import nn

def model():
    return nn.Linear(4, 2)

def batches(epoch):
    gen = torch.Generator().manual_seed(epoch)
    x = torch.randn(128, 4, generator=gen)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return list(zip(x.split(16), y.split(16)))
"""


def test_finds_try_line_is_a_command_that_trains_the_same_task(tmp_path, capsys):
    """Pasted as printed (shell quoting and all), the Try line trains the task and optimizer
    the range test trained, comparing the suggested peaks, the best-served first."""
    task = tmp_path / "tiny task.py"  # a space: the line must quote it
    task.write_text(TINY_TASK)
    assert main(["find", "--task", str(task), "--optimizer", "adam", "--headless", "--seed", "3"]) == 0
    printed = capsys.readouterr().out.splitlines()
    (line,) = [x for x in printed if x.startswith("Try: ")]
    argv = shlex.split(line.removeprefix("Try: "))
    assert argv[:3] == ["lrtui", "--task", str(task)] and "--seed" in argv and "--batch-size" not in argv
    names = [x.split()[0] for x in printed[1:-1]]
    assert names[0] == "minimum" and len(names) >= 2  # the one that served best comes first
    specs = [argv[i + 1] for i, flag in enumerate(argv) if flag == "-s"]
    assert all(spec.startswith("OneCycleLR(max_lr=") for spec in specs)
    peaks = [float(spec.removeprefix("OneCycleLR(max_lr=").rstrip(")")) for spec in specs]
    assert peaks[0] == pytest.approx(float(printed[1].split()[3]), rel=1e-3)
    logs = tmp_path / "logs"
    assert main([*argv[1:], "--headless", "--epochs", "1", "--log-dir", str(logs), "--no-summary"]) == 0
    out = capsys.readouterr().out
    assert out.count("OneCycleLR") == len(peaks) and "Error" not in out
    headers = [json.loads(f.read_text().splitlines()[0]) for f in sorted(logs.glob("*.jsonl"))]
    assert len(headers) == len(peaks)
    for head in headers:
        config = head["config"]
        assert config["task"] == str(task) and config["optimizer"] == "Adam()" and config["seed"] == "3"
        assert config["scheduler"] == "OneCycleLR" and float(config["scheduler.max_lr"]) in peaks


def test_the_suggestions_rank_the_best_served_first():
    from lrtui.engine.rangetest import Suggestions

    names = [name for name, _ in Suggestions(1.0, 2.0, 3.0).ranked()]
    assert names == ["minimum / 10", "steepest descent", "valley"]
    assert Suggestions(None, 2.0, None).ranked() == [("valley", 2.0)]


async def test_the_live_find_shows_its_suggestions_when_it_stops():
    from lrtui.ui.find import FindApp

    lrs = [10 ** (-6 + k * 0.1) for k in range(60)]
    loss = [2.0] * 20 + [2.0 - 0.09 * k for k in range(20)] + [0.2 + 0.5 * k for k in range(20)]

    def run_test(on_step, stopped):
        on_step(RangeResult(lrs[:10], loss[:10], loss[:10]))
        return RangeResult(lrs, loss, loss, "the smoothed loss passed 4x its best")

    advice = ["LR range test: 60 steps", "  minimum / 10      0.01", "Try: lrtui --task teacher -s 'X'"]
    app = FindApp(run_test, suggest, "find", lambda result: advice)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = app.query_one("#find-advice")
        assert shown.display and shown.region.height >= len(advice)
        text = str(shown.render())
        assert all(line in text for line in advice) and app.suggestions == suggest(app.result)
        await pilot.press("q")
