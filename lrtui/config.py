"""Turn command-line flags and a TOML file into one checked `ExperimentSpec`.

Precedence, lowest first: built-in defaults, the preset's own settings, the config file, flags.
Every problem becomes a `SpecError` naming the setting, so the CLI can print one line.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from lrtui.schedule.build import resolve_run
from lrtui.schedule.optimizers import check_optimizer, parse_optimizer
from lrtui.schedule.presets import all_preset, seed_preset
from lrtui.schedule.registry import default_interval
from lrtui.spec.choices import ENGINES, MODELS, PRESETS, TASKS
from lrtui.spec.errors import SpecError
from lrtui.spec.experiment import INTERVALS, ExperimentSpec, RunSpec
from lrtui.spec.parse import parse_call, parse_run
from lrtui.spec.settings import RunRequest, Settings, parse_scheduler_flag
from lrtui.spec.values import choice, count, device_name, positive

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_ALL_DEFAULTS = {"epochs": 30, "batches": 200, "task": "teacher"}


# ---- the config file ----------------------------------------------------------------------
_FILE_KEYS = {
    "preset",
    "epochs",
    "batches",
    "batch_size",
    "lr",
    "optimizer",
    "model",
    "task",
    "device",
    "seed",
    "engine",
    "run",
    "schedulers",
}


def load_config(path: str) -> Settings:
    file = Path(path)
    where = f"config {path}"
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise SpecError(f"{where}: is a directory, not a TOML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{where}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{where}: not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - _FILE_KEYS)
    if unknown:
        raise SpecError(f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(_FILE_KEYS))})")
    s = Settings()
    try:
        if "preset" in raw:
            s.preset = choice(raw["preset"], "preset", PRESETS)
        for key in ("epochs", "batches", "batch_size"):
            if key in raw:
                setattr(s, key, count(raw[key], key))
        if "seed" in raw:
            s.seed = count(raw["seed"], "seed", 0)
        if "lr" in raw:
            s.lr = positive(raw["lr"], "lr")
        if "optimizer" in raw:
            s.optimizer = parse_optimizer(_text(raw["optimizer"], "optimizer"))
        if "model" in raw:
            s.model = choice(raw["model"], "model", list(MODELS))
        if "task" in raw:
            s.task = choice(raw["task"], "task", list(TASKS))
        if "device" in raw:
            s.device = device_name(raw["device"], "device")
        if "engine" in raw:
            s.engine = choice(raw["engine"], "engine", ENGINES)
        for text in _list(raw.get("schedulers", []), "schedulers"):
            call, interval = parse_run(_text(text, "schedulers entry"))
            s.runs.append(RunRequest(call, interval))
        for i, table in enumerate(_list(raw.get("run", []), "run"), 1):
            s.runs.append(_run_table(table, i))
    except SpecError as exc:
        raise SpecError(f"{where}: {exc}") from None
    return s


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise SpecError(f"{name} must be a string, not {value!r}")
    return value


def _list(value: object, name: str) -> list:
    if not isinstance(value, list):
        raise SpecError(f"{name} must be a list, not {value!r}")
    return value


def _run_table(table: object, i: int) -> RunRequest:
    if not isinstance(table, dict):
        raise SpecError(f"[[run]] #{i} must be a table")
    extra = sorted(set(table) - {"scheduler", "interval", "name"})
    if extra:
        raise SpecError(f"[[run]] #{i}: unknown key {extra[0]!r} (known: scheduler, interval, name)")
    if "scheduler" not in table:
        raise SpecError(f'[[run]] #{i} needs scheduler = "Name(...)"')
    call, interval = parse_run(_text(table["scheduler"], f"[[run]] #{i} scheduler"))
    if "interval" in table:
        interval = choice(table["interval"], f"[[run]] #{i} interval", INTERVALS)  # type: ignore[assignment]
    label = _text(table["name"], f"[[run]] #{i} name") if "name" in table else None
    return RunRequest(call, interval, label)


# ---- putting it together ------------------------------------------------------------------
def build_experiment(flags: Settings, config_path: str | None = None) -> ExperimentSpec:
    """Merge defaults, preset, config and flags; check everything before any training."""
    user = flags.over(load_config(config_path)) if config_path else flags
    preset = user.preset or (None if user.runs else "seed")
    base = ExperimentSpec(runs=())
    stride = 1
    preset_runs: list[RunRequest] = []
    if preset == "seed":
        p = seed_preset()
        stride = int(p.settings["epoch_label_stride"])  # type: ignore[arg-type]
        base = replace(base, epochs=int(p.settings["epochs"]))  # type: ignore[arg-type]
        preset_runs = [RunRequest(c, i) for c, i in p.runs]
    elif preset == "all":
        base = replace(base, **_ALL_DEFAULTS)  # type: ignore[arg-type]
    if user.epochs is not None:
        stride = 1
    exp = replace(
        base,
        epochs=user.epochs if user.epochs is not None else base.epochs,
        batches=user.batches if user.batches is not None else base.batches,
        batch_size=user.batch_size or base.batch_size,
        lr=user.lr if user.lr is not None else base.lr,
        optimizer=check_optimizer(user.optimizer) if user.optimizer else base.optimizer,
        model=user.model or base.model,
        task=user.task or base.task,
        device=user.device or base.device,
        seed=user.seed if user.seed is not None else base.seed,
        engine=user.engine or base.engine,
        epoch_label_stride=stride,
    )
    if preset == "all":
        preset_runs = [RunRequest(c, i) for c, i in all_preset(exp.epochs, exp.batches, exp.lr).runs]
    requests = preset_runs + user.runs
    if not requests:
        raise SpecError("no schedulers to compare (use --scheduler or --preset)")
    _check_device(exp.device)
    labels = _labels(requests)
    runs = []
    for req, label in zip(requests, labels, strict=True):
        interval = req.interval or default_interval(req.call)
        runs.append(resolve_run(RunSpec(req.call, interval, label), exp))
    return replace(exp, runs=tuple(runs))


def _labels(requests: list[RunRequest]) -> list[str]:
    """Each run's name: as given, else the scheduler's; repeats get #2, #3, ..."""
    wanted = [r.label or r.call.name for r in requests]
    seen: dict[str, int] = {}
    out = []
    for name in wanted:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return out


def _check_device(device: str) -> None:
    if not device.startswith("cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        raise SpecError(
            f"--device {device}: CUDA is not available on this machine (use --device cpu or auto)"
        )
    _, _, index = device.partition(":")
    if index and int(index) >= torch.cuda.device_count():
        raise SpecError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")


__all__ = ["RunRequest", "Settings", "build_experiment", "parse_call", "parse_scheduler_flag"]
