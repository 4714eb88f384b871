"""The journeys users take, end to end in a real terminal (tmux): the README's demo and its keys,
a real-sized task file (a conv net with BatchNorm and a shuffling DataLoader) trained live to the
end, `find`'s suggestion run as printed, a Hugging Face Trainer watched live and exported,
torchrun with two processes; and every live screen ended by `q`, SIGTERM and a hang-up, with
the terminal restored and no process left behind.

These train real models in real processes, so they are slower than the unit tests: each is
bounded by deadlines on what the screen shows, never by sleeps.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from terminal import ROOT, Terminal, have_tmux, lrtui_command, marked_pids

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
        names = (
            "StepLR",
            "MultiStepLR",
            "ExponentialLR",
            "CosineAnnealingLR",
            "ReduceLROnPlateau",
            "CyclicLR",
        )
        # every panel's name on the first screen (a cold start of a fresh venv may take a while,
        # and a screen caught mid-draw may hold only some of them)
        term.wait_for(lambda s: all(name in s for name in names), timeout=60)
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
        if how == "SIGHUP" and logs is not None:  # a recording app detaches: training goes on
            _stop_handed_over(term, logs)
        assert term.leftovers() == []
        if logs is not None:  # every run's log ends with its last status
            assert {s.status for s in _final_statuses(logs)} <= {RunStatus.STOPPED, RunStatus.DONE}
    finally:
        term.close()


def _stop_handed_over(term: Terminal, logs: Path) -> None:
    """The background trainer a recording app handed its comparison to as its terminal hung
    up: once it listens on its socket, SIGTERM stops it as Ctrl-C would (final statuses).
    Where every run had finished there is none, and every process ends by itself."""
    import os
    import socket
    import time

    from terminal import marked_pids

    deadline = time.monotonic() + 120
    while True:
        with socket.socket(socket.AF_UNIX) as probe:
            if probe.connect_ex(str(logs / "control.sock")) == 0:
                break
        if not marked_pids(term.marker):
            return
        assert time.monotonic() < deadline, "no background trainer after the hang-up"
        time.sleep(0.1)
    for pid in marked_pids(term.marker):
        os.kill(pid, signal.SIGTERM)


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


# ---- a run is an optimizer and its schedule ------------------------------------------------------


def test_the_optimizers_preset_trains_each_run_with_its_own_optimizer_and_says_so():
    """AdamW under two schedules, schedule-free AdamW and SGD-momentum with one-cycle on the
    character model: each panel's title names its optimizer, the status bar what trained how."""
    argv = ("--preset", "optimizers", "--task", "charlm", "--epochs", "1", "--batches", "6")
    with Terminal(lrtui_command(*argv), 160, 45) as term:
        done = term.wait_for(lambda s: " finished " in s.splitlines()[0], timeout=180)
        titles = [line for line in done.splitlines() if re.search(r"[┏╭]━*─* ?\d ", line)]
        joined = "\n".join(titles)
        for title in (
            "1 AdamW · cosine  AdamW |",
            "2 AdamW · WSD  AdamW |",
            "3 schedule-free AdamW  schedule-free · AdamW",
            "4 SGD-momentum · one-cycle  SGD(momentum=0.9",
        ):
            assert title in joined, done
        assert "AdamW x2 · AdamWScheduleFree (schedule-free) · SGD" in done.splitlines()[0]
        assert done.count("step 6/6") == 4
        term.press("q")
        _ends_well(term)


# ---- a comparison that outlives its process: kill -9, then lrtui resume ---------------------


def test_a_live_comparison_killed_with_kill_9_goes_on_live_with_lrtui_resume(tmp_path: Path, task_file: Path):
    logs = tmp_path / "runs"
    # 30 epochs (600 steps a run): a comparison that finished before the kill leaves no checkpoint
    flags = [
        "--task",
        str(task_file),
        *TASK_FLAGS,
        "--epochs",
        "30",
        "--log-dir",
        str(logs),
        "--checkpoint-every",
        "10",
    ]
    with Terminal(lrtui_command(*flags), 120, 40) as term:
        term.wait_for(lambda s: _steps(s) >= 20 and any((logs / "checkpoints").glob("*.pt")), timeout=180)
        # a crash or a reboot: the app and the trainer process it started (in a session of its
        # own: no signal to the app reaches it), gone without a word
        for pid in marked_pids(term.marker):
            os.kill(pid, signal.SIGKILL)
        assert term.exit_status() == 128 + signal.SIGKILL
        assert term.leftovers() == []
    with Terminal(lrtui_command("resume", str(logs)), 120, 40) as term:
        # the panels' last mark, until a later regime change takes its place
        term.wait_for(lambda s: "resumed at step" in s or " finished " in s.splitlines()[0], timeout=90)
        done = term.wait_for(lambda s: " finished " in s.splitlines()[0], timeout=240)
        assert done.count("step 600/600") == 2
        term.press("q")
        _ends_well(term)
    for path in sorted(logs.glob("*.jsonl")):
        events = [decode(line, 0, 0) for line in path.read_text().splitlines()[1:]]
        steps = [e.step for e in events if type(e).__name__ == "StepEvent"]
        assert steps == list(range(1, 601))  # no step twice, no gap
        marks = [e.step for e in events if type(e).__name__ == "MarkEvent" and e.kind == "resumed"]
        assert len(marks) == 1 and 10 <= marks[0] < 600  # at a checkpoint: every 10 steps
        assert [e.status for e in events if isinstance(e, StatusEvent)][-1] is RunStatus.DONE
    assert not (logs / "checkpoints").exists()  # finished: nothing left to resume


# ---- the app always ends when its terminal does ---------------------------------------------

FORTY = [flag for k in range(1, 41) for flag in ("-s", f"StepLR(step_size={k}, gamma=0.9)")]


