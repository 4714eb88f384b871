"""What a folder holds, for `watch` and `export` to say: which reader took how many runs, and
the folder's files that no reader reads (a mistyped path, a source lrtui does not know, a
tracker's side files). One rule for every reader: a file is read when it is a run, is inside a
run's folder, or holds runs (an `mlflow.db`). Runs of one reader shown as another's (`shadows`:
an HF `output_dir`'s TensorBoard files) are said with the runs holding them.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lrtui.record.readers.base import walk
from lrtui.spec.text import clean

SHOWN = 3  # files named; the rest are counted
WALK_LIMIT = 100_000  # entries looked at, at most: a huge tree is summed up, not walked to its end


@dataclass(frozen=True)
class Inventory:
    taken: tuple[tuple[str, int], ...]  # reader name, runs it took
    unread: tuple[str, ...]  # the first few files no reader reads, as paths under the folder
    unread_count: int
    more: bool = False  # the walk stopped at `WALK_LIMIT`: there may be more
    merged: tuple[tuple[str, str, int], ...] = ()  # reader, reader whose runs its runs hold, how many

    def runs(self) -> str:
        """ "2 tensorboard runs, 1 hf run (with 1 tensorboard run in it)"."""
        said = []
        for name, n in self.taken:
            held = [
                f"{m} {other} run{'s' if m != 1 else ''}" for mine, other, m in self.merged if mine == name
            ]
            inside = f" (with {', '.join(held)} in {'them' if n != 1 else 'it'})" if held else ""
            said.append(f"{n} {name} run{'s' if n != 1 else ''}{inside}")
        return ", ".join(said)

    def not_read(self) -> str:
        """ "not read: a.txt, b/c.png and 4 more files", or "" when every file is read."""
        if not self.unread_count:
            return ""
        rest = self.unread_count - len(self.unread)
        more = f" and {rest:,}{'+' if self.more else ''} more" if rest or self.more else ""
        return f"not read: {', '.join(self.unread)}{more}"


def inventory(
    directory: Path,
    found: Sequence[tuple[str, Path]],
    shown: int = SHOWN,
    merged: Sequence[tuple[str, str]] = (),
) -> Inventory:
    """Which reader took which runs under `directory` (`found`: each run's reader's name and
    its path; `merged`: a pair of reader names for each run shown as another reader's), and the
    files none of them reads."""
    taken = Counter(name for name, _ in found)
    held = tuple((a, b, n) for (a, b), n in sorted(Counter(merged).items()))
    runs = {os.path.abspath(path) for _, path in found}
    holders = {os.path.dirname(r) for r in runs}  # a file holding runs: `mlflow.db/<run id>`'s
    unread: list[str] = []
    count = seen = 0
    for folder, dirs, files in walk(directory):
        if os.path.abspath(folder) in runs:  # the folder named is itself a run
            dirs.clear()
            continue
        dirs[:] = sorted(d for d in dirs if os.path.join(os.path.abspath(folder), d) not in runs)
        seen += len(dirs) + len(files)
        for name in sorted(files):
            full = os.path.join(os.path.abspath(folder), name)
            if full in runs or full in holders:
                continue
            count += 1
            if len(unread) < shown:
                unread.append(clean(os.path.relpath(full, os.path.abspath(directory)), 80))
        if seen > WALK_LIMIT:
            return Inventory(tuple(sorted(taken.items())), tuple(unread), count, True, held)
    return Inventory(tuple(sorted(taken.items())), tuple(unread), count, merged=held)
