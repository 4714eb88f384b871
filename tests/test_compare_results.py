"""What `lrtui.compare` hands back: results a script can act on, from the headless table and
from the live app alike, and a signature `help` can show without torch."""

import asyncio
import json
import math
import subprocess
import sys

import pytest
import torch

import lrtui
from lrtui.state.leaderboard import fmt


def _data():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(64, 3, generator=gen)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    return [(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]


def _compare(**kw) -> lrtui.Results:
    return lrtui.compare(
        model=torch.nn.Linear(3, 1),
        batches=_data(),
        schedulers=["StepLR(step_size=1, gamma=0.5)", "ConstantLR(factor=1.0, total_iters=1)"],
        epochs=3,
        lr=0.05,
        device="cpu",
        **kw,
    )


def test_headless_compare_returns_the_runs_and_the_leaderboard_it_printed(capsys):
    results = _compare(headless=True)
    printed = capsys.readouterr().out.split("\n\n", 1)[1].splitlines()
    assert results.leaderboard == printed and str(results) == "\n".join(printed)
    assert [r.name for r in results.runs] == ["StepLR", "ConstantLR"]
    rows = {line.split()[1]: line.split() for line in printed[2:]}
    for run in results.runs:
        assert rows[run.name][2] == fmt(run.final_loss)  # the final loss as printed
        assert rows[run.name][4] == fmt(run.best_loss)
        assert run.status == "done" and run.steps == 12 and run.flag == ""
        assert len(run.lrs) == len(run.losses) == 12  # every step, as plain floats
        assert all(isinstance(v, float) and math.isfinite(v) for v in run.losses)
        assert math.isnan(run.val_loss)  # no evaluate()
    step = results.runs[0]
    assert step.lrs[:4] == [0.05] * 4 and step.lrs[4] == pytest.approx(0.025)  # halved each epoch
    assert step.final_loss == pytest.approx(step.losses[-1])  # 5% of 12 steps: the last one


def test_to_pandas_gives_one_row_per_run_and_names_pandas_when_missing(monkeypatch, capsys):
    pytest.importorskip("pandas")
    results = _compare(headless=True, evaluate=lambda model: 0.5)
    capsys.readouterr()
    frame = results.to_pandas()
    assert list(frame.index) == ["StepLR", "ConstantLR"] and len(frame) == 2
    assert frame.loc["StepLR", "final_loss"] == results.runs[0].final_loss
    assert frame.loc["ConstantLR", "val_loss"] == 0.5
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if it were not installed
    with pytest.raises(ImportError, match="pip install pandas"):
        results.to_pandas()


def test_live_compare_returns_what_the_app_folded(monkeypatch):
    """The live path: the app trains (here under Textual's test driver, quit once every run
    is done) and the results come from the state it folded."""
    import lrtui.modes.live

    def run_in_test_driver(app) -> int:
        async def drive() -> None:
            async with app.run_test(size=(100, 30)) as pilot:
                while app.state.overall() != "finished":  # bounded by the test's timeout
                    await pilot.pause(0.05)
                await pilot.press("q")

        asyncio.run(drive())
        return 0

    monkeypatch.setattr(lrtui.modes.live, "run_built", run_in_test_driver)
    results = _compare(headless=False)
    assert [(r.name, r.status, r.steps) for r in results.runs] == [
        ("StepLR", "done", 12),
        ("ConstantLR", "done", 12),
    ]
    assert all(len(r.losses) == 12 and math.isfinite(r.final_loss) for r in results.runs)
    assert results.leaderboard[0].startswith("Leaderboard (by final loss")


def test_help_shows_compares_real_signature_without_importing_torch(tmp_path):
    probe = (
        "import inspect, io, json, sys, contextlib\n"
        "import lrtui\n"
        "sig = inspect.signature(lrtui.compare)\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    help(lrtui.compare)\n"
        "print(json.dumps({'params': list(sig.parameters), 'returns': str(sig.return_annotation),\n"
        "    'help': out.getvalue(), 'torch': 'torch' in sys.modules}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["params"][:3] == ["model", "batches", "schedulers"] and "evaluate" in seen["params"]
    assert seen["returns"] == "Results" and "schedulers: 'Sequence[str]'" in seen["help"]
    assert "Returns the" in seen["help"] and "to_pandas()" in seen["help"]  # its own docstring
    assert seen["torch"] is False


def test_kept_steps_follow_restarts_and_runs_added_later():
    from lrtui.spec.events import RunAdded, RunInfo, StepBlock
    from lrtui.state.runs import ExperimentState

    def steps(run: int, gen: int, first: int, losses: list[float]) -> StepBlock:
        n = len(losses)
        return StepBlock(run, gen, first, (1,) * n, ((0.1,),) * n, tuple(losses), (0.0,) * n)

    state = ExperimentState([RunInfo("a")], lambda: 0.0)
    state.apply([steps(0, 0, 1, [0.9, 0.8])])
    state.keep_steps()  # from now on
    state.apply([steps(0, 0, 3, [0.7, math.nan]), RunAdded(1, RunInfo("b")), steps(1, 0, 1, [0.5])])
    kept = state.runs[0].history.losses
    assert len(kept) == 2 and kept[0] == 0.7 and math.isnan(kept[1])  # NaN kept: the step that diverged
    assert list(state.runs[1].history.losses) == [0.5]  # a run added later keeps its steps too
    state.apply([steps(0, 1, 1, [0.6])])  # run a restarted: its history starts again
    assert list(state.runs[0].history.losses) == [0.6] and list(state.runs[0].history.lrs) == [0.1]
