"""The names of lrtui's built-in choices, for flags, config files and `--help`.

The engine and schedule layers hold what each name builds; keeping the names here lets the
command line describe and check them without importing torch (a test keeps both in step).
"""

from __future__ import annotations

from lrtui.spec.experiment import Call

MODELS: dict[str, str] = {
    "linear": "Linear(10, 2), the tutorial's model",
    "mlp": "Linear(10, 64) -> ReLU -> Linear(64, 2)",
}

TASKS: dict[str, str] = {
    "random": "random inputs with random 0/1 labels (the tutorial's data)",
    "teacher": "random inputs labelled by a fixed linear rule with 10% label noise (learnable)",
    "charlm": "a small character-level transformer on the standard library's sources (validation loss)",
}
MODEL_TASKS = ("random", "teacher")  # the built-in tasks whose network `--model` picks
# the task name of a task given as Python objects (`lrtui.compare`): it has no name to load by
IN_MEMORY_TASK = "compare()"

OPTIMIZER_ALIASES: dict[str, Call] = {
    "sgd": Call("SGD"),
    "momentum": Call("SGD", (("momentum", 0.9),)),
    "nesterov": Call("SGD", (("momentum", 0.9), ("nesterov", True))),
    "adam": Call("Adam"),
    "adamw": Call("AdamW"),
    "rmsprop": Call("RMSprop"),
    "adagrad": Call("Adagrad"),
    # schedule-free (`lrtui[schedulefree]`): no schedule needed, a warm-up of their own
    "adamwschedulefree": Call("AdamWScheduleFree"),
    "sgdschedulefree": Call("SGDScheduleFree"),
    "radamschedulefree": Call("RAdamScheduleFree"),
}
# every optimizer's own name: a run spec whose only call is one of these is a bare optimizer
OPTIMIZER_NAMES = tuple(dict.fromkeys(call.name for call in OPTIMIZER_ALIASES.values()))
SCHEDULE_FREE = ("AdamWScheduleFree", "SGDScheduleFree", "RAdamScheduleFree")


def is_optimizer_name(name: str) -> bool:
    """Whether `name` names an optimizer (any case, or an alias), not a scheduler."""
    return name in OPTIMIZER_NAMES or name.lower() in OPTIMIZER_ALIASES


PRESETS = ("seed", "all", "lm", "optimizers")
ENGINES = ("auto", "stacked", "sequential")

# Hugging Face's schedules that follow the step count (transformers.SchedulerType), written
# `hf.NAME(...)`; a test keeps this list in step with the installed transformers.
HF_SCHEDULES = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
    "warmup_stable_decay",
)
