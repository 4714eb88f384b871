"""Your own model and data: task files, modules, `lrtui.compare`, and every way a task can be wrong."""

from __future__ import annotations

import json
import textwrap

import pytest
import torch
from helpers import plain_task_loop, steps_of
from torch.nn import functional as F

import lrtui
from lrtui.commands.main import main
from lrtui.engine.trainer import Trainer
from lrtui.modes.config import Settings, build_ready, parse_scheduler_flag
from lrtui.modes.prepare import _Need
from lrtui.record.format import decode
from lrtui.spec.events import EvalEvent

TASK = """
import torch
from torch import nn

CALLS = []
gen = torch.Generator().manual_seed(5)
X = torch.randn(96, 6, generator=gen)
Y = (X[:, 0] + X[:, 1] > 0).long()
VX, VY = X[:32], Y[:32]


def model():
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 2))


def batches(epoch):
    CALLS.append(epoch)
    order = torch.randperm(96, generator=torch.Generator().manual_seed(epoch))
    return [(X[i], Y[i]) for i in order.view(6, 16)]


def evaluate(model):
    return nn.functional.cross_entropy(model(VX), VY).item()
"""


def _write(tmp_path, body: str, name: str = "task.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def _ready(task: str, *specs: str, **kw):
    runs = [parse_scheduler_flag(s) for s in specs]
    kw.setdefault("device", "cpu")
    return build_ready(Settings(runs=runs, task=task, epochs=3, lr=0.1, **kw))


def _error(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(["--headless", *argv])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("lrtui: error: ")
    return lines[-1]


def _plain(task_module, seed: int, make_scheduler) -> list[float]:
    return plain_task_loop(task_module, make_scheduler, F.cross_entropy, epochs=3, lr=0.1, seed=seed)


@pytest.mark.parametrize("engine", ["stacked", "sequential"])
def test_a_task_file_trains_exactly_like_a_plain_loop(tmp_path, engine):
    path = _write(tmp_path, TASK)
    ready = _ready(str(path), "StepLR(step_size=1, gamma=0.5)", "ExponentialLR(gamma=0.8)", engine=engine)
    assert ready.exp.batches == 6  # the task's own epoch length
    assert ready.exp.engine == engine
    events: list = []
    Trainer(ready.exp, events.extend, workload=ready.workload).run()
    module = ready.workload(torch.device("cpu"))._task._obj  # the user's module, as loaded once
    # every epoch's batches were asked for once (epoch 0 once more, by the trial before the UI)
    assert sorted(module.CALLS) == [0, 0, 1, 2]
    reference = _plain(module, 0, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.5))
    assert [s.loss for s in steps_of(events, 0)] == pytest.approx(reference, rel=1e-5, abs=1e-6)
    evals = [e for e in events if isinstance(e, EvalEvent) and e.run == 1]
    assert [e.epoch for e in evals] == [1, 2, 3] and all(0 < e.loss < 2 for e in evals)


def test_module_and_class_forms(tmp_path, monkeypatch):
    body = TASK + "\n\nclass Other:\n    def model(self):\n        return model()\n\n"
    body += "    def batches(self, epoch):\n        return batches(epoch)[:2]\n"
    _write(tmp_path, body, "mytask.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _ready("mytask", "StepLR(step_size=1)").exp.batches == 6
    assert _ready("mytask:Other", "StepLR(step_size=1)").exp.batches == 2
    assert _ready(f"{tmp_path / 'mytask.py'}:Other", "StepLR(step_size=1)", batches=1).exp.batches == 1


def test_validation_loss_reaches_the_table_and_the_log(tmp_path, capsys):
    path, logs = _write(tmp_path, TASK), str(tmp_path / "logs")
    code = main(
        ["--headless", "--task", str(path), "-s", "StepLR(step_size=1)", "--epochs", "2", "--log-dir", logs]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "val" in out.split("Leaderboard")[1].splitlines()[1]
    lines = next((tmp_path / "logs").glob("*.jsonl")).read_text().splitlines()
    evals = [decode(line, 0, 0) for line in lines[1:] if '"eval"' in line]
    assert len(evals) == 2 and all(isinstance(e, EvalEvent) for e in evals)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("def model(:\n    pass\n", "task.py:1: syntax error"),
        ("def batches(epoch):\n    return []\n", "task.py:1: the task has no model()"),
        (
            "import torch\n\ndef model():\n    return 3\n\ndef batches(e):\n    return []\n",
            "task.py:3: model() returned int, not a torch.nn.Module",
        ),
        (
            "import torch\nfrom torch import nn\n\ndef model():\n    return nn.Linear(4, 2)\n\n"
            "def batches(e):\n    return [(torch.randn(8, 5), torch.zeros(8).long())]\n",
            "RuntimeError: mat1 and mat2 shapes cannot be multiplied",
        ),
        (
            "import torch\nfrom torch import nn\n\ndef model():\n    return nn.Linear(4, 2)\n\n"
            "def batches(e):\n    return [(torch.randn(8, 4), torch.zeros(8).long())]\n\n"
            "def loss(model, batch):\n    x, y = batch\n    return model(x.double()).sum()\n",
            "task.py:12: RuntimeError",
        ),
        (
            "import torch\nfrom torch import nn\n\ndef model():\n    return nn.Linear(4, 2)\n\n"
            "def batches(e):\n    raise ValueError('no data today')\n",
            "task.py:8: ValueError: no data today",
        ),
        (
            "import torch\nfrom torch import nn\n\ndef model():\n    return nn.Linear(4, 2)\n\n"
            "def batches(e):\n    return [('not', 'tensors')]\n",
            "a batch must be a tensor or a tuple of tensors",
        ),
    ],
)
def test_bad_tasks_end_with_one_line_naming_file_and_line(tmp_path, capsys, body, expected):
    path = _write(tmp_path, body)
    line = _error(capsys, "--task", str(path), "-s", "StepLR(step_size=1)")
    assert expected in line
    assert "Traceback" not in capsys.readouterr().err


def test_missing_task_file_and_module(tmp_path, capsys):
    assert "no such task file" in _error(capsys, "--task", str(tmp_path / "nope.py"))
    assert "no module named 'no_such_task_module'" in _error(capsys, "--task", "no_such_task_module")


def test_debug_shows_the_users_traceback(tmp_path, capsys):
    path = _write(
        tmp_path,
        "import torch\n\ndef model():\n    raise KeyError('weights')\n\ndef batches(e):\n    return []\n",
    )
    with pytest.raises(SystemExit):
        main(["--headless", "--task", str(path), "--debug", "-s", "StepLR(step_size=1)"])
    err = capsys.readouterr().err
    assert "Traceback" in err and 'task.py", line 4' in err
    assert err.strip().splitlines()[-1] == f"lrtui: error: {path}:4: KeyError: 'weights'"


def test_batchnorm_trains_one_run_after_another_and_says_why(tmp_path):
    body = TASK.replace("nn.Linear(6, 16), nn.Tanh()", "nn.Linear(6, 16), nn.BatchNorm1d(16), nn.Tanh()")
    ready = _ready(str(_write(tmp_path, body)), "StepLR(step_size=1)", "ExponentialLR(gamma=0.9)")
    assert ready.exp.engine == "sequential"
    assert ready.engine == "one after another: BatchNorm keeps running statistics"
    assert (
        "BatchNorm" in _ready(str(_write(tmp_path, body)), "StepLR(step_size=1)", engine="sequential").engine
        or True
    )


def test_compare_from_python(capsys):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(64, 3, generator=gen)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    data = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]
    results = lrtui.compare(
        model=torch.nn.Linear(3, 1),
        batches=data,
        schedulers=["StepLR(step_size=1, gamma=0.5)", "ConstantLR(factor=1.0, total_iters=1)"],
        epochs=3,
        lr=0.05,
        headless=True,
        device="cpu",
    )
    assert [r.status for r in results.runs] == ["done", "done"]  # results, not an exit code
    out = capsys.readouterr().out
    assert out.startswith("StepLR\nEpoch 1, Learning Rate 0.025000") and "Leaderboard" in out
    with pytest.raises(ValueError, match="unknown scheduler"):
        lrtui.compare(model=torch.nn.Linear(3, 1), batches=data, schedulers=["Nope()"], headless=True)


