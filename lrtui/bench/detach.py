"""`python -m lrtui.bench.detach`: what training in a process of its own costs a live
comparison that records (`lrtui --log-dir DIR` in a terminal), and what `d` costs its training.

In a pseudo-terminal of 120x36, the README's demo (`lrtui --epochs 3000`, two schedules) is
started with and without `--log-dir`, and timed from the command to the first screen that
shows the panels (the median of `--repeat` starts each). With `--log-dir`, `d` is pressed once
the runs have trained 300 steps, and the log of one run is read every 10 ms for the next 5 s:
the longest time without a new step is training's gap at the detach (the log's own flushes,
every 0.05 s, included), and the trainer's pid (the control socket's peer) before and after
says whether the same process trained on.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import socket
import statistics
import struct
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

from lrtui.engine.control import SOCKET

DEMO = ["-s", "StepLR(step_size=1, gamma=0.9)", "-s", "CosineAnnealingLR(T_max=20)", "--epochs", "3000"]
LIMIT_SECONDS = 120.0  # every wait gives up after this


class _Pty:
    """`lrtui ARGV` in a pseudo-terminal of 120x36, its output read (and kept) on a thread."""

    def __init__(self, argv: list[str]) -> None:
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: lrtui itself
            os.execv(sys.executable, [sys.executable, "-m", "lrtui", *argv])
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
        self.pid, self.fd, self.seen, self.first_panels = pid, fd, b"", None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                if select.select([self.fd], [], [], 0.5)[0]:
                    self.seen = self.seen[-256:] + os.read(self.fd, 65536)
            except OSError:  # the app has ended
                return
            if self.first_panels is None and b"StepLR" in self.seen:
                self.first_panels = time.perf_counter() - self.started

    def press(self, key: bytes) -> None:
        os.write(self.fd, key)

    def end(self) -> None:
        """Wait for the app to exit by itself; kill it if it does not."""
        deadline = time.perf_counter() + 30
        while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            if time.perf_counter() > deadline:
                os.kill(self.pid, signal.SIGKILL)
            time.sleep(0.05)
        os.close(self.fd)


def _until(test, what: str):  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + LIMIT_SECONDS
    while not (found := test()):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"not within {LIMIT_SECONDS:.0f} s: {what}")
        time.sleep(0.01)
    return found


def _steps(path: Path) -> int:
    try:
        return path.read_bytes().count(b'\n{"step"')
    except FileNotFoundError:
        return 0


def _trainer_pid(log_dir: Path) -> int | None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        if probe.connect_ex(str(log_dir / SOCKET)) != 0:
            return None
        creds = probe.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return struct.unpack("3i", creds)[0]


def first_screen(log_dir: Path | None) -> float:
    """Seconds from the command to its first screen with the panels; then `q`."""
    app = _Pty(DEMO + (["--log-dir", str(log_dir)] if log_dir else []))
    seconds = _until(lambda: app.first_panels, "the first screen")
    app.press(b"q")
    app.end()
    return seconds


def detach_gap(log_dir: Path) -> tuple[float, bool]:
    """Training's longest gap after `d`, and whether the same process trained on."""
    app = _Pty([*DEMO, "--log-dir", str(log_dir)])
    run = log_dir / "CosineAnnealingLR.jsonl"
    _until(lambda: _steps(run) >= 300, "300 steps")
    before = _trainer_pid(log_dir)
    app.press(b"d")
    start = last_change = time.perf_counter()
    count, gap = _steps(run), 0.0
    while (now := time.perf_counter()) - start < 5.0:
        if (n := _steps(run)) != count:
            gap, count, last_change = max(gap, now - last_change), n, now
        time.sleep(0.01)
    gap = max(gap, time.perf_counter() - last_change)
    app.end()
    after = _trainer_pid(log_dir)
    if after is not None:  # stopped as Ctrl-C would: every run's final status written
        os.kill(after, signal.SIGTERM)
        _until(lambda: _trainer_pid(log_dir) is None, "the trainer to stop")
    return gap, before is not None and before == after


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lrtui.bench.detach", description=__doc__)
    p.add_argument("--repeat", type=int, default=3, help="starts timed each way, and detaches (default 3)")
    args = p.parse_args(argv)
    plain, recording, gaps, same = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeat):  # interleaved: the machine's load falls on both alike
            plain.append(first_screen(None))
            recording.append(first_screen(Path(tmp) / f"start{k}"))
            gap, kept = detach_gap(Path(tmp) / f"detach{k}")
            gaps.append(gap)
            same.append(kept)

    def figure(xs: list[float]) -> str:
        return f"{statistics.median(xs):5.2f} s  (median of {len(xs)}: {min(xs):.2f} to {max(xs):.2f})"

    print("a live comparison in a pseudo-terminal of 120x36 (lrtui --epochs 3000, two schedules):")
    print(f"  to its first screen, without --log-dir     {figure(plain)}")
    print(f"  to its first screen, with --log-dir        {figure(recording)}")
    print(f"  training's longest gap after d             {figure(gaps)}")
    print(f"  the same trainer process after d           {sum(same)} of {len(same)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
