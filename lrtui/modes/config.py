"""Turn command-line flags and a TOML file into one checked `ExperimentSpec`.

Precedence, lowest first: built-in defaults, the preset's own settings, the config file, flags.
Every problem becomes a `SpecError` naming the setting, so the CLI can print one line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from lrtui.engine.kinds import task_kind
from lrtui.engine.tasks import UserTask
from lrtui.modes.prepare import Ready, prepare
from lrtui.schedule.build import resolve_run
from lrtui.schedule.optimizers import check_optimizer, parse_optimizer
from lrtui.schedule.presets import all_preset, lm_preset, optimizers_preset, seed_preset
from lrtui.schedule.registry import default_interval
from lrtui.spec.cadence import cadence
from lrtui.spec.choices import ENGINES, MODELS, PRESETS
from lrtui.spec.errors import SpecError
from lrtui.spec.experiment import CONSTANT_SCHEDULE, INTERVALS, Call, ExperimentSpec, RunSpec, with_seeds
from lrtui.spec.parse import parse_call, parse_run_parts
from lrtui.spec.settings import RunRequest, Settings, parse_scheduler_flag
from lrtui.spec.text import clean
from lrtui.spec.values import choice, count, device_name, flag, positive, task_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_PRESET_DEFAULTS: dict[str, dict[str, object]] = {
    "all": {"epochs": 30, "batches": 200, "task": "teacher"},
    "lm": {"epochs": 6, "batches": 100, "task": "charlm", "optimizer": Call("AdamW"), "lr": 0.01},
    "optimizers": {"epochs": 6, "batches": 100, "task": "charlm", "optimizer": Call("AdamW"), "lr": 0.01},
}


# ---- the config file ----------------------------------------------------------------------
# Every setting a config file takes, with the check its value passes (the flag's own).
_CHECKS: dict[str, Callable[[object, str], object]] = {
    "preset": lambda v, n: choice(v, n, PRESETS),
    "epochs": count,
    "batches": count,
    "batch_size": count,
    "seed": lambda v, n: count(v, n, 0),
    "seeds": count,
    "lr": positive,
    "optimizer": lambda v, n: parse_optimizer(_text(v, n)),
    "model": lambda v, n: choice(v, n, list(MODELS)),
    "task": task_name,
    "device": device_name,
    "engine": lambda v, n: choice(v, n, ENGINES),
    "amp": flag,
    "no_summary": flag,
    "log_dir": lambda v, n: _text(v, n),
    "loss_threshold": positive,
    "checkpoint_every": cadence,
}
_FILE_KEYS = {*_CHECKS, "run", "schedulers"}
_RUN_KEYS = ("scheduler", "optimizer", "interval", "name")


MAX_CONFIG_BYTES = 1 << 20


def _read_config(path: str, where: str) -> dict:
    """The file's TOML: a regular file (never a device or a pipe, which could block or never
    end), at most a megabyte."""
    file = Path(path)
    try:
        if file.is_dir():
            raise SpecError(f"{where}: is a directory, not a TOML file")
        if not file.exists():
            raise SpecError(f"{where}: no such file")
        if not file.is_file():
            raise SpecError(f"{where}: not a regular file")
        with file.open("rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise SpecError(f"{where}: larger than {MAX_CONFIG_BYTES // 1024} KiB; not a config file")
        return tomllib.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{where}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{where}: not valid TOML: {exc}") from None
    except (RecursionError, MemoryError):
        raise SpecError(f"{where}: nested too deeply") from None


def load_config(path: str) -> Settings:
    where = f"config {clean(path, 200)}"
    raw = _read_config(path, where)
    unknown = sorted(set(raw) - _FILE_KEYS)
    if unknown:
        raise SpecError(f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(_FILE_KEYS))})")
    s = Settings()
    try:
        for key, check in _CHECKS.items():
            if key in raw:
                setattr(s, key, check(raw[key], key))
        for text in _list(raw.get("schedulers", []), "schedulers"):
            s.runs.append(parse_scheduler_flag(_text(text, "schedulers entry")))
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
    extra = sorted(set(table) - set(_RUN_KEYS))
    if extra:
        raise SpecError(f"[[run]] #{i}: unknown key {extra[0]!r} (known: {', '.join(_RUN_KEYS)})")
    if "scheduler" not in table and "optimizer" not in table:
        raise SpecError(f'[[run]] #{i} needs scheduler = "Name(...)" or optimizer = "Name(...)"')
    optimizer, call, interval = None, None, None
    if "scheduler" in table:
        optimizer, call, interval = parse_run_parts(_text(table["scheduler"], f"[[run]] #{i} scheduler"))
    if "optimizer" in table:
        if optimizer is not None:
            raise SpecError(f"[[run]] #{i}: the optimizer is given twice (in scheduler and optimizer)")
        optimizer = parse_call(_text(table["optimizer"], f"[[run]] #{i} optimizer"), "optimizer spec")
    if "interval" in table:
        interval = choice(table["interval"], f"[[run]] #{i} interval", INTERVALS)  # type: ignore[assignment]
    label = clean(_text(table["name"], f"[[run]] #{i} name"), 120) if "name" in table else None
    return RunRequest(call, interval, label, optimizer)


# ---- putting it together ------------------------------------------------------------------
@dataclass
class Merged:
    """Defaults, preset, config and flags merged; runs not yet resolved (a user task's epoch
    length, which OneCycleLR and the presets depend on, is known only once it is loaded)."""

    exp: ExperimentSpec
    preset: str | None
    requests: list[RunRequest]
    batches_given: bool
    user: Settings  # what the user set, merged (log_dir, loss_threshold, ... for the command)

    def all_requests(self, exp: ExperimentSpec) -> list[RunRequest]:
        if self.preset == "all":
            preset = [RunRequest(c, i) for c, i in all_preset(exp.epochs, exp.batches, exp.lr).runs]
        elif self.preset == "lm":
            preset = [RunRequest(c, i, label) for c, i, label in lm_preset(exp.epochs * exp.batches, exp.lr)]
        elif self.preset == "optimizers":
            runs = optimizers_preset(exp.epochs * exp.batches, exp.lr)
            preset = [RunRequest(c, i, label, o) for o, c, i, label in runs]
        elif self.preset == "seed":
            preset = [RunRequest(c, i) for c, i in seed_preset().runs]
        else:
            preset = []
        return preset + self.requests


def merge(flags: Settings, config_path: str | None = None, default_task: str | None = None) -> Merged:
    """Merge defaults, the preset's settings, the config file and flags (flags win)."""
    user = flags.over(load_config(config_path)) if config_path else flags
    task = user.task or default_task
    preset = user.preset or (None if user.runs else (task_kind(task).preset if task else "seed"))
    defaults = seed_preset().settings if preset == "seed" else _PRESET_DEFAULTS.get(preset or "", {})
    base = replace(ExperimentSpec(runs=()), **defaults)  # type: ignore[arg-type]
    stride = base.epoch_label_stride if user.epochs is None else 1  # the tutorial labels 1, 11, 21, ...
    exp = replace(
        base,
        epochs=user.epochs if user.epochs is not None else base.epochs,
        batches=user.batches if user.batches is not None else base.batches,
        batch_size=user.batch_size or base.batch_size,
        lr=user.lr if user.lr is not None else base.lr,
        optimizer=check_optimizer(user.optimizer) if user.optimizer else base.optimizer,
        model=user.model or base.model,
        task=task or base.task,
        device=user.device or base.device,
        seed=user.seed if user.seed is not None else base.seed,
        seeds=count(user.seeds, "--seeds") if user.seeds is not None else 1,
        engine=user.engine or base.engine,
        amp=bool(user.amp),
        epoch_label_stride=stride,
    )
    merged = Merged(exp, preset, list(user.runs), user.batches is not None, user)
    limit = task_kind(exp.task).max_samples  # where the task makes all its data up front
    if limit is not None and exp.batches * exp.batch_size > limit:
        raise SpecError(
            f"--batches {exp.batches:,} x --batch-size {exp.batch_size:,} samples is more than the built-in "
            f"task makes ({limit:,}); use fewer or smaller batches"
        )
    if not merged.all_requests(exp):
        raise SpecError("no schedulers to compare (use --scheduler or --preset)")
    _check_device(exp.device, exp.amp)
    return merged