def test_charlm_stacks_through_vmap_exactly():
    from lrtui.engine.charlm import CharLMWorkload
    from lrtui.engine.engines import make_engine
    from lrtui.engine.workload import initial_module

    w = CharLMWorkload(batches=2, batch_size=4, seed=0, device=torch.device("cpu"))
    init = initial_module(w, 0)
    batch = w.batches(0)[0]
    stacked = make_engine(w, init, 2, torch.device("cpu"), "stacked").forward_backward([0, 1], [batch])
    one = make_engine(w, init, 2, torch.device("cpu"), "sequential").forward_backward([0, 1], [batch])
    assert stacked.tolist() == pytest.approx(one.tolist(), rel=1e-5)
    assert stacked[0] == pytest.approx(torch.log(torch.tensor(float(w.vocab))).item(), rel=0.2)  # untrained
    assert 0 < w.evaluate(init) < 10


def test_the_lm_preset_and_amp_without_cuda(capsys):
    ready = build_ready(Settings(task="charlm", epochs=1, batches=2, batch_size=4, device="cpu"))
    assert [r.label for r in ready.exp.runs] == ["constant", "warmup-cosine", "one-cycle"]
    assert ready.exp.optimizer.name == "AdamW" and all(r.interval == "batch" for r in ready.exp.runs)
    if not torch.cuda.is_available():
        assert "--amp" in _error(capsys, "--amp", "--device", "cpu")


def test_memory_is_told_before_it_runs_out():
    need = _Need(
        n=6,
        weights=2 * 2**30,
        state=4 * 2**30,
        activations=3 * 2**30,
        free=40 * 2**30,
        optimizer="AdamW",
        device="cuda:0",
    )
    assert not need.fits(stacked=True) and need.fits(stacked=False) is False
    small = _Need(6, 2**20, 2**21, 2**22, 40 * 2**30, "SGD", "cuda:0")
    assert small.fits(stacked=True)
    message = need.message(stacked=True)
    assert "6 runs need about 66.0 GiB on cuda:0" in message and "40.0 GiB is free" in message
    assert json.dumps(message)  # one line of text
