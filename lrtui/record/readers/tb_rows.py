"""TensorBoard runs as CSV rows, for `lrtui export`: one row per step of a run, the same
columns as lrtui's own files (`run,step,epoch,lr,loss,time`), plus one per `--tag`.

Each tag keeps TensorBoard's view of a resumed run: a step written again drops what had been
written at and after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lrtui.record.readers.base import Counts, ReadOptions
from lrtui.record.readers.tags import logged_epoch, tag_map
from lrtui.record.readers.tb_tail import run_name, tb_files
from lrtui.record.readers.tfevents import Scalars, read_records


@dataclass
class _Tag:
    """One tag's points as TensorBoard keeps them: by step, purged when a step comes again."""

    values: dict[int, float] = field(default_factory=dict)
    walls: dict[int, float] = field(default_factory=dict)
    last: int = -1

    def add(self, step: int, value: float, wall: float) -> None:
        if step <= self.last:
            for s in [s for s in self.values if s >= step]:
                del self.values[s], self.walls[s]
        self.values[step], self.walls[step], self.last = value, wall, step


def _read_run(directory: Path) -> tuple[dict[str, _Tag], int]:
    tags: dict[str, _Tag] = {}
    corrupt = 0
    for file in tb_files(directory):
        found = Scalars()
        read_records(memoryview(file.read_bytes()), 0, found)
        corrupt += found.corrupt
        for tag, (steps, values, walls) in found.tags.items():
            series = tags.setdefault(tag, _Tag())
            for step, value, wall in zip(steps, values, walls, strict=True):
                series.add(step, value, wall)
    return tags, corrupt


def tb_rows(directory: Path, options: ReadOptions, result: Counts) -> Iterator[list[object]]:
    """A run's rows as values: its loss steps, with the LR and epoch in force at each."""
    tags, corrupt = _read_run(directory)
    result.corrupt += corrupt
    result.tags.update(tags)
    chosen = tag_map(options.lr_tag, options.loss_tag)
    chosen.update(tags)
    label = run_name(directory, options.root or directory.parent)
    columns = [chosen.loss, *chosen.lr, *options.extra]
    steps = sorted({s for t in columns if t in tags for s in tags[t].values})
    start = min((min(t.walls.values()) for t in tags.values() if t.walls), default=0.0)
    epochs = tags.get(chosen.epoch or "")
    epoch = 1
    for step in steps:
        if epochs is not None and step in epochs.values:
            epoch = logged_epoch(epochs.values[step], chosen.epoch_progress, epoch)
        lrs = ";".join(repr(tags[t].values[step]) for t in chosen.lr if step in tags[t].values)
        loss_tag = tags.get(chosen.loss or "")
        loss = loss_tag.values.get(step, "") if loss_tag else ""
        wall = next((tags[t].walls[step] for t in columns if t in tags and step in tags[t].walls), start)
        extra = [tags[t].values.get(step, "") if t in tags else "" for t in options.extra]
        result.rows += 1
        yield [label, step, epoch, lrs, loss, round(wall - start, 6), *extra]
