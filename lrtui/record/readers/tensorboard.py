"""TensorBoard runs, as a log source: every folder holding `events.out.tfevents.*` files is a
run (TensorBoard's own rule), named by its path under the folder watched or exported.

The LR, loss and epoch scalars are found by the tags trainers write, or by `--lr-tag` and
`--loss-tag` (`tags`); reading the files needs the `tensorboard` extra, imported when a file is
first read (`tfevents`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lrtui.record.readers.base import Counts, ReadOptions, csv_text, walk
from lrtui.record.readers.tags import tag_map
from lrtui.record.readers.tb_rows import tb_rows
from lrtui.record.readers.tb_tail import TB_PREFIX, TbTail


class TensorBoardReader:
    name = "tensorboard"
    reads = f"TensorBoard's {TB_PREFIX}*"

    def claims(self, file: Path) -> bool:
        return file.name.startswith(TB_PREFIX)

    def run_of(self, file: Path) -> Path:
        return file.parent

    def runs(self, directory: Path) -> list[Path]:
        """Folders under `directory` (itself included) that hold event files."""
        found = []
        for folder, _, files in walk(directory):  # no recursion: a tree of any depth
            if any(f.startswith(TB_PREFIX) for f in files):
                found.append(Path(folder))
        return sorted(found)

    def tail(self, run: Path, index: int, options: ReadOptions) -> TbTail:
        tags = tag_map(options.lr_tag, options.loss_tag)  # a map per run: each learns its own tags
        return TbTail(run, options.root or run.parent, index, tags)

    def rows(self, run: Path, options: ReadOptions, counts: Counts) -> Iterator[str]:
        return csv_text(tb_rows(run, options, counts))
