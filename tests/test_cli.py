"""Bad input: exit code 2, one last line `lrtui: error: ...`, no traceback, no training."""

import subprocess
import sys

import pytest
import torch

from lrtui.commands.main import main


def _error(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(["--headless", *argv])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing trained, nothing printed
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("lrtui: error: ")
    assert "Traceback" not in captured.err
    return last


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["-s", "Bogus(a=1)"], "unknown scheduler 'Bogus'"),
        (["-s", "StepLR(step_size=1, foo=2)"], "has no parameter 'foo'"),
        (["-s", "StepLR(step_size='x')"], "is not int"),
        (["-s", "StepLR"], "needs step_size"),
        (["-s", "print('hi')"], "keyword arguments only"),
        (["-s", "os.system(cmd='x')"], "plain name"),
        (["-s", "StepLR(step_size=1, gamma=-2)"], "gamma must be > 0"),
        (
            ["-s", "OneCycleLR(max_lr=0.1, total_steps=5)@batch", "--epochs", "2", "--batches", "10"],
            "smaller than the 20 steps",
        ),
        (["--lr", "-0.1"], "--lr must be a number > 0"),
        (["--lr", "fast"], "--lr must be a number > 0"),
        (["--epochs", "-3"], "--epochs must be a whole number >= 1"),
        (["--batches", "many"], "--batches must be a whole number >= 1"),
        (["--batch-size", "0"], "--batch-size must be a whole number >= 1"),
        (["--optimizer", "Lion"], "unknown optimizer 'Lion'"),
        (["--optimizer", "SGD(lr=1)"], "use --lr"),
        (["--optimizer", "SGD(momentum=-1)"], "must not be negative"),
        (["--device", "tpu"], "--device must be auto, cpu, cuda"),
        (["--preset", "best"], "--preset must be one of seed, all"),
        (["--config", "/nonexistent/x.toml"], "no such file"),
        (["--loss-threshold", "low"], "--loss-threshold must be a number > 0"),
    ],
)
def test_bad_input_is_one_line(capsys, argv, expected):
    assert expected in _error(capsys, *argv)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda(capsys):
    assert "CUDA is not available" in _error(capsys, "--device", "cuda")


def test_bad_config_files(capsys, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("epochs = [\n")
    assert "not valid TOML" in _error(capsys, "--config", str(broken))
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('epochs = "ten"\n')
    assert "epochs must be a whole number" in _error(capsys, "--config", str(wrong))
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("epohcs = 3\n")
    assert "unknown setting 'epohcs'" in _error(capsys, "--config", str(unknown))
    bad_run = tmp_path / "bad_run.toml"
    bad_run.write_text('[[run]]\nscheduler = "StepLR(step_size=0)"\n')
    assert "step_size must be > 0" in _error(capsys, "--config", str(bad_run))


def test_config_file_holds_the_same_settings(capsys, tmp_path):
    cfg = tmp_path / "exp.toml"
    cfg.write_text(
        'epochs = 3\nbatches = 2\nlr = 0.05\noptimizer = "SGD(momentum=0.9)"\nseed = 4\n'
        '[[run]]\nscheduler = "StepLR(step_size=1, gamma=0.5)"\nname = "halving"\n'
        '[[run]]\nscheduler = "ExponentialLR(gamma=0.9)"\ninterval = "batch"\n'
    )
    assert main(["--headless", "--no-summary", "--config", str(cfg), "--epochs", "2"]) == 0  # flags win
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "halving",
        "Epoch 1, Learning Rate 0.025000",
        "Epoch 2, Learning Rate 0.012500",
        "ExponentialLR",
        f"Epoch 1, Learning Rate {0.05 * 0.9**2:.6f}",
        f"Epoch 2, Learning Rate {0.05 * 0.9**4:.6f}",
    ]


def test_list_schedulers_names_every_scheduler(capsys):
    from lrtui.schedule.registry import registry

    assert main(["--list-schedulers"]) == 0
    out = capsys.readouterr().out
    for name, info in registry().items():
        assert f"{name}(" in out
        for p in info.params:
            assert p.name in out
    assert "linear_warmup(steps=5)" in out


def test_python_dash_m_and_console_script_entry():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lrtui",
            "--headless",
            "-s",
            "StepLR(step_size=1)",
            "--epochs",
            "1",
            "--batches",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    table, summary = done.stdout.split("\n\n")
    assert table.splitlines() == ["StepLR", "Epoch 1, Learning Rate 0.010000"]
    assert summary.startswith("Leaderboard")


def test_lrtui_starts_itself_from_a_folder_holding_a_clone_named_lrtui(tmp_path):
    """The live app's trainer and each `lrtui serve` tab are lrtui started anew (`spec.launch`).
    From the folder a user cloned into (`~/lrtui` beside them), `python -m lrtui` imports that
    folder in place of the installed package; lrtui's own way does not."""
    from lrtui.spec.launch import self_argv

    (tmp_path / "lrtui").mkdir()
    (tmp_path / "lrtui" / "README.md").write_text("a clone\n")
    mine = subprocess.run(self_argv("--version"), cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert mine.returncode == 0 and mine.stdout.startswith("lrtui "), mine.stderr
    plain = [sys.executable, "-m", "lrtui", "--version"]
    assert subprocess.run(plain, cwd=tmp_path, capture_output=True, text=True, timeout=60).returncode != 0


@pytest.mark.parametrize("computing", [True, False])
def test_leaving_does_not_finalize_python_under_a_computing_thread(computing):
    """`q` in an attached app while its forecast refitted aborted the process ("terminate called
    without an active exception", exit 134): Python finalized while the forecast's thread was in
    native code. With one of lrtui's computing threads alive, lrtui leaves without finalizing
    (an atexit handler never runs), with the exit code asked; without one, as Python does."""
    name = "lrtui-forecast" if computing else "someone-else"
    code = (
        "import atexit, threading, time\n"
        "from lrtui.commands.main import _leave\n"
        "atexit.register(lambda: print('finalized', flush=True))\n"
        f"threading.Thread(target=time.sleep, args=(30,), name={name!r}, daemon=True).start()\n"
        "_leave(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and ("finalized" in done.stdout) is not computing, done.stderr
