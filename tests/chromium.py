"""Render HTML in headless Chromium (Debian `chromium`) to a PNG, and read the PNG back."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

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
