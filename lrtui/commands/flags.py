"""The flag groups the commands share, and the one reading of them into `Settings`.

`lrtui`, `lrtui plan` and `lrtui find` take the same experiment flags; each reads them with
`experiment_settings`, so a flag added here reaches every command that has it, and a value is
checked the same way wherever it is given (`--device` included).
"""

from __future__ import annotations

import argparse

from lrtui.commands.parser import checked, parsed
from lrtui.spec.cadence import cadence
from lrtui.spec.choices import ENGINES, MODELS, OPTIMIZER_ALIASES, PRESETS, TASKS
from lrtui.spec.experiment import MAX_SEEDS, Call
from lrtui.spec.settings import Settings, parse_scheduler_flag
from lrtui.spec.values import choice, count, device_name, positive, task_name


def _parse_optimizer(text: str) -> Call:
    from lrtui.schedule.optimizers import parse_optimizer  # torch: only once an optimizer is named

    return parse_optimizer(text)


def experiment_flags(p: argparse.ArgumentParser) -> None:
    """What to compare: schedules, run length, optimizer, model and data."""
    p.add_argument(
        "-s",
        "--scheduler",
        action="append",
        default=[],
        metavar="SPEC",
        type=parsed(parse_scheduler_flag, "--scheduler"),
        help="a run to compare: a scheduler, e.g. 'OneCycleLR(max_lr=0.1)@batch', optionally after "
        "its own optimizer, 'AdamW(lr=3e-3) | CosineAnnealingLR(T_max=10)', or an optimizer alone "
        "(repeatable)",
    )
    p.add_argument(
        "--preset",
        type=checked(lambda v, n: choice(v, n, PRESETS), "--preset"),
        help="seed: the tutorial's six schedulers (default); all: every torch scheduler; "
        "lm: a language model's schedules; optimizers: each run its own optimizer and schedule",
    )
    p.add_argument("--config", metavar="FILE.toml", help="read settings from a TOML file (flags win)")
    p.add_argument(
        "--epochs",
        type=checked(count, "--epochs"),
        help="epochs per run (seed: 11, labelled 1, 11, ..., 101)",
    )
    p.add_argument("--batches", type=checked(count, "--batches"), help="batches per epoch (default 1000)")
    p.add_argument("--batch-size", type=checked(count, "--batch-size"), help="samples per batch (default 32)")
    p.add_argument("--lr", type=checked(positive, "--lr"), help="initial learning rate (default 0.1)")
    p.add_argument(
        "--optimizer",
        type=parsed(_parse_optimizer, "--optimizer"),
        metavar="OPT",
        help=f"{', '.join(OPTIMIZER_ALIASES)} or a call such as 'AdamW(weight_decay=0.01)' (default sgd)",
    )
    p.add_argument(
        "--model",
        type=checked(lambda v, n: choice(v, n, list(MODELS)), "--model"),
        help=f"{', '.join(MODELS)} (default linear)",
    )
    p.add_argument(
        "--task",
        type=checked(task_name, "--task"),
        metavar="TASK",
        help=f"{', '.join(TASKS)}, or your own: FILE.py, package.module, or either with :name "
        "(default: teacher live, random with --headless; see README, 'Your own model')",
    )
    _seed_flags(p)


def _seed_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--seed", type=checked(lambda v, n: count(v, n, 0), "--seed"), help="random seed (default 0)"
    )
    seeds = (
        f"train every schedule under K seeds (initial weights and batch order), at most {MAX_SEEDS}; "
        "panels, charts and the leaderboard show each schedule's mean and spread"
    )
    p.add_argument("--seeds", type=checked(count, "--seeds"), metavar="K", help=seeds)


def device_flag(p: argparse.ArgumentParser) -> None:
    """`--device`, checked as it is read; whether the machine has it is `modes.config`'s check."""
    p.add_argument(
        "--device", type=checked(device_name, "--device"), help="auto (default), cpu, cuda or cuda:N"
    )


def run_flags(p: argparse.ArgumentParser) -> None:
    """Where and how the comparison runs, and what is recorded and shown."""
    device_flag(p)
    p.add_argument(
        "--log-dir", metavar="DIR", help="also record every run to DIR as events files (lrtui watch DIR)"
    )
    checkpoint_flag(p)
    p.add_argument(
        "--loss-threshold",
        type=checked(positive, "--loss-threshold"),
        metavar="LOSS",
        help="the leaderboard's 'steps to threshold' loss (default: the loss every healthy run reached)",
    )
    p.add_argument(
        "--no-summary", action="store_true", help="--headless: leave out the leaderboard after the table"
    )
    p.add_argument(
        "--json", action="store_true", help="--headless: the leaderboard as JSON, instead of the table"
    )
    p.add_argument("--amp", action="store_true", help="bf16 autocast on CUDA")
    debug_flag(p)
    p.add_argument(
        "--engine",
        type=checked(lambda v, n: choice(v, n, ENGINES), "--engine"),
        help="auto (default): train all runs in one batched pass when the model allows",
    )


def checkpoint_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--checkpoint-every",
        type=checked(cadence, "--checkpoint-every"),
        metavar="N|Nm",
        help="with --log-dir: checkpoint every run every N steps or N minutes (default 5m); "
        "continue with lrtui resume DIR",
    )


def debug_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", help="show the traceback of an error in your task file")


def tag_flags(p: argparse.ArgumentParser) -> None:
    """Which TensorBoard scalars are the LR and the loss (`watch`, `export`)."""
    p.add_argument("--lr-tag", metavar="GLOB", help="TensorBoard: the LR's tag (default: the usual names)")
    p.add_argument(
        "--loss-tag", metavar="GLOB", help="TensorBoard: the loss's tag (default: the usual names)"
    )


# Settings read from the flag of the same name, where the command has that flag.
_VALUED = ("preset", "epochs", "batches", "batch_size", "lr", "optimizer", "model", "task", "device",
           "seed", "seeds", "engine", "log_dir", "loss_threshold", "checkpoint_every")  # fmt: skip
# On/off flags: off means "not set here" (None), so a config file's `true` still counts.
_SWITCHES = ("amp", "no_summary")


def experiment_settings(args: argparse.Namespace) -> Settings:
    """The settings a command's flags give, as given: a flag the command lacks, or one left
    out, is None, for the config file or the defaults to decide."""
    settings = Settings(runs=list(getattr(args, "scheduler", [])))
    for name in _VALUED:
        setattr(settings, name, getattr(args, name, None))
    for name in _SWITCHES:
        setattr(settings, name, getattr(args, name, False) or None)
    return settings