def resolve(merged: Merged, exp: ExperimentSpec, dry_run: bool = True) -> ExperimentSpec:
    """Check every run against the final experiment and fill in what lrtui derives (with
    `dry_run`, torch's own checks too: `check_runs`)."""
    requests = merged.all_requests(exp)
    runs = []
    for req, label in zip(requests, _labels(requests), strict=True):
        call = req.call or CONSTANT_SCHEDULE  # a bare optimizer: its LR as set, every step
        interval = req.interval or ("batch" if req.call is None else default_interval(call))
        run = RunSpec(call, interval, label, optimizer=req.optimizer)
        runs.append(resolve_run(run, exp, dry_run))
    return replace(exp, runs=with_seeds(tuple(runs), exp.seeds, exp.seed))


def build_experiment(flags: Settings, config_path: str | None = None) -> ExperimentSpec:
    """Merge and check everything before any training (built-in tasks: nothing is loaded)."""
    merged = merge(flags, config_path)
    return resolve(merged, merged.exp)


def build_ready(
    flags: Settings,
    config_path: str | None = None,
    default_task: str | None = None,
    task: UserTask | None = None,
    dry_run: bool = True,
) -> Ready:
    """Merge, load and try the task (or `task`, from Python), choose the engine, then check
    every run: a comparison ready to train, or a SpecError naming what is wrong."""
    merged = merge(flags, config_path, default_task)
    ready = prepare(merged.exp, len(merged.all_requests(merged.exp)), merged.batches_given, task)
    return replace(ready, exp=resolve(merged, ready.exp, dry_run), settings=merged.user, checked=dry_run)


def _labels(requests: list[RunRequest]) -> list[str]:
    """Each run's name: as given, else its optimizer's and scheduler's; repeats get #2, #3, ..."""
    wanted = [r.label or " · ".join(c.name for c in (r.optimizer, r.call) if c) for r in requests]
    seen: dict[str, int] = {}
    out = []
    for name in wanted:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return out


def _check_device(device: str, amp: bool = False) -> None:
    import torch

    if amp and (device == "cpu" or (device == "auto" and not torch.cuda.is_available())):
        raise SpecError("--amp: bf16 autocast is for CUDA devices (use --device cuda, or leave --amp out)")
    if not device.startswith("cuda"):
        return

    if not torch.cuda.is_available():
        raise SpecError(
            f"--device {device}: CUDA is not available on this machine (use --device cpu or auto)"
        )
    _, _, index = device.partition(":")
    if index and int(index) >= torch.cuda.device_count():
        raise SpecError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")


__all__ = ["RunRequest", "Settings", "build_experiment", "parse_call", "parse_scheduler_flag"]
