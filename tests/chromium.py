"""Render HTML in headless Chromium (Debian `chromium`): a PNG from the command line
(`render`), or a page driven over the DevTools protocol (`Browser`): a viewport of any width,
light or dark, scripts evaluated in the page, console errors collected, full-page PNGs."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import struct
import subprocess
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from helpers import missing_tool

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    missing_tool("chromium not installed (apt-get install chromium)", "KITHKIN_REQUIRE_CHROMIUM")


@dataclass(frozen=True)
class Rendering:
    png: Path
    console: list[str]  # console messages and uncaught errors the page produced
    stderr: str


def render(html_file: Path, png: Path, *, width: int = 420, height: int = 1400,
           dark: bool = False) -> Rendering:  # fmt: skip
    """Screenshot `html_file` at a phone-like width; dark=True asks for the dark color scheme."""
    profile = png.parent / f".chromium-profile-{png.stem}"
    args = [chromium_binary(), *FLAGS, f"--user-data-dir={profile}",
            f"--window-size={width},{height}", f"--screenshot={png}"]  # fmt: skip
    if dark:
        args.append("--force-dark-mode")
    args.append(html_file.resolve().as_uri())
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    shutil.rmtree(profile, ignore_errors=True)
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert png.exists(), f"chromium wrote no screenshot:\n{result.stderr[-2000:]}"
    return Rendering(png, console, result.stderr)


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of an 8-bit RGB or RGBA PNG, filters undone."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 3
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, chunk = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6), (depth, color)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + predictor) & 0xFF
        previous = line
        if channels == 4:
            line = bytearray(b for i, b in enumerate(line) if i % 4 != 3)
        rows.append(bytes(line))
    return width, height, rows


def mean_brightness(path: Path) -> float:
    _, _, rows = png_pixels(path)
    total = sum(sum(row) for row in rows)
    count = sum(len(row) for row in rows)
    return total / count


def distinct_colours(path: Path) -> int:
    _, _, rows = png_pixels(path)
    colours = set()
    for row in rows[::7]:
        for x in range(0, len(row) - 2, 21):
            colours.add(row[x : x + 3])
    return len(colours)


# --- the DevTools protocol over --remote-debugging-pipe --------------------------------------

TIMEOUT = 60.0


class Browser:
    """One headless Chromium, spoken to over a pipe (fds 3 and 4 in the child, put there by
    bash: dash cannot redirect from fds above 9): JSON messages ending in NUL. No port, no
    websocket, nothing else listening.

        with Browser(tmp_path) as browser:
            page = browser.open(html_file, width=360, dark=True)
            page.evaluate("document.title")
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.log = directory / "chromium.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._next_id = 0
        self._buffer = b""
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> Self:
        binary = chromium_binary()
        ours_in, theirs_out = os.pipe()
        theirs_in, ours_out = os.pipe()
        profile = self.directory / ".chromium-profile"
        command = " ".join([
            "exec", binary, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}",
            "about:blank", f"3<&{theirs_in}", f"4>&{theirs_out}",
        ])  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [shutil.which("bash") or "bash", "-c", command], pass_fds=(theirs_in, theirs_out),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )  # fmt: skip
        os.close(theirs_in)
        os.close(theirs_out)
        self._in, self._out = ours_in, ours_out
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(AssertionError, OSError):
            self.call("Browser.close", timeout=10)
        assert self.process is not None
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._in)
        os.close(self._out)
        shutil.rmtree(self.directory / ".chromium-profile", ignore_errors=True)

    def call(self, method: str, params: dict[str, Any] | None = None, *,
             session: str | None = None, timeout: float = TIMEOUT) -> dict[str, Any]:  # fmt: skip
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline, method)
            if reply.get("id") == self._next_id:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, method: str, session: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == method and event.get("sessionId") == session:
                    return self.events.pop(index)
            self.events.append(self._receive(deadline, method))

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._in], [], [], max(0.0, left))
            assert ready, f"chromium did not answer {waiting_for} in time:\n{self._log_tail()}"
            chunk = os.read(self._in, 1 << 16)
            assert chunk, f"chromium went away during {waiting_for}:\n{self._log_tail()}"
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(raw))

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def open(self, html_file: Path, *, width: int, height: int = 800,
             dark: bool = False) -> Page:  # fmt: skip
        """A new tab showing `html_file` in a viewport `width` CSS px wide (a phone below
        600: mobile, so <meta name=viewport> applies), in light or dark colours."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        page = Page(self, session, width, dark)
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=session)
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1,
                   "mobile": width < 600}  # fmt: skip
        self.call("Emulation.setDeviceMetricsOverride", metrics, session=session)
        scheme = {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}
        self.call("Emulation.setEmulatedMedia", {"features": [scheme]}, session=session)
        self.call("Page.navigate", {"url": html_file.resolve().as_uri()}, session=session)
        self.wait_for("Page.loadEventFired", session)
        page.evaluate("document.fonts.ready.then(() => true)")
        return page


@dataclass
class Page:
    browser: Browser
    session: str
    width: int
    dark: bool
    console: list[str] = field(default_factory=list)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.browser.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=self.session,
        )
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        self._collect()
        return result["result"].get("value")

    def screenshot(self, png: Path) -> Path:
        """The whole page, however long, as a PNG."""
        shot = self.browser.call(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True},
            session=self.session,
        )
        png.write_bytes(base64.b64decode(shot["data"]))
        return png

    def errors(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions and log errors so far."""
        self._collect()
        return list(self.console)

    def _collect(self) -> None:
        kept = []
        for event in self.browser.events:
            if event.get("sessionId") != self.session:
                kept.append(event)
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in (
                "error",
                "warning",
                "assert",
            ):
                words = " ".join(str(arg.get("value", arg.get("description", "")))
                                 for arg in params.get("args", []))  # fmt: skip
                self.console.append(f"console.{params['type']}: {words}")
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                text = details.get("exception", {}).get("description") or details.get("text")
                self.console.append(f"exception: {text}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in (
                "error",
                "warning",
            ):
                self.console.append(f"log: {params['entry'].get('text')}")
        self.browser.events = kept
