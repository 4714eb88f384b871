"""A comparison spread over processes with torchrun: each rank trains its share of the runs
(run i on rank i mod world size) on its own device, records them to `--log-dir` once, and rank
0 prints the tutorial's table and the leaderboard after every rank has finished.

Every rank builds the same experiment from the same flags and seed, so every run starts from
the same initial weights and sees the same batches as in one process: the numbers are the
single-process comparison's. Results travel between ranks as Python objects over gloo (CPU),
whatever the devices; a rank with no run says so, still joins the gathering, and exits 0.
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass, replace
from typing import TextIO

from lrtui.modes.prepare import Ready
from lrtui.spec.experiment import ExperimentSpec


@dataclass(frozen=True)
class Ranks:
    rank: int
    world: int
    local_rank: int


def ranks_from_env() -> Ranks | None:
    """torchrun's rank and world size, when there is more than one process."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        return None
    return Ranks(rank, world, local) if world > 1 else None


def share(exp: ExperimentSpec, ranks: Ranks) -> tuple[list[int], ExperimentSpec]:
    """This rank's runs (their indices in the whole comparison) and its device."""
    import torch

    mine = [i for i in range(len(exp.runs)) if i % ranks.world == ranks.rank]
    device = exp.device
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        device = f"cuda:{ranks.local_rank % max(1, torch.cuda.device_count())}"
    elif device == "auto":
        device = "cpu"
    return mine, replace(exp, runs=tuple(exp.runs[i] for i in mine), device=device)


def _train(ready: Ready, sub: ExperimentSpec, log_dir: str | None):
    """Train this rank's runs; their table blocks and views, for rank 0."""
    from lrtui.modes.headless import train_to_table
    from lrtui.record.writer import LogDirSink
    from lrtui.spec.describe import run_infos

    sink = LogDirSink(log_dir, run_infos(sub)) if log_dir else None
    try:
        trained = train_to_table(sub, io.StringIO(), sink, workload=ready.workload)
    finally:
        if sink is not None:
            sink.close()
    blocks = [trained.printer.block_text(j) for j in range(len(sub.runs))]
    return blocks, trained.state.runs, trained.interrupted  # type: ignore[union-attr]


def run_distributed(
    ready: Ready, ranks: Ranks, out: TextIO, *, log_dir: str | None, summary: bool, threshold: float | None
) -> int:
    import torch.distributed as dist

    from lrtui.state import leaderboard, seedboard

    dist.init_process_group("gloo")
    try:
        mine, sub = share(ready.exp, ranks)
        if mine:
            blocks, views, interrupted = _train(ready, sub, log_dir)
        else:
            n = len(ready.exp.runs)
            print(
                f"lrtui: rank {ranks.rank} has no runs ({n} runs over {ranks.world} ranks)", file=sys.stderr
            )
            blocks, views, interrupted = [], [], False
        gathered: list = [None] * ranks.world
        dist.all_gather_object(gathered, (mine, blocks, views, interrupted))
    finally:
        dist.destroy_process_group()
    if ranks.rank != 0:
        return 130 if interrupted else 0
    order = sorted(
        (i, block, view)
        for part in gathered
        for i, block, view in zip(part[0], part[1], part[2], strict=True)
    )
    out.write("".join(block for _, block, _ in order))
    if summary:
        views = [view for _, _, view in order]
        lines = seedboard.summary_lines(views, leaderboard.board(views, threshold=threshold))
        out.write("\n" + "\n".join(lines) + "\n")
    out.flush()
    return 130 if any(part[3] for part in gathered) else 0
