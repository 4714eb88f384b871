"""The journeys users take, end to end in a real terminal (tmux): the README's demo and its keys,
a real-sized task file (a conv net with BatchNorm and a shuffling DataLoader) trained live to the
end, `find`'s suggestion run as printed, a Hugging Face Trainer watched live and exported,
torchrun with two processes; and every live screen ended by `q`, SIGTERM and a hang-up, with
the terminal restored and no process left behind.

These train real models in real processes, so they are slower than the unit tests: each is
bounded by deadlines on what the screen shows, never by sleeps.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from terminal import ROOT, Terminal, have_tmux, lrtui_command

from lrtui.record.format import decode
from lrtui.spec.events import RunStatus, StatusEvent

pytestmark = [
    pytest.mark.journey,
    pytest.mark.skipif(not have_tmux(), reason="journeys run in tmux: apt-get install tmux"),
]

CNN_TASK = '''
"""A conv net with BatchNorm on an unseeded, shuffling DataLoader: what users bring."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

_gen = torch.Generator().manual_seed(0)
_x = torch.randn(768, 3, 16, 16, generator=_gen)
_y = (_x[:, 0].mean(dim=(1, 2)) > 0).long() + 2 * (_x[:, 1].mean(dim=(1, 2)) > 0).long()
TRAIN = TensorDataset(_x[:640], _y[:640])
VALID = (_x[640:], _y[640:])


def model():
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 4),
    )


def batches(epoch):
    return DataLoader(TRAIN, batch_size=32, shuffle=True)


def loss(model, batch):
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)


def evaluate(model):
    x, y = VALID
    with torch.no_grad():
        return nn.functional.cross_entropy(model(x), y).item()
