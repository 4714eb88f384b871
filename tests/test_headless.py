"""The seed experiment's table, against the tutorial's printed output."""

import io
from pathlib import Path

import torch
from helpers import reference
from torch.optim import lr_scheduler as L

from lrtui.commands.main import main
from lrtui.modes.config import Settings, build_experiment
from lrtui.modes.headless import run_headless

TUTORIAL = Path(__file__).parent / "data" / "tutorial_table.txt"


def _blocks(text: str) -> dict[str, list[str]]:
    """The table's blocks by run; the leaderboard after the blank line is not part of it."""
    blocks: dict[str, list[str]] = {}
    current = None
    for line in text.split("\n\n")[0].splitlines():
        if line.startswith("Epoch "):
            blocks[current].append(line)
        else:
            current = line
            blocks[current] = []
    return blocks


def test_seed_table_equals_the_tutorial(capsys):
    assert main(["--headless"]) == 0
    out = capsys.readouterr().out
    ours, tutorial = _blocks(out), _blocks(TUTORIAL.read_text())
    assert list(ours) == list(tutorial)
    for name in ("StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "CyclicLR"):
        assert ours[name] == tutorial[name], name
    # ReduceLROnPlateau follows the losses: compare with torch fed the same losses.
    exp = build_experiment(Settings())
    _, _, epoch_lrs = reference(
        exp, lambda o: L.ReduceLROnPlateau(o, mode="min", factor=0.1, patience=2), "epoch", metric=True
    )
    labels = [1 + 10 * i for i in range(11)]
    assert ours["ReduceLROnPlateau"] == [
        f"Epoch {e}, Learning Rate {lr:.6f}" for e, lr in zip(labels, epoch_lrs, strict=True)
    ]
    assert len(set(ours["ReduceLROnPlateau"])) > 1  # it did cut the LR


def _table(**settings) -> str:
    out = io.StringIO()
    assert run_headless(build_experiment(Settings(**settings)), out) == 0
    return out.getvalue()


def test_epochs_flag_labels_epochs_one_to_n():
    lines = _blocks(_table(epochs=4, batches=3))["StepLR"]
    assert [line.split(",")[0] for line in lines] == ["Epoch 1", "Epoch 2", "Epoch 3", "Epoch 4"]


def test_seed_makes_runs_reproducible_bit_for_bit():
    from helpers import train

    def losses(seed):
        exp = build_experiment(Settings(epochs=2, batches=50, seed=seed, preset="seed"))
        return [(e.run, e.loss.hex()) for e in train(exp) if hasattr(e, "loss")]

    assert losses(5) == losses(5)
    assert losses(5) != losses(6)


def test_runs_start_from_the_same_weights_and_see_the_same_batches():
    from helpers import steps_of, train

    exp = build_experiment(Settings(epochs=1, batches=1))
    events = train(exp)
    first = {steps_of(events, i)[0].loss for i in range(len(exp.runs))}
    assert len(first) == 1  # same init, same batch -> same first loss
    assert torch.get_rng_state() is not None


def test_exit_code_is_1_only_when_every_run_failed_or_diverged(capsys):
    blown = ["--headless", "--lr", "1e6", "--model", "mlp", "--epochs", "1", "--batches", "10"]
    for extra in ([], ["--no-summary"]):  # the code does not depend on the leaderboard
        assert main([*blown, "-s", "StepLR(step_size=1)", "-s", "ExponentialLR(gamma=0.5)", *extra]) == 1
        out, err = capsys.readouterr()
        assert out.count("Diverged: loss became") == 2
        assert err.splitlines()[-1] == "lrtui: every run failed or diverged"
    one_finishes = ["--headless", "--epochs", "1", "--batches", "10", "-s", "StepLR(step_size=1)"]
    assert main([*one_finishes, "-s", "LambdaLR(lr_lambda=constant(value=1e39))"]) == 0
    out, err = capsys.readouterr()
    assert "Diverged: loss became" in out and "every run failed" not in err


HANGS_AT_EPOCH_2 = """
import time
import torch
from torch import nn


def model():
    return nn.Linear(4, 2)


def batches(epoch):
    for i in range(20):
        if epoch == 1 and i == 3:
            time.sleep(10**6)  # a loader that never returns
        yield torch.randn(8, 4), torch.randint(0, 2, (8,))
"""


def test_headless_stuck_in_the_tasks_code_still_stops_on_ctrl_c_with_every_log_finished(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from lrtui.record.format import decode

    task, logs = tmp_path / "hang.py", tmp_path / "logs"
    task.write_text(HANGS_AT_EPOCH_2)
    argv = [
        "--task",
        str(task),
        "-s",
        "StepLR(step_size=2)",
        "--epochs",
        "3",
        "--headless",
        "--log-dir",
        str(logs),
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "lrtui", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    log = logs / "StepLR.jsonl"
    deadline = time.monotonic() + 120
    while not (log.exists() and '"step": 20,' in log.read_text()):  # epoch 1 trained, then stuck
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    last = decode(log.read_text().splitlines()[-1], 0, 0)
    assert last.status.value == "stopped" and "did not return" in last.message and last.step == 20


def test_the_live_app_without_a_terminal_says_so_in_one_line(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "lrtui", "--epochs", "1", "--batches", "5"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert (
        done.stderr.startswith("lrtui: error: the live app needs a terminal") and done.stderr.count("\n") == 1
    )
