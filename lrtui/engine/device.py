"""Where training runs: the device a spec names, and how many CPU threads torch may use."""

from __future__ import annotations

import torch


def cpu_threads(current: int, cores: int, light: bool = True) -> int:
    """Intra-op threads for training on CPU. A light workload (the built-in tasks: thousands
    of tiny steps a second) leaves one core to the thread that shows the events, since an
    extra torch thread gains it little while one spinning on the UI's core slows both. A
    heavy one (your model) takes every core: it sends few events, and its steps are compute."""
    return max(1, min(current, cores - 1)) if light else current


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
