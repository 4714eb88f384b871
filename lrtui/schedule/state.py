"""A built schedule's state as plain data, and back: what a checkpoint keeps of it.

Every scheduler of the tree (a composer's children included, ReduceLROnPlateau's counters,
OneCycleLR's phases, a warm restart's `T_cur`) keeps its state in its own attributes, as
torch's `state_dict` does; what is not plain data is left alone: the optimizer, a composer's
children (each is saved as a node of its own), and functions (a LambdaLR's factors, which
`build_watched` makes again from the spec). The regime watch's own count of plateau cuts is
kept too, so the marks after a resume number on.
"""

from __future__ import annotations

import copy

import torch

from lrtui.schedule.build import Watched

_ATOMS = (type(None), bool, int, float, str, torch.Tensor)


def _plain(value: object) -> bool:
    if isinstance(value, _ATOMS):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def schedule_state(watched: Watched) -> dict:
    """Each node's plain attributes, in the tree's order, and the watch's cuts."""
    nodes = [{k: copy.deepcopy(v) for k, v in vars(n.scheduler).items() if _plain(v)} for n in watched.nodes]
    cuts = watched.watch.cuts if watched.watch is not None else 0
    return {"nodes": nodes, "cuts": cuts}


def load_schedule_state(watched: Watched, state: dict) -> None:
    """Put a saved state back into a schedule built anew from the same spec."""
    if len(state["nodes"]) != len(watched.nodes):
        raise ValueError("the checkpoint's schedule has another shape than this run's")
    for node, saved in zip(watched.nodes, state["nodes"], strict=True):
        vars(node.scheduler).update(copy.deepcopy(saved))
    if watched.watch is not None:
        watched.watch.cuts = int(state["cuts"])
