"""`lrtui plan` (schedules previewed without training) and `lrtui find` (the LR range test)."""

from __future__ import annotations

import csv
import io
import textwrap

import pytest
import torch

from lrtui.cli import main
from lrtui.config import Settings, build_experiment, parse_scheduler_flag
from lrtui.engine.builtin import BuiltinWorkload
from lrtui.engine.rangetest import RangeResult, range_test, suggest
from lrtui.engine.workload import initial_module
from lrtui.plancmd import planned_runs
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
    assert "steepest descent" in printed and "Try: lrtui --lr " in printed
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
