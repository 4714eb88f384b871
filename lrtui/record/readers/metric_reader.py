"""What the readers of other trackers' runs share around `metric_tail`: a reader whose runs are
read by a `MetricSource` tails and exports them the same way (a `MetricTail` for the watcher,
`metric_rows` as CSV for `export`), so each says only how one of its runs is read
(`MetricReader.source`) and what the panel calls it (`kind`); and a source whose run is one
folder starts the same way (`FolderSource`).

Kept apart from the `LogReader` protocol and its registry (`readers`): a reader is still one
module and one entry in `READERS`; this is only the code such readers would otherwise repeat.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from lrtui.record.readers.base import Counts, ReadOptions, csv_text
from lrtui.record.readers.metric_tail import MetricSource, MetricTail, metric_rows
from lrtui.record.readers.tags import tag_map


class FolderSource:
    """The start of a source whose run is one folder: the folder (`path`, the `MetricSource`'s
    own), and the folder watched (`_root`, under which `run_label` names the run). Nothing is
    read yet: `restart`, the subclass's, sets where reading stands to the beginning."""

    def __init__(self, folder: Path, root: Path | None) -> None:
        self.path = folder
        self._root = root
        self.restart()

    def restart(self) -> None:
        """Forget where reading stood: each source keeps its own state, so each says what it is."""
        raise NotImplementedError


class MetricReader:
    """`LogReader.tail` and `LogReader.rows` for a reader whose runs are `MetricSource`s: the
    watcher and `export` get the same source, fresh each time (a tail and an export each read
    from the start), with the LR and loss picked by the user's `--lr-tag`/`--loss-tag` globs."""

    kind: ClassVar[str]  # what the panel says the run is ("hf trainer"), before its own detail

    def source(self, run: Path, root: Path | None) -> MetricSource:
        """A fresh source for one run; `root` is the folder named on the command line."""
        raise NotImplementedError

    def tail(self, run: Path, index: int, options: ReadOptions) -> MetricTail:
        tags = tag_map(options.lr_tag, options.loss_tag)
        return MetricTail(self.source(run, options.root), index, tags, self.kind)

    def rows(self, run: Path, options: ReadOptions, counts: Counts) -> Iterator[str]:
        return csv_text(metric_rows(self.source(run, options.root), options, counts))
