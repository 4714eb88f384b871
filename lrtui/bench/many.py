"""The bench's many-runs parts: 40 runs training, 500 run files watched.

Each key is timed from the key event to the first screen write that shows its effect (the
compare screen up, or gone; the focus moved), under Textual's headless driver at 160x45.
Every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from lrtui.bench.appdrive import until_shown

KEY_DEADLINE = 20.0
SIZE = (160, 45)


class _Screens:
    """Spies on the app's screen writes: when, and which screen and focus they showed."""

    def __init__(self, app) -> None:
        self.app = app
        self.shown: list[tuple[float, str, int | None]] = []
        self.written = asyncio.Event()
        display = app._display

        def spy(screen, renderable) -> None:
            display(screen, renderable)
            shown = app.screen  # a chart counts once its plots are drawn, not when it first shows
            name = type(shown).__name__ if getattr(shown, "drawn", True) else "drawing"
            self.shown.append((time.perf_counter(), name, getattr(app.focused, "index", None)))
            self.written.set()

        app._display = spy

    async def key(self, key: str, char: str | None, hit) -> float:
        from textual import events

        t0 = time.perf_counter()
        self.app.post_message(events.Key(key, char))
        return await until_shown(self.shown, self.written, t0, hit, KEY_DEADLINE)


async def _compare_and_focus(app, ready, rounds: int, focus_keys: int) -> dict:
    opens, closes, focus = [], [], []
    began = time.perf_counter()
    async with app.run_test(size=SIZE):
        spy = _Screens(app)
        start = time.perf_counter()
        while not ready(app):
            if time.perf_counter() - start > 120:
                raise TimeoutError("the runs did not show within 120 s")
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        for _ in range(rounds):
            opens.append(await spy.key("c", "c", lambda s, _: s == "CompareScreen"))
            await asyncio.sleep(0.5)
            closes.append(await spy.key("escape", None, lambda s, _: s != "CompareScreen"))
            await asyncio.sleep(0.5)
        for k in range(focus_keys):
            target = k % 9
            focus.append(await spy.key(str(target + 1), str(target + 1), lambda _, f, t=target: f == t))
            await asyncio.sleep(0.05)
        app.exit(0)
    seconds = time.perf_counter() - began
    return {"open_ms": _ms(opens), "close_ms": _ms(closes), "focus_ms": _ms(focus), "seconds": seconds}


def _ms(values: list[float]) -> list[float]:
    return [round(v * 1000, 1) for v in values]


def part_many_runs(runs: int = 40, rounds: int = 5) -> dict:
    """40 runs training in the app: compare's open and close, and the focus key."""
    from lrtui.engine.child import ChildTrainer, TrainerRecipe
    from lrtui.modes.config import Settings, build_experiment, parse_scheduler_flag
    from lrtui.modes.live import LIVE_FLUSH_SECONDS
    from lrtui.spec.describe import run_infos
    from lrtui.ui.app import LrTuiApp

    specs = [f"StepLR(step_size={1 + i % 5}, gamma={0.5 + 0.01 * i:.2f})" for i in range(runs)]
    exp = build_experiment(
        Settings(runs=[parse_scheduler_flag(s) for s in specs], epochs=100, batches=200, task="teacher")
    )

    child = ChildTrainer(TrainerRecipe(exp, linger=False, flush_interval=LIVE_FLUSH_SECONDS))  # as `lrtui`
    app = LrTuiApp(run_infos(exp), child.attach, source_label="bench")
    result = asyncio.run(_compare_and_focus(app, lambda a: a.state.total_steps >= runs * 400, rounds, 30))
    return {**result, "runs": runs}


def part_many_files(files: int = 500, steps: int = 1000, rounds: int = 3) -> dict:
    """500 run files under `lrtui watch`: compare's open and close."""
    from lrtui import RunRecorder
    from lrtui.record.watch import WatchSource
    from lrtui.ui.app import WatchApp

    with tempfile.TemporaryDirectory() as tmp:
        for i in range(files):
            rec = RunRecorder(Path(tmp), f"run{i:03d}")
            for step in range(1, steps + 1):
                rec.log(
                    step,
                    epoch=1 + step // 200,
                    lr=0.1 / (1 + i * 0.01),
                    loss=1.0 / (1 + step * 0.001 * (1 + i % 7)),
                )
            rec.close()

        def source(sink):
            return WatchSource(tmp, sink)

        app = WatchApp([], source, source_label="bench")
        ready = lambda a: len(a.state.runs) == files and all(r.step == steps for r in a.state.runs)  # noqa: E731
        result = asyncio.run(_compare_and_focus(app, ready, rounds, 0))
    return {**result, "files": files, "steps": steps}


