"""A task's own param groups (`param_groups(model)` in a task file), laid over every run.

torch lets an optimizer take groups of parameters, each with its own options: the usual one
leaves norms and biases out of weight decay. A task file says so once, for its model:

    def param_groups(model):
        decay = [p for n, p in model.named_parameters() if p.ndim > 1]
        rest = [p for n, p in model.named_parameters() if p.ndim <= 1]
        return [{"params": decay}, {"params": rest, "weight_decay": 0.0}]

lrtui asks it of the model every run starts from and keeps only the layout: which parameter
(by its place in `named_parameters()`, the order both engines give each run's parameters in)
is in which group, and each group's options. Each run's optimizer then gets groups of its own
parameters with those options (the run's optimizer options are the defaults a group's own
override, as in torch), and its scheduler scales every group, as torch's schedulers do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor, nn

# what lrtui sets itself on every group (`schedule.optimizers`): a task's group may not
RESERVED = frozenset({"differentiable", "fused", "foreach", "capturable"})


class ParamGroupsError(ValueError):
    """A task's `param_groups(model)` that torch or lrtui cannot use; the message says why."""


@dataclass(frozen=True)
class GroupLayout:
    """Which parameters (places in `named_parameters()`) each group holds, and its options."""

    members: tuple[tuple[int, ...], ...]
    options: tuple[tuple[tuple[str, object], ...], ...]

    def groups(self, params: Sequence[nn.Parameter]) -> list[dict]:
        """Torch's param groups over one run's parameters (given in `named_parameters()` order)."""
        return [
            {"params": [params[i] for i in places], **dict(options)}
            for places, options in zip(self.members, self.options, strict=True)
        ]


def layout_of(groups: object, model: nn.Module) -> GroupLayout:
    """The layout of `groups` (what `param_groups(model)` returned) over `model`'s parameters.
    Every parameter must be in exactly one group: lrtui trains the whole model."""
    if not isinstance(groups, (list, tuple)) or not groups:
        raise ParamGroupsError(f"param_groups(model) returned {type(groups).__name__}, not a list of dicts")
    named = list(model.named_parameters())
    place = {id(p): i for i, (_, p) in enumerate(named)}
    members: list[tuple[int, ...]] = []
    options: list[tuple[tuple[str, object], ...]] = []
    seen: set[int] = set()
    for k, group in enumerate(groups):
        if not isinstance(group, dict) or "params" not in group:
            raise ParamGroupsError(f"param_groups(model)[{k}] is not a dict with 'params'")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        places = [place.get(id(p), -1) for p in params]
        if -1 in places:
            raise ParamGroupsError(
                f"param_groups(model)[{k}] holds a tensor that is not a parameter of model"
            )
        again = seen.intersection(places)
        if again:
            raise ParamGroupsError(f"{named[min(again)][0]} is in more than one param group")
        seen.update(places)
        refused = sorted(RESERVED.intersection(group))
        if refused:
            raise ParamGroupsError(f"param_groups(model)[{k}] sets {refused[0]}, which lrtui sets itself")
        members.append(tuple(places))
        options.append(tuple((key, value) for key, value in group.items() if key != "params"))
    left = [name for i, (name, _) in enumerate(named) if i not in seen]
    if left:
        raise ParamGroupsError(
            f"param_groups(model) leaves out {left[0]} (every parameter must be in a group)"
        )
    return GroupLayout(tuple(members), tuple(options))


def task_layout(workload: object, model: nn.Module) -> GroupLayout | None:
    """The layout of the task's own param groups over `model`, or None: a task file's checked
    one (`tasks.UserTask.param_groups`), or the groups a task given as objects returns."""
    hook = getattr(workload, "param_groups", None)
    groups = hook(model) if callable(hook) else None
    return groups if groups is None or isinstance(groups, GroupLayout) else layout_of(groups, model)


def with_groups(layout: GroupLayout | None, params: list[nn.Parameter]) -> list[nn.Parameter] | list[dict]:
    """What a run's optimizer is built over: its parameters, in the task's groups where it has them."""
    return params if layout is None else layout.groups(params)
