"""The bench's app parts: the full Textual app under its headless driver, watched or used.

Used means keys pressed throughout training, each timed from the key event to the first
screen write that shows its effect. Every wait has a deadline, so a part that cannot finish
says why instead of hanging.
"""

from __future__ import annotations

import asyncio
import time

from lrtui.bench.parts import experiment, peak_mb

KEY_DEADLINE = 10.0  # seconds a key may take to show before the part gives up


async def until_shown(shown: list[tuple], written: asyncio.Event, t0: float, hit, limit: float) -> float:
    """Seconds from t0 to the first screen write after t0 (`shown`: (time, *what it showed))
    that `hit` accepts; TimeoutError after `limit` seconds, so a part can never hang."""
    deadline = t0 + limit
    while True:
        found = next((row[0] for row in shown if row[0] >= t0 and hit(*row[1:])), None)
        if found is not None:
            return found - t0
        written.clear()
        left = deadline - time.perf_counter()
        if left <= 0:
            raise TimeoutError(f"the screen did not show a key within {limit:g} s")
        try:
            await asyncio.wait_for(written.wait(), left)
        except asyncio.TimeoutError:
            continue


class _Probe:
    """Spies on the app's screen writes: when, what had focus, whether every run showed paused."""

    def __init__(self, app) -> None:
        self.app = app
        self.shown: list[tuple[float, int | None, bool]] = []
        self.written = asyncio.Event()
        display = app._display

        def spy(screen, renderable) -> None:
            display(screen, renderable)
            paused = app.state.overall() == "paused"
            self.shown.append((time.perf_counter(), getattr(app.focused, "index", None), paused))
            self.written.set()

        app._display = spy

    async def _until(self, t0: float, hit) -> float:
        return await until_shown(self.shown, self.written, t0, lambda f, p: hit(f, p), KEY_DEADLINE)

    async def focus(self, target: int) -> float:
        from textual import events

        t0 = time.perf_counter()
        self.app.post_message(events.Key(str(target + 1), str(target + 1)))
        return await self._until(t0, lambda f, _: f == target)

    async def pause_all(self) -> float:
        """Pause every run, time until the screen shows it, resume."""
        from textual import events

        t0 = time.perf_counter()
        self.app.post_message(events.Key("space", " "))
        seconds = await self._until(t0, lambda _, p: p)
        self.app.post_message(events.Key("space", " "))
        return seconds


async def _drive(app, probe: _Probe | None, runs: int, deadline: float) -> dict:
    latencies: list[float] = []
    pauses: list[float] = []
    paused_for = 0.0
    async with app.run_test(size=(120, 40)):
        start = time.perf_counter()  # the app is up; the trainer builds its data from here on
        while app.state.overall() not in ("finished", "failed"):
            if time.perf_counter() - start > deadline:
                raise TimeoutError(f"training did not finish within {deadline:g} s")
            if probe is None or app.state.total_steps == 0:
                await asyncio.sleep(0.25 if probe is None else 0.05)  # watched: the trainer's time counts
                continue
            latencies.append(await probe.focus(len(latencies) % runs))
            if len(pauses) < 10 and app.state.overall() == "running":
                t0 = time.perf_counter()
                pauses.append(await probe.pause_all())
                paused_for += time.perf_counter() - t0
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "key_ms": _ms(latencies),
        "pause_ms": _ms(pauses),
        "paused_seconds": paused_for,
    }


def _ms(values: list[float]) -> list[float]:
    return [round(v * 1000, 2) for v in values]


def app_run(epochs: int, batches: int, keys: bool, deadline: float = 1800.0, isolate: bool = True) -> dict:
    """One app run to the end; with `keys`, keys are pressed throughout and timed. `isolate`:
    the trainer in a process of its own, as the app does on the CPU; else in a thread."""
    from lrtui.engine.child import ChildTrainer, TrainerRecipe
    from lrtui.engine.trainer import Trainer
    from lrtui.modes.live import LIVE_FLUSH_SECONDS
    from lrtui.spec.describe import run_infos
    from lrtui.spec.events import RunStatus
    from lrtui.ui.app import LrTuiApp

    exp = experiment(epochs, batches)
    made: list = []

    def trainer(sink) -> Trainer:
        return Trainer(exp, sink, plans=True, flush_interval=LIVE_FLUSH_SECONDS)

    recipe = TrainerRecipe(exp, linger=False, flush_interval=LIVE_FLUSH_SECONDS)
    child = ChildTrainer(recipe) if isolate else None  # as `lrtui` trains on the CPU

    def source(sink):
        made.append(child.attach(sink) if child is not None else trainer(sink))
        return made[-1]

    app = LrTuiApp(run_infos(exp), source, source_label="bench")
    probe = _Probe(app) if keys else None
    result = asyncio.run(_drive(app, probe, len(exp.runs), deadline))
    if not all(r.status is RunStatus.DONE for r in app.state.runs):
        raise RuntimeError("not every run finished")
    if made and hasattr(made[0], "done"):
        made[0].done.wait(10)  # the child's own figure arrives with its last events
    train = made[0].train_seconds if made else result["seconds"]
    return {**result, "train_seconds": train, "steps": len(exp.runs) * epochs * batches}


def part_app(epochs: int, batches: int) -> dict:
    """The app watched, no keys: what monitoring costs the training."""
    return {**app_run(epochs, batches, keys=False), "peak_mb": peak_mb()}


def part_keys(epochs: int, batches: int, isolate: bool = True) -> dict:
    """The app used: keys pressed throughout training, each timed until the screen shows it
    (`isolate`: the trainer in its own process, as on the CPU; else in the app's)."""
    used = app_run(epochs, batches, keys=True, isolate=isolate)
    return {
        "steps": used["steps"],
        "used_seconds": used["train_seconds"] - used["paused_seconds"],
        "key_ms": used["key_ms"],
        "pause_ms": used["pause_ms"],
    }
