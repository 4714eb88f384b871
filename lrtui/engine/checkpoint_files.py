"""Where a comparison's checkpoints live and how they are named, apart from writing and
reading them (`checkpoint`, which needs torch): an attached app told its trainer has gone,
and `lrtui resume`'s check before it starts anything, look for checkpoints without importing
torch (seconds, on a cold start, before the first screen)."""

from __future__ import annotations

import re
from pathlib import Path

FOLDER = "checkpoints"  # under a comparison's log directory
_NAME = re.compile(r"^ckpt-(\d{9})\.pt$")


def file_name(steps: int) -> str:
    return f"ckpt-{steps:09d}.pt"


def listed(directory: Path) -> list[Path]:
    """The directory's checkpoints, newest first (by the step count in their names)."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if _NAME.match(p.name)]
    return sorted(found, key=lambda p: p.name, reverse=True)