@pytest.mark.parametrize("heard", ["SIGHUP", "no SIGHUP"])
def test_forty_runs_end_when_their_terminal_is_killed_mid_draw(heard: str, tmp_path: Path):
    """40 runs training, `c` pressed, the terminal killed as the comparison draws (an SSH drop),
    ten times each way: with SIGHUP delivered, and with none reaching the app (`setsid`: no
    controlling terminal; what a loop stuck writing to the dead terminal amounts to, as it can
    no longer run its handler). No process may be left. (Not recording: a comparison that
    records is handed over to the background instead, `test_live_detach.py`; its logs' final
    statuses after a hang-up are `test_every_live_screen_ends_cleanly`'s.)"""
    for attempt in range(10):
        command = lrtui_command(*FORTY, "--task", "random", "--epochs", "2", "--batches", "5000")
        with Terminal(command if heard == "SIGHUP" else f"setsid -w {command}", 160, 50) as term:
            term.wait_for(_training, timeout=120)
            term.press("c")
            term.hang_up()
            assert term.leftovers(timeout=20) == [], f"attempt {attempt}"


def test_attach_and_detach_a_headless_comparison_three_times_then_stop_it(tmp_path: Path, task_file: Path):
    logs = tmp_path / "runs"
    # 2,000 epochs of 20 steps: never finished before the third attach is done, however slowly
    # the apps start (at 40 epochs, on a loaded machine, it was, and the third attach found it gone)
    flags = ["--task", str(task_file), *TASK_FLAGS[:-1], "2000", "--log-dir", str(logs), "--no-summary"]
    training = subprocess.Popen(
        [sys.executable, "-m", "lrtui", "--headless", *flags], stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        import time

        deadline = time.monotonic() + 120  # the socket is there once training has started
        while not (logs / "control.sock").exists():
            assert training.poll() is None and time.monotonic() < deadline, "no control socket"
            time.sleep(0.1)
        seen = 0
        for cycle in range(3):
            with Terminal(lrtui_command("attach", str(logs)), 120, 40) as term:
                screen = term.wait_for(
                    lambda s, seen=seen: _steps(s) > seen, timeout=120
                )  # the past, then live
                assert "attached" in screen.splitlines()[0]
                term.press("space")  # every key steers: pause, then go on
                term.wait_for(lambda s: " paused " in s.splitlines()[0])
                term.press("space")
                term.wait_for(lambda s: " running " in s.splitlines()[0])
                seen = _steps(term.screen())
                if cycle < 2:
                    term.press("d")  # detach: the app ends, training goes on
                    _ends_well(term)
                    assert training.poll() is None
                    continue
                term.press("q")
                term.wait_for("stop training, or only detach?")
                term.press("s")
                _ends_well(term)
        assert training.wait(timeout=60) == 0
        assert "Interrupted" in training.stdout.read()  # type: ignore[union-attr]
    finally:
        training.kill()
        training.wait()
    for path in sorted(logs.glob("*.jsonl")):
        events = [decode(line, 0, 0) for line in path.read_text().splitlines()[1:]]
        steps = [e.step for e in events if type(e).__name__ == "StepEvent"]
        assert steps == list(range(1, len(steps) + 1)) and len(steps) < 2000 * 20  # stopped, nothing lost
        statuses = [e.status for e in events if isinstance(e, StatusEvent)]
        assert statuses.count(RunStatus.PAUSED) == 3 and statuses[-1] is RunStatus.STOPPED
    assert not (logs / "control.sock").exists()


def test_background_training_outlives_its_terminal_and_is_attached_again(tmp_path: Path, task_file: Path):
    logs = tmp_path / "runs"
    flags = ["--task", str(task_file), *TASK_FLAGS[:-1], "40", "--log-dir", str(logs), "--background"]
    first = Terminal(lrtui_command(*flags), 120, 40)  # closed last: closing kills what it started
    try:
        first.wait_for(lambda s: _training(s) and s.startswith(" lrtui "), timeout=180)
        first.hang_up()  # the SSH connection drops: the app detaches, training goes on
        with Terminal(lrtui_command("attach", str(logs)), 120, 40) as term:
            term.wait_for(lambda s: "attached" in s.splitlines()[0] and _training(s), timeout=60)
            term.press("d")
            assert term.exit_status(timeout=15) == 0 and term.restored()
        with Terminal(lrtui_command("attach", str(logs)), 120, 40) as term:
            term.wait_for(lambda s: "attached" in s.splitlines()[0] and _training(s), timeout=60)
            term.press("q")
            term.wait_for("stop training, or only detach?")
            term.press("s")
            _ends_well(term)
        assert first.leftovers(timeout=30) == []  # the background training has ended too
        assert any((logs / "checkpoints").glob("*.pt"))  # stopped, so resumable
        again = Terminal(lrtui_command("resume", str(logs), "--background"), 120, 40)
        try:  # on from the checkpoint, in the background again, this terminal attached
            again.wait_for(lambda s: "attached" in s.splitlines()[0] and _training(s), timeout=180)
            again.press("q")
            again.wait_for("stop training, or only detach?")
            again.press("s")
            _ends_well(again)
        finally:
            again.close()
    finally:
        first.close()
    for path in sorted(logs.glob("*.jsonl")):
        events = [decode(line, 0, 0) for line in path.read_text().splitlines()[1:]]
        steps = [e.step for e in events if type(e).__name__ == "StepEvent"]
        assert steps == list(range(1, len(steps) + 1))  # no step twice, no gap
        assert len([e for e in events if type(e).__name__ == "MarkEvent" and e.kind == "resumed"]) == 1
        assert [e.status for e in events if isinstance(e, StatusEvent)][-1] is RunStatus.STOPPED
