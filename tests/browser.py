"""A real browser for journey tests: headless Chromium (Debian's package), driven over the
DevTools protocol with aiohttp's websocket client (aiohttp comes with textual-serve).

textual-serve draws the app with xterm.js on a canvas, so the page has no text to read in its
DOM. A script that runs before the page's own keeps each terminal object textual-serve makes
(its constructor assigns `websocket_url`, caught by a setter on `Object.prototype`), and the
screen is read from that terminal's buffer, row by row: what the person sees, as text. Keys
are real key events sent to the focused page, as a keyboard sends them. Every wait has a
deadline and fails with the page's screen as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1600,1000", "--remote-debugging-port=0",
]  # fmt: skip
START_SECONDS = 60.0  # how long Chromium may take to open its DevTools port
CALL_SECONDS = 30.0  # how long one DevTools call may take
POLL_SECONDS = 0.2  # how often a wait reads the screen again (each read is a check, not a sleep)

KEEP_TERMINALS = """
Object.defineProperty(Object.prototype, "websocket_url", {
  configurable: true,
  set(value) {
    const own = {value, writable: true, configurable: true, enumerable: true};
    Object.defineProperty(this, "websocket_url", own);
    (window.__lrtuiTerminals = window.__lrtuiTerminals || []).push(this);
  },
});
"""
SCREEN = """(() => {
  const held = (window.__lrtuiTerminals || [])[0];
  if (!held || !held.terminal) return "";
  const term = held.terminal, rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = term.buffer.active.getLine(y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
})()"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless Chromium with one page, its profile in `profile`."""

    def __init__(self, profile: Path) -> None:
        exe = chromium()
        assert exe is not None, "no chromium"
        self.process = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.loop = asyncio.new_event_loop()
        self._id = 0
        try:
            port = self._port(profile / "DevToolsActivePort")
            self.loop.run_until_complete(self._connect(port))
        except BaseException:
            self.close()
            raise

    def _port(self, path: Path) -> int:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError, IndexError):
                return int(path.read_text().splitlines()[0])
            assert self.process.poll() is None, f"chromium ended with code {self.process.returncode}"
            time.sleep(POLL_SECONDS)
        raise AssertionError("chromium opened no DevTools port")

    async def _connect(self, port: int) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession()
        async with self.session.get(f"http://127.0.0.1:{port}/json/list") as reply:
            targets = await reply.json()
        page = next(t for t in targets if t["type"] == "page")
        self.ws = await self.session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)

    # ---- the protocol ----------------------------------------------------------------------
    def call(self, method: str, **params: Any) -> dict:
        """One DevTools command and its result (events that come meanwhile are skipped)."""
        return self.loop.run_until_complete(asyncio.wait_for(self._call(method, params), CALL_SECONDS))

    async def _call(self, method: str, params: dict) -> dict:
        self._id += 1
        await self.ws.send_str(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads((await self.ws.receive()).data)
            if message.get("id") == self._id:
                assert "error" not in message, f"{method}: {message['error']}"
                return message["result"]

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    # ---- a person's view -------------------------------------------------------------------
    def open(self, url: str) -> None:
        self.call("Page.enable")
        self.call("Emulation.setFocusEmulationEnabled", enabled=True)  # headless: the page has focus
        self.call("Page.addScriptToEvaluateOnNewDocument", source=KEEP_TERMINALS)
        self.call("Page.navigate", url=url)

    def screen(self) -> str:
        return self.evaluate(SCREEN) or ""

    def wait_for(self, what: str | Callable[[str], bool], timeout: float = 60.0) -> str:
        test = (lambda s: what in s) if isinstance(what, str) else what
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if test(screen):
                return screen
            time.sleep(POLL_SECONDS)
        raise AssertionError(f"waited {timeout:.0f} s for {what!r}; the page shows:\n{screen}")

    def press(self, key: str) -> None:
        """One printable key, typed into the terminal (it has the keyboard's focus)."""
        self.evaluate("window.__lrtuiTerminals[0].terminal.focus()")
        code = f"Key{key.upper()}" if key.isalpha() else ""
        common = {"key": key, "code": code, "windowsVirtualKeyCode": ord(key.upper())}
        self.call("Input.dispatchKeyEvent", type="keyDown", text=key, **common)
        self.call("Input.dispatchKeyEvent", type="keyUp", **common)

    def close(self) -> None:
        async def shut() -> None:
            for closing in (getattr(self, "ws", None), getattr(self, "session", None)):
                if closing is not None:
                    await closing.close()

        with contextlib.suppress(Exception):
            self.loop.run_until_complete(shut())
        self.loop.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
