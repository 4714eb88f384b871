"""What a new user's trial of `lrtui watch` and `export` on other trackers' runs left open: an HF
`output_dir` that also holds TensorBoard files is one run, not two; a finished HF run says so
(and why); a `--tag` that no run logs says which tags the runs do log. Each on files written by
the real library in the test: a `transformers.Trainer`, torch's `SummaryWriter`."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from terminal import Terminal, have_tmux, lrtui_command
from tiny_hf import Regressor, regression_rows

from lrtui.record.export import export_csv, input_files, what_was_read
from lrtui.record.readers import ReadOptions
from lrtui.record.readers.hf_state import finished
from lrtui.record.watch import WatchSource
from lrtui.spec.events import Notice, RunAdded, RunStatus, StatusEvent, StepBlock

ROOT = Path(__file__).resolve().parent.parent


def _statuses(events: list, run: int = 0) -> list[tuple[int, RunStatus, str]]:
    return [(e.gen, e.status, e.message) for e in events if isinstance(e, StatusEvent) and e.run == run]


@pytest.fixture(scope="module")
def hf_tensorboard(tmp_path_factory) -> tuple[Path, list, list[tuple[int, int]]]:
    """A Trainer with `report_to="tensorboard"`, logging every 2 steps and saving every 10 of 30:
    the watcher polled at each log (HF's TensorBoard callback has flushed by then), so it sees
    the event files alone before the first checkpoint, then both."""
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("tensorboard")
    where = tmp_path_factory.mktemp("hf_tb")
    got: list = []
    src = WatchSource(where, got.extend)
    polls: list[tuple[int, int]] = []  # (global step, events so far)

    class Probe(transformers.TrainerCallback):
        def on_log(self, args, state, control, **kw):
            src.poll_once()
            polls.append((state.global_step, len(got)))

    args = transformers.TrainingArguments(
        output_dir=str(where / "out"), report_to=["tensorboard"], max_steps=30,
        per_device_train_batch_size=4, learning_rate=0.05, lr_scheduler_type="cosine", warmup_steps=4,
        logging_steps=2, save_steps=10, save_total_limit=1, use_cpu=True, disable_tqdm=True,
    )  # fmt: skip
    transformers.Trainer(
        model=Regressor(), args=args, train_dataset=regression_rows(200, 0), callbacks=[Probe()]
    ).train()
    src.poll_once()
    assert list((where / "out" / "runs").glob("*/events.out.tfevents.*"))  # the library wrote both
    assert (where / "out" / "checkpoint-30" / "trainer_state.json").exists()
    return where, got, polls


def test_an_hf_output_dir_with_tensorboard_files_is_one_panel(hf_tensorboard):
    got = hf_tensorboard[1]
    added = [e for e in got if isinstance(e, RunAdded)]
    assert {e.run for e in added} == {0}  # one panel, never a second
    first, last = added[0], added[-1]
    assert first.info.label.startswith("out/runs/") and first.gen == 0  # before the first checkpoint
    assert last.info.label == "out" and last.gen == 1 and last.info.total_steps == 30  # taken over
    steps = [s.step for e in got if isinstance(e, StepBlock) and e.gen == 1 for s in e.steps()]
    assert steps == list(range(2, 31, 2))
    said = [e.message for e in got if isinstance(e, Notice)]
    assert any(m.startswith("out/runs/") and m.endswith("is shown as hf run out: the same run") for m in said)


def test_a_finished_hf_run_says_so_only_at_its_end(hf_tensorboard):
    _, got, polls = hf_tensorboard
    before_end = dict(polls)[28]  # the events seen by the poll at step 28
    assert not any(s is RunStatus.DONE for _, s, _ in _statuses(got[:before_end]))
    assert _statuses(got)[-1] == (1, RunStatus.DONE, "finished: step 30 of 30")


def test_two_tensorboard_runs_in_one_output_dir_then_its_checkpoint(hf_tensorboard, tmp_path):
    """The same output_dir trained twice before any checkpoint (two `runs/` folders, two panels):
    its checkpoint takes over the first panel, and the second stops, saying where it is shown."""
    out = hf_tensorboard[0] / "out"
    events = next((out / "runs").iterdir())
    for name in ("Dec01_first", "Dec02_second"):
        shutil.copytree(events, tmp_path / "out" / "runs" / name)
    got: list = []
    src = WatchSource(tmp_path, got.extend)
    src.poll_once()
    assert {e.run for e in got if isinstance(e, RunAdded)} == {0, 1}
    shutil.copytree(out / "checkpoint-30", tmp_path / "out" / "checkpoint-30")
    src.poll_once()
    assert [(e.run, e.gen, e.info.label) for e in got if isinstance(e, RunAdded)][-1] == (0, 1, "out")
    assert _statuses(got, 1)[-1] == (0, RunStatus.STOPPED, "shown as hf run out")
    assert _statuses(got, 0)[-1] == (1, RunStatus.DONE, "finished: step 30 of 30")


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"global_step": "30"}, ""),  # a step that is text: no step, so no end by steps
        ({"max_steps": True}, ""),
        ({"stateful_callbacks": {"TrainerControl": [{"args": {"should_training_stop": True}}]}}, "stopped"),
        ({"stateful_callbacks": {"TrainerControl": "\x1b[2J"}}, ""),
        ({"log_history": [{"train_runtime": "\x1b]0;x\x07"}]}, "finished: step 10 of 30"),
    ],
)
def test_a_state_with_broken_values_is_never_called_finished_on_a_guess(hf_tensorboard, change, said):
    state = json.loads((hf_tensorboard[0] / "out" / "checkpoint-30" / "trainer_state.json").read_text())
    state.update({"global_step": 10, "stateful_callbacks": {}, **change})
    told = finished(state)
    assert said in told and (told == "") == (said == "") and "\x1b" not in told


def test_export_reads_the_output_dir_once_and_says_what_took_what(hf_tensorboard):
    where = hf_tensorboard[0]
    logs = input_files(where)
    assert [(log.reader.name, log.path) for log in logs] == [("hf", where / "out")]
    assert what_was_read(where, logs) == f"{where}: 1 hf run (with 1 tensorboard run in it)"
    out = io.StringIO()
    assert export_csv(logs, out, ReadOptions(root=where)).rows == 15 == len(out.getvalue().splitlines()) - 1


def test_an_early_stopped_hf_run_is_finished_where_it_stopped(tmp_path):
    """EarlyStoppingCallback stops at the second evaluation (no improvement counts under a
    threshold of 1e9): the checkpoint saved then says the Trainer was told to stop."""
    transformers = pytest.importorskip("transformers")
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"), report_to=[], max_steps=60, per_device_train_batch_size=4,
        learning_rate=0.05, logging_steps=5, eval_strategy="steps", eval_steps=10, save_steps=10,
        load_best_model_at_end=True, metric_for_best_model="eval_loss", greater_is_better=False,
        use_cpu=True, disable_tqdm=True,
    )  # fmt: skip
    stop = transformers.EarlyStoppingCallback(early_stopping_patience=1, early_stopping_threshold=1e9)
    rows = regression_rows(200, 0)
    trainer = transformers.Trainer(
        model=Regressor(), args=args, train_dataset=rows, eval_dataset=rows[:40], callbacks=[stop]
    )
    trainer.train()
    got: list = []
    src = WatchSource(tmp_path, got.extend)
    src.poll_once()
    assert _statuses(got)[-1] == (0, RunStatus.DONE, "finished: stopped at step 20 of 60")
    mid = json.loads((tmp_path / "out" / "checkpoint-10" / "trainer_state.json").read_text())
    assert finished(mid) == ""  # the first checkpoint: still training
    trainer.save_state()  # the output_dir's own state, with the closing summary
    summary = json.loads((tmp_path / "out" / "trainer_state.json").read_text())
    assert finished(summary).startswith("finished: step 20 of 60 in ")


def _export(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "lrtui", "export", *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, check=False)


@pytest.fixture(scope="module")
def tb_runs(tmp_path_factory) -> Path:
    """Two TensorBoard runs written by torch's `SummaryWriter`: lr, loss, and an accuracy."""
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    where = tmp_path_factory.mktemp("tb")
    for name in ("a", "b"):
        with SummaryWriter(str(where / name)) as writer:
            for step in range(1, 11):
                writer.add_scalar("lr", 0.1 / step, step)
                writer.add_scalar("loss", 1.0 / step, step)
                writer.add_scalar("val/acc", step / 10, step)
    return where


def test_export_with_a_tag_no_run_logs_names_those_they_do(tb_runs, tmp_path):
    done = _export(str(tb_runs), "--csv", str(tmp_path / "out.csv"), "--tag", "nosuchtag")
    said = done.stderr.splitlines()
    assert done.returncode == 0 and said[0] == f"lrtui: wrote 20 rows from 2 runs to {tmp_path / 'out.csv'}"
    assert said[-1] == "lrtui: warning: no run logs --tag nosuchtag; the runs log loss, lr, val/acc"
    kept = _export(str(tb_runs), "--csv", "-", "--tag", "val/acc")
    assert kept.returncode == 0 and "no run logs" not in kept.stderr
    assert kept.stdout.splitlines()[-1].endswith(",1.0")  # the tag's column, filled


def test_export_with_a_loss_tag_no_run_logs_fails_saying_why_and_writes_nothing(tb_runs, tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("an earlier export\n")
    done = _export(str(tb_runs), "--csv", str(out), "--loss-tag", "train/*")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "lrtui: error: no run logs --loss-tag train/*; the runs log loss, lr, val/acc; "
        f"nothing written to {out}"
    ]
    assert out.read_text() == "an earlier export\n"  # what was there is kept
    assert not list(tmp_path.glob(".out.csv.*"))  # and no temporary file is left
    device = _export(str(tb_runs), "--csv", "/dev/null", "--loss-tag", "train/*")  # written as it went
    assert device.returncode == 1 and "nothing written" not in device.stderr
    assert (
        device.stderr.splitlines()[-1]
        == "lrtui: error: no run logs --loss-tag train/*; the runs log loss, lr, val/acc"
    )


def test_watch_with_a_loss_tag_no_run_logs_says_which_they_do(tb_runs):
    got: list = []
    WatchSource(tb_runs, got.extend, loss_tag="train/*").poll_once()
    said = [e.message for e in got if isinstance(e, Notice)]
    assert said[-1] == "no run logs --loss-tag train/*; the runs log loss, lr, val/acc; waiting for it"
    got.clear()
    WatchSource(tb_runs, got.extend, loss_tag="lo*").poll_once()
    assert not any(isinstance(e, Notice) and "no run logs" in e.message for e in got)
    assert len([e for e in got if isinstance(e, StepBlock)]) == 2


def _quits(term: Terminal) -> None:
    term.press("q")
    assert term.exit_status(timeout=15) == 0, term.screen()
    assert term.restored() and term.leftovers() == []


@pytest.mark.journey
@pytest.mark.skipif(not have_tmux(), reason="journeys run in tmux: apt-get install tmux")
def test_journey_a_finished_hf_output_dir_and_a_mistyped_loss_tag(hf_tensorboard, tb_runs):
    """`lrtui watch` in a real terminal: the Trainer's output_dir (checkpoints and TensorBoard
    files) is one panel, done at step 30 of 30; then TensorBoard runs watched with a
    `--loss-tag` none of them logs say so under the title bar."""
    with Terminal(lrtui_command("watch", str(hf_tensorboard[0])), 120, 40) as term:
        screen = term.wait_for(lambda s: " finished " in s.splitlines()[0], timeout=60)
        assert "1 out  hf trainer" in screen and "step 30/30" in screen and " done " in screen
        assert "out/runs/" not in screen and "━ 2 " not in screen and "─ 2 " not in screen
        _quits(term)
    with Terminal(lrtui_command("watch", str(tb_runs), "--loss-tag", "train/*"), 120, 30) as term:
        term.wait_for("no run logs --loss-tag train/*; the runs log loss, lr, val/acc", timeout=60)
        _quits(term)
