"""Where training runs: the device a spec names, and how many CPU threads torch may use."""

from __future__ import annotations

import torch


def cpu_threads(current: int, cores: int) -> int:
    """Intra-op threads for training on CPU: one core is left to the thread that shows the
    events (the app's UI, the headless table). lrtui's batched steps are small, so an extra
    torch thread gains little, while one spinning on the UI's core slows both."""
    return max(1, min(current, cores - 1))


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
