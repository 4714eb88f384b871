"""Hugging Face's schedules by name, built by transformers' own functions: `hf.cosine(...)`.

Every `transformers.SchedulerType` that makes a schedule from the step count is here, written
with transformers' own parameter names and checked against the installed function's signature,
as torch's schedulers are. `num_training_steps` defaults to the run's length. They step per
batch, as the HF Trainer steps them. transformers is imported when such a spec is first used
(`pip install 'lrtui[hf]'`); the names alone are known without it, for help and did-you-mean.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import lru_cache

from lrtui.schedule import annotations
from lrtui.schedule.ranges import check_range
from lrtui.spec.choices import HF_SCHEDULES
from lrtui.spec.errors import SpecError
from lrtui.spec.experiment import Call

PREFIX = "hf."
EXTRA = "pip install 'lrtui[hf]'"
_FILLED = {"optimizer", "last_epoch"}
_DERIVED = "num_training_steps"


def is_hf(name: str) -> bool:
    return name.startswith(PREFIX)


@dataclass(frozen=True)
class HfInfo:
    name: str  # as written in specs: hf.cosine
    fn: object
    params: tuple[inspect.Parameter, ...]
    doc: str

    def param(self, key: str) -> inspect.Parameter | None:
        return next((p for p in self.params if p.name == key), None)


@lru_cache(maxsize=1)
def hf_registry() -> dict[str, HfInfo]:
    try:
        from transformers import SchedulerType
        from transformers.optimization import TYPE_TO_SCHEDULER_FUNCTION
    except ImportError:
        raise SpecError(f"hf.* schedules are built by transformers: {EXTRA}") from None
    found = {}
    for name in HF_SCHEDULES:
        fn = TYPE_TO_SCHEDULER_FUNCTION[SchedulerType(name)]
        params = tuple(p for p in inspect.signature(fn).parameters.values() if p.name not in _FILLED)
        doc = (inspect.getdoc(fn) or "").strip().split("\n\n")[0].replace("\n", " ")
        found[PREFIX + name] = HfInfo(PREFIX + name, fn, params, doc)
    return found


def check_hf(call: Call, where: str) -> None:
    """Names, types and nonsense values of an `hf.*` spec, against the installed transformers."""
    if call.name[len(PREFIX) :] not in HF_SCHEDULES:
        raise SpecError(f"{where}: unknown Hugging Face schedule {call.name!r}{hf_did_you_mean(call.name)}")
    info = hf_registry()[call.name]
    for key, value in call.kwargs:
        param = info.param(key)
        if param is None:
            takes = ", ".join(p.name for p in info.params)
            raise SpecError(f"{where}: {call.name} has no parameter {key!r} (it takes {takes})")
        ann = annotations.annotation_text(param)
        if isinstance(value, Call) or not annotations.accepts(ann, value):
            raise SpecError(f"{where}: {call.name} {key}={value!r} is not {annotations.describe(ann)}")
        check_range(call.name, key, value, where)
    for param in info.params:
        if param.default is inspect.Parameter.empty and param.name != _DERIVED and not call.has(param.name):
            raise SpecError(f"{where}: {call.name} needs {param.name}=...")


def derive_hf(call: Call, steps: int) -> Call:
    """`num_training_steps` is the run's length unless given."""
    info = hf_registry()[call.name]
    if info.param(_DERIVED) is not None and call.get(_DERIVED) is None:
        return call.with_kwarg(_DERIVED, steps)
    return call


def build_hf(call: Call, optimizer: object) -> object:
    """transformers' own LambdaLR for the spec."""
    info = hf_registry()[call.name]
    kwargs = {k: list(v) if isinstance(v, tuple) else v for k, v in call.kwargs}
    return info.fn(optimizer, **kwargs)  # type: ignore[operator]


def hf_did_you_mean(name: str) -> str:
    import difflib

    bare = name.removeprefix(PREFIX)
    close = difflib.get_close_matches(bare, HF_SCHEDULES, n=3, cutoff=0.5)
    return f" (did you mean {' or '.join(PREFIX + c for c in close)}?)" if close else ""


def describe_hf() -> list[str]:
    """The `--list-schedulers` lines of the HF schedules (or how to get them)."""
    try:
        infos = hf_registry().values()
    except SpecError:
        return [f"hf.{', hf.'.join(HF_SCHEDULES)}: {EXTRA}"]
    lines = []
    for info in infos:
        params = ", ".join(
            f"{p.name}=<run length>" if p.name == _DERIVED else f"{p.name}=<required>"
            if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
            for p in info.params
        )  # fmt: skip
        lines += [f"{info.name}({params})", f"    steps per batch. {info.doc}"]
    return lines