'''
TASK_FLAGS = ["-s", "OneCycleLR(max_lr=0.05)", "-s", "CosineAnnealingLR(T_max=3)", "--optimizer", "momentum",
              "--lr", "0.05", "--epochs", "3"]  # fmt: skip
STEPS = re.compile(r"(\d[\d,]*) steps(?!/)")


def _steps(screen: str) -> int:
    found = STEPS.search(screen.splitlines()[0] if screen else "")
    return int(found.group(1).replace(",", "")) if found else 0


def _training(screen: str) -> bool:
    return _steps(screen) > 0


@pytest.fixture
def task_file(tmp_path: Path) -> Path:
    path = tmp_path / "cnn_task.py"
    path.write_text(CNN_TASK)
    return path


def _back(term: Terminal) -> None:
    """Escape, then the grid again before the next key (a key right after Escape reads as Alt+key)."""
    term.press("Escape")
    term.wait_for(lambda s: s.startswith(" lrtui "))


def _ends_well(term: Terminal, status: int = 0) -> None:
    assert term.exit_status(timeout=15) == status, term.screen()
    assert term.restored(), "the terminal was left in the app's modes"
    assert term.leftovers() == []


# ---- the README's demo, key by key -------------------------------------------------------


def test_readme_demo_first_screen_and_its_keys():
    with Terminal(lrtui_command(), 120, 40) as term:
        first = term.wait_for("CyclicLR", timeout=30)
        for name in ("StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau"):
            assert name in first
        term.wait_for(_training, timeout=60)
        term.press("space")
        term.wait_for(lambda s: " paused " in s.splitlines()[0])
        term.press("space")
        term.wait_for(lambda s: " running " in s.splitlines()[0])
        term.press("Enter")
        term.wait_for("differs from the other runs in")
        _back(term)
        term.press("c")
        term.wait_for("Compare — every run on shared axes")
        _back(term)
        term.press("b")
        term.wait_for("Leaderboard")
        _back(term)
        term.press("?")
        term.wait_for("lrtui keys")
        term.press("q")
        _ends_well(term)


# ---- your own model, live to the end ------------------------------------------------------


def test_a_task_file_with_batchnorm_and_a_dataloader_trains_live_to_done(task_file: Path):
    with Terminal(lrtui_command("--task", str(task_file), *TASK_FLAGS), 120, 40) as term:
        term.wait_for(_training, timeout=90)  # step 1 and on: the hang sat at step 0 forever
        done = term.wait_for(lambda s: " finished " in s.splitlines()[0], timeout=240)
        assert done.count("step 60/60") == 2 and " running " not in done
        term.press("q")
        _ends_well(term)


# ---- lrtui.compare from a script, live ------------------------------------------------------

COMPARE_SCRIPT = """
import sys
sys.path.insert(0, {folder!r})
import lrtui
from cnn_task import batches, evaluate, loss, model

results = lrtui.compare(
    model=model, batches=batches(0), loss=loss, evaluate=evaluate, epochs=2, optimizer="momentum", lr=0.05,
    schedulers=["OneCycleLR(max_lr=0.05)", "CosineAnnealingLR(T_max=2)"],
)
for run in results.runs:
    print("result", run.name, run.status, run.steps, len(run.losses))
"""


def test_compare_from_a_script_trains_a_conv_net_live_and_returns_results(tmp_path: Path, task_file: Path):
    script = tmp_path / "compare_live.py"
    script.write_text(COMPARE_SCRIPT.format(folder=str(task_file.parent)))
    with Terminal(shlex.join([sys.executable, str(script)]), 120, 40) as term:
        term.wait_for(_training, timeout=90)
        term.wait_for(lambda s: " finished " in s.splitlines()[0], timeout=240)
        term.press("q")
        _ends_well(term)
        said = [line.split() for line in term.screen().splitlines() if line.startswith("result ")]
        assert [row[1:] for row in said] == [
            ["OneCycleLR", "done", "40", "40"],
            ["CosineAnnealingLR", "done", "40", "40"],
        ]


# ---- find, then its suggestion as printed -------------------------------------------------


def _try_line(out: str) -> list[str]:
    line = next(x for x in out.splitlines() if x.startswith("Try: "))
    argv = shlex.split(line.removeprefix("Try: "))
    assert argv[0] == "lrtui"
    return argv[1:]


def test_find_prints_a_command_that_trains_the_same_task_with_the_same_optimizer(task_file: Path):
    found = subprocess.run(
        [sys.executable, "-m", "lrtui", "find", "--task", str(task_file), "--optimizer", "adam", "--headless",
         "--steps", "60"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    argv = _try_line(found.stdout)
    assert argv[argv.index("--task") + 1] == str(task_file)
    assert argv[argv.index("--optimizer") + 1].lower().startswith("adam")
    with Terminal(shlex.join([sys.executable, "-m", "lrtui", *argv]), 250, 40) as term:  # the whole label
        screen = term.wait_for(_training, timeout=90)
        assert "OneCycleLR" in screen
        term.press("Enter")  # the run's chart names its whole setup, whatever the width
        setup = "".join(term.wait_for("same for all", timeout=30).split())
        assert "optimizer=Adam(" in setup and f"task={task_file}" in setup
        term.press("q")
        _ends_well(term)


# ---- every live screen ends cleanly: q, SIGTERM, a hang-up ---------------------------------


def _live(case: str, tmp_path: Path, task_file: Path) -> tuple[str, Path | None]:
    """The command of a live case, and the log directory it records to (if any)."""
    logs = tmp_path / "logs"
    if case == "demo":
        return lrtui_command("--log-dir", str(logs)), logs
    if case == "task":
        return lrtui_command("--task", str(task_file), *TASK_FLAGS, "--log-dir", str(logs)), logs
    from lrtui import RunRecorder

    rec = RunRecorder(logs, "watched")  # watch: a run recorded by the user's own loop
    for step in range(1, 51):
        rec.log(step, epoch=1, lr=0.1, loss=1.0 / step)
    rec.close()
    return lrtui_command("watch", str(logs)), None


def _final_statuses(logs: Path) -> Iterator[StatusEvent]:
    for path in sorted(logs.glob("*.jsonl")):
        last = decode(path.read_text().splitlines()[-1], 0, 0)
        assert isinstance(last, StatusEvent), f"{path.name} has no final status"
        yield last


@pytest.mark.parametrize("case", ["demo", "task", "watch"])
@pytest.mark.parametrize("how", ["q", "SIGTERM", "SIGHUP", "q-then-SIGHUP"])
def test_every_live_screen_ends_cleanly(case: str, how: str, tmp_path: Path, task_file: Path):
    command, logs = _live(case, tmp_path, task_file)
    term = Terminal(command, 120, 40)
    try:
        term.wait_for(_training if case != "watch" else "watched", timeout=90)
        if how == "q":
            term.press("q")
        elif how == "SIGTERM":
            term.signal(signal.SIGTERM)
        elif how == "SIGHUP":
            term.hang_up()  # an SSH connection dropped: nothing to restore, nothing may stay
        else:  # the window closed right after q, while the app closes (an orphan at 50% CPU, once)
            term.press("q")
            term.wait_for(lambda s: not s.startswith(" lrtui "), timeout=15)
            term.hang_up()
        if how in ("q", "SIGTERM"):
            _ends_well(term)
        assert term.leftovers() == []
        if logs is not None:  # every run's log ends with its last status
            assert {s.status for s in _final_statuses(logs)} <= {RunStatus.STOPPED, RunStatus.DONE}
    finally:
        term.close()


# ---- a Hugging Face Trainer watched live, then exported ----------------------------------

HF_SCRIPT = '''
"""A Hugging Face Trainer logging to TensorBoard, as users run it; it waits at step 60 for the
test to have seen it live (a file), so watching overlaps training."""
import sys, time
from pathlib import Path

