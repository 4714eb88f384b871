"""The comparison `lrtui [options]` asks for: prepared (every user error found, as a
`SpecError`, before a UI or a table), then handed to the mode that runs it: distributed under
torchrun, headless with `--headless`, else live.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from functools import partial

from lrtui.modes.config import build_ready
from lrtui.modes.distributed import Ranks, ranks_from_env, run_distributed
from lrtui.modes.prepare import Ready
from lrtui.modes.resume import policy_for, refuse_unfinished
from lrtui.record.writer import LogDirSink
from lrtui.spec.describe import run_infos
from lrtui.spec.errors import SpecError, cannot_write
from lrtui.spec.experiment import ExperimentSpec
from lrtui.spec.settings import Settings


@dataclass(frozen=True)
class Comparison:
    """A prepared comparison and how it runs. `log_sink`: the open `--log-dir` (under
    torchrun each rank opens its own share instead)."""

    ready: Ready
    headless: bool
    ranks: Ranks | None
    log_sink: LogDirSink | None


def prepare_comparison(
    settings: Settings, config_path: str | None, headless: bool, terminal: bool = True
) -> Comparison:
    """Merge, load, try and check everything: torch's checks of the runs too, unless the live
    trainer runs apart and does them itself after the first screen (`live.check_unless_apart`).
    Live needs a `terminal`: refused before the log directory is opened (no empty logs left)."""
    # live, the default comparison trains on a task where the loss can fall; --headless keeps
    # the tutorial's random labels, so its table is the tutorial's digit for digit
    default_task = None if headless else "teacher"
    ready = build_ready(settings, config_path, default_task=default_task, dry_run=headless)
    if not headless:
        from lrtui.modes.live import check_unless_apart

        ready = check_unless_apart(ready)
    ranks = ranks_from_env()
    if ranks is not None and not headless:  # watch torchrun's ranks with lrtui watch
        raise SpecError("under torchrun, use --headless --log-dir DIR, and watch with: lrtui watch DIR")
    if not headless and not terminal:
        raise SpecError(
            "the live app needs a terminal (standard input and output are not one here): "
            "use --headless, with --log-dir DIR to watch it from elsewhere with lrtui watch DIR"
        )
    log_dir = ready.settings.log_dir
    if log_dir and ranks is None:
        refuse_unfinished(log_dir)
    log_sink = _log_sink(log_dir, ready.exp) if log_dir and ranks is None else None
    if log_sink is not None:  # every run checkpointed: `lrtui resume DIR` continues it
        ready = replace(ready, checkpoints=policy_for(log_sink, ready.settings))
    return Comparison(ready, headless, ranks, log_sink)


def _log_sink(log_dir: str, exp: ExperimentSpec) -> LogDirSink:
    try:
        return LogDirSink(log_dir, run_infos(exp))
    except OSError as exc:
        raise cannot_write(log_dir, exc) from None


def run_comparison(
    comparison: Comparison, as_json: bool = False, debug: bool = False, for_app: bool = False
) -> int:
    """Run it to the end; the command's exit code. The log directory is closed after.
    `for_app`: a headless comparison whose apps are a live app's (`modes.attach.in_background`):
    its trainer is the live app's (planned curves; lingering while an app is attached)."""
    ready, s = comparison.ready, comparison.ready.settings
    if comparison.ranks is not None:
        return run_distributed(ready, comparison.ranks, sys.stdout, log_dir=s.log_dir,
                               summary=not s.no_summary, threshold=s.loss_threshold)  # fmt: skip
    try:
        if comparison.headless:
            from lrtui.engine.resumable import make_trainer
            from lrtui.modes.attach import listening
            from lrtui.modes.headless import run_headless
            from lrtui.modes.live import app_label

            make = partial(make_trainer, checkpoints=ready.checkpoints, plans=for_app, linger=for_app)
            label = app_label(ready) if for_app else None
            log, make = listening(comparison.log_sink, make, ready.exp, s.loss_threshold, label, for_app)
            try:
                return run_headless(
                    ready.exp, sys.stdout, extra_sink=log, summary=not s.no_summary,  # type: ignore[arg-type]
                    threshold=s.loss_threshold, workload=ready.workload, as_json=as_json, make_trainer=make,
                    progress=sys.stderr,  # a line rewritten on a terminal, else a line per epoch
                )  # fmt: skip
            finally:
                if log is not None:
                    log.close()
        from lrtui.modes.live import run_app

        return run_app(ready, comparison.log_sink, threshold=s.loss_threshold, debug=debug)
    finally:
        if comparison.log_sink is not None:
            comparison.log_sink.close()