def part_logs(steps: int = 1_000_000) -> dict:
    """A log of a million steps (about 108 MB, written as `RunRecorder` writes): exported to
    CSV, and caught up on by the watcher (its first block, and every step folded)."""
    import math

    from lrtui.record.export import export_to_file
    from lrtui.record.format import encode, encode_header
    from lrtui.record.watch import WatchSource
    from lrtui.spec.events import RunInfo, StepEvent
    from lrtui.state.runs import ExperimentState

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.jsonl"
        with path.open("w") as f:
            f.write(encode_header(RunInfo("big")))
            for step in range(1, steps + 1):  # the project's own encoder: the lines RunRecorder writes
                loss = 1.0 / (1 + step * 1e-4) + 0.01 * math.sin(step)
                lrs = (0.1 / (1 + step * 1e-5),)
                f.write(encode(StepEvent(0, 0, step, step // 1000, lrs, loss, step * 1e-5)) or "")
        size = path.stat().st_size
        t0 = time.perf_counter()
        export_to_file([path], str(Path(tmp) / "out.csv"))
        exported = time.perf_counter() - t0
        state = ExperimentState([], time.monotonic)
        src = WatchSource(path, state.apply)
        t0, first = time.perf_counter(), None
        while not state.runs or state.runs[0].step < steps:
            src.poll_once()
            if first is None and state.runs and state.runs[0].step:
                first = time.perf_counter() - t0
        caught_up = time.perf_counter() - t0
    return {"steps": steps, "mb": size / 1e6, "export_s": exported, "first_s": first, "all_s": caught_up,
            "seconds": exported + caught_up}  # fmt: skip


def report_logs(r: dict, start: dict) -> None:
    first, helps = start["first_screen_s"], start["help_s"]
    print(f"start-up, in a pseudo-terminal of 120x36 ({len(first)} runs; target <= 2 s):")
    print(f"  lrtui --help                           {min(helps):6.2f} s  (target <= 0.3)")
    mid = statistics.median(first)
    spread = f"{min(first):.2f} to {max(first):.2f}"
    print(f"  lrtui to its first screen              {mid:6.2f} s  (median; {spread})")
    print(f"a log of {r['steps']:,} steps ({r['mb']:.0f} MB), on this machine:")
    print(f"  lrtui export --csv                     {r['export_s']:6.2f} s  (target <= 3)")
    print(f"  lrtui watch: first block               {r['first_s']:6.2f} s")
    print(f"  lrtui watch: every step folded         {r['all_s']:6.2f} s  (target <= 3)")


def part_startup(rounds: int = 5) -> dict:
    """`lrtui` in a terminal (a pseudo-terminal of 120x36): seconds from the command to the
    first screen that shows the panels; and `lrtui --help`."""
    import fcntl
    import os
    import pty
    import select
    import struct
    import subprocess
    import sys
    import termios

    firsts, helps = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lrtui", "--help"], capture_output=True, check=True)
        helps.append(time.perf_counter() - t0)
        pid, fd = pty.fork()
        if pid == 0:  # the child: lrtui itself, in the pseudo-terminal
            os.execv(sys.executable, [sys.executable, "-m", "lrtui", "--epochs", "50"])
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
        t0, seen = time.perf_counter(), b""
        while b"StepLR" not in seen:
            if time.perf_counter() - t0 > 60:
                raise TimeoutError("lrtui showed no panels within 60 s")
            if select.select([fd], [], [], 1.0)[0]:
                seen = seen[-64:] + os.read(fd, 65536)
        firsts.append(time.perf_counter() - t0)
        os.write(fd, b"q")
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline and os.waitpid(pid, os.WNOHANG) == (0, 0):
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    os.read(fd, 65536)
                except OSError:
                    break
        os.close(fd)
    return {"first_screen_s": firsts, "help_s": helps, "seconds": sum(firsts) + sum(helps)}
