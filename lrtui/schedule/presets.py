"""Ready-made comparisons: the tutorial's six schedulers, one of every torch scheduler, a
language model's schedules, and optimizers each with its own schedule."""

from __future__ import annotations

from dataclasses import dataclass, field

from lrtui.spec.experiment import Call, Interval
from lrtui.spec.parse import parse_call, parse_run_parts


@dataclass(frozen=True)
class Preset:
    """Runs plus the experiment settings the preset was designed for (flags still win)."""

    runs: tuple[tuple[Call, Interval], ...]
    settings: dict[str, object] = field(default_factory=dict)


def seed_preset() -> Preset:
    """The tutorial's experiment: its schedulers, parameters and per-epoch stepping."""
    specs = [
        "StepLR(step_size=2, gamma=0.1)",
        "MultiStepLR(milestones=[5, 80], gamma=0.1)",
        "ExponentialLR(gamma=0.9)",
        "CosineAnnealingLR(T_max=50)",
        "ReduceLROnPlateau(mode='min', factor=0.1, patience=2)",
        "CyclicLR(base_lr=0.001, max_lr=0.1, step_size_up=2000, mode='triangular2')",
    ]
    return Preset(
        runs=tuple((parse_call(s), "epoch") for s in specs),
        settings={"epochs": 11, "epoch_label_stride": 10},
    )


def all_preset(epochs: int, batches: int, lr: float) -> Preset:
    """Every torch scheduler, parameterised so that its whole shape fits in the run."""
    e, total = epochs, epochs * batches
    q = max(1, e // 4)
    warm = max(1, e // 10)
    decay = round(0.01 ** (1 / max(1, e)), 6)
    specs: list[tuple[str, Interval]] = [
        (f"StepLR(step_size={q}, gamma=0.5)", "epoch"),
        (f"MultiStepLR(milestones=[{max(1, e // 3)}, {max(2, 2 * e // 3)}], gamma=0.2)", "epoch"),
        (f"ConstantLR(factor=0.25, total_iters={max(1, e // 3)})", "epoch"),
        (f"LinearLR(start_factor=0.05, total_iters={max(1, e // 3)})", "epoch"),
        (f"ExponentialLR(gamma={decay})", "epoch"),
        (f"PolynomialLR(total_iters={e}, power=2.0)", "epoch"),
        (f"CosineAnnealingLR(T_max={e})", "epoch"),
        (f"CosineAnnealingWarmRestarts(T_0={max(1, e // 7)}, T_mult=2)", "epoch"),
        (
            f"CyclicLR(base_lr={lr / 50}, max_lr={lr}, step_size_up={max(1, total // 8)}, "
            "mode='triangular2')",
            "batch",
        ),
        (f"OneCycleLR(max_lr={lr})", "batch"),
        (f"LambdaLR(lr_lambda=inverse_sqrt(warmup={warm}))", "epoch"),
        ("MultiplicativeLR(lr_lambda=constant(value=0.9))", "epoch"),
        (
            f"SequentialLR(schedulers=[LinearLR(start_factor=0.05, total_iters={warm}), "
            f"CosineAnnealingLR(T_max={max(1, e - warm)})], milestones=[{warm}])",
            "epoch",
        ),
        (
            f"ChainedScheduler(schedulers=[ConstantLR(factor=0.5, total_iters={q}), "
            f"ExponentialLR(gamma={decay})])",
            "epoch",
        ),
        ("ReduceLROnPlateau(factor=0.5, patience=1, threshold=0.01)", "epoch"),
    ]
    return Preset(runs=tuple((parse_call(s), i) for s, i in specs))


def lm_preset(total_steps: int, lr: float) -> list[tuple[Call, Interval, str]]:
    """What people compare when training a language model: a constant LR, a linear warm-up
    then cosine decay, and one-cycle, all stepped per batch."""
    warm = max(1, total_steps // 10)
    specs = [
        ("LambdaLR(lr_lambda=constant(value=1.0))", "constant"),
        (
            f"SequentialLR(schedulers=[LinearLR(start_factor=0.01, total_iters={warm}), "
            f"CosineAnnealingLR(T_max={max(1, total_steps - warm)})], milestones=[{warm}])",
            "warmup-cosine",
        ),
        (f"OneCycleLR(max_lr={lr})", "one-cycle"),
    ]
    return [(parse_call(s), "batch", label) for s, label in specs]


def optimizers_preset(total_steps: int, lr: float) -> list[tuple[Call | None, Call | None, Interval, str]]:
    """A run is an optimizer and its schedule: AdamW with warm-up + cosine, AdamW with
    warm-up-stable-decay (the last fifth decays linearly to 1%), schedule-free AdamW with its
    own warm-up and no schedule (Defazio et al. 2024), and SGD with momentum under one-cycle
    at 30x the LR (plain SGD needs a larger step than Adam's normalised one). Per batch:
    (optimizer, scheduler, interval, label)."""
    warm = max(1, total_steps // 10)
    decay = max(1, total_steps // 5)
    stable_end = max(warm + 1, total_steps - decay)
    sgd_lr = round(lr * 30, 6)
    specs = [
        (
            f"AdamW | SequentialLR(schedulers=[LinearLR(start_factor=0.01, total_iters={warm}), "
            f"CosineAnnealingLR(T_max={max(1, total_steps - warm)})], milestones=[{warm}])",
            "AdamW · cosine",
        ),
        (
            f"AdamW | SequentialLR(schedulers=[LinearLR(start_factor=0.01, total_iters={warm}), "
            f"ConstantLR(factor=1.0, total_iters=1), LinearLR(start_factor=1.0, end_factor=0.01, "
            f"total_iters={decay})], milestones=[{warm}, {stable_end}])",
            "AdamW · WSD",
        ),
        (f"AdamWScheduleFree(warmup_steps={warm})", "schedule-free AdamW"),
        (f"SGD(momentum=0.9, lr={sgd_lr}) | OneCycleLR(max_lr={sgd_lr})", "SGD-momentum · one-cycle"),
    ]
    out: list[tuple[Call | None, Call | None, Interval, str]] = []
    for text, label in specs:
        optimizer, scheduler, _ = parse_run_parts(text)
        out.append((optimizer, scheduler, "batch", label))
    return out