import torch
from torch import nn
from transformers import Trainer, TrainerCallback, TrainingArguments

logs, gate = Path(sys.argv[1]), Path(sys.argv[2])


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def forward(self, x, labels=None):
        out = self.linear(x).squeeze(-1)
        return {"loss": nn.functional.mse_loss(out, labels), "logits": out}


class Gate(TrainerCallback):
    def on_step_end(self, args, state, control, **kw):
        deadline = time.monotonic() + 120
        while state.global_step == 60 and not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.05)


gen = torch.Generator().manual_seed(0)
x = torch.randn(400, 4, generator=gen)
rows = [{"x": x[i], "labels": x[i].sum()} for i in range(400)]
args = TrainingArguments(
    output_dir=str(logs), report_to=["tensorboard"],  # events under logs/runs/<time_host>/
    max_steps=100, per_device_train_batch_size=4, learning_rate=0.05, lr_scheduler_type="cosine",
    warmup_steps=10, logging_steps=5, save_strategy="no", use_cpu=True, disable_tqdm=True,
)
Trainer(model=Regressor(), args=args, train_dataset=rows, callbacks=[Gate()]).train()
'''


def test_a_hugging_face_trainer_watched_live_then_exported(tmp_path: Path):
    pytest.importorskip("transformers")
    pytest.importorskip("tensorboard")
    script, gate, logs = tmp_path / "train_hf.py", tmp_path / "seen", tmp_path / "hf"
    script.write_text(HF_SCRIPT)
    trainer = subprocess.Popen(
        [sys.executable, str(script), str(logs), str(gate)], stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        logs.mkdir(parents=True, exist_ok=True)
        with Terminal(lrtui_command("watch", str(logs)), 120, 40) as term:
            live = term.wait_for(re.compile(r"lr \d[\d.e-]*\s+loss~? \d").search, timeout=120)
            assert trainer.poll() is None, "training ended before it was seen live"
            assert re.search(r"step (\d+)", live)
            gate.touch()
            assert trainer.wait(timeout=120) == 0, trainer.stderr.read() if trainer.stderr else ""
            term.wait_for("step 100", timeout=30)
            term.press("q")
            _ends_well(term)
    finally:
        gate.touch()
        trainer.kill()
        trainer.wait(timeout=30)
    out = tmp_path / "hf.csv"
    exported = subprocess.run(
        [sys.executable, "-m", "lrtui", "export", str(logs), "--csv", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert exported.returncode == 0, exported.stderr
    rows = out.read_text().splitlines()
    header = rows[0].split(",")
    assert "lr" in header and "loss" in header
    assert len(rows) - 1 == 20  # every 5th of 100 steps


# ---- torchrun, two processes, in a terminal -----------------------------------------------


def test_torchrun_with_two_processes_then_watched(tmp_path: Path):
    logs = tmp_path / "dist"
    torchrun = shlex.join(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "lrtui",
         "--headless", "--epochs", "2", "--batches", "30", "--log-dir", str(logs)]
    )  # fmt: skip
    with Terminal(torchrun, 120, 40) as term:
        assert term.exit_status(timeout=240) == 0, term.screen()
        assert "Leaderboard" in term.screen()
        assert term.leftovers() == []
    with Terminal(lrtui_command("watch", str(logs)), 160, 45) as term:
        shown = term.wait_for(lambda s: s.count("done  ep 2/2 · step 60/60") == 6, timeout=60)
        assert "CyclicLR" in shown
        term.press("q")
        _ends_well(term)
