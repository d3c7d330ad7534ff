"""Ports and processes for the test servers: free ports, waiting for a greeting with a
deadline (never a fixed sleep), ending a server's whole process group, finding binaries.
Standard library only, so `make demo` can use it without the test extra."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

Process = subprocess.Popen[bytes]


class ServerError(RuntimeError):
    """A test server failed to start or stop; the message carries its log tail."""


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free a moment ago (the kernel picks it; a race is unlikely)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_accepts(host: str, port: int, *, expect: bytes | None = None) -> bool:
    """True if a TCP connection succeeds (and, with `expect`, the first line starts so)."""
    try:
        # Short: a stranger holding the port may accept and never greet (callers retry).
        with socket.create_connection((host, port), timeout=0.5) as sock:
            if expect is None:
                return True
            return sock.makefile("rb").readline().startswith(expect)
    except OSError:
        return False


def wait_for_port(
    host: str,
    port: int,
    *,
    timeout: float = START_TIMEOUT,
    expect: bytes | None = None,
    alive: Callable[[], bool] | None = None,
    what: str = "server",
) -> None:
    """Poll until `host:port` accepts connections; give up early if `alive()` turns False."""
    deadline = time.monotonic() + timeout
    while True:
        if alive is not None and not alive():
            raise ServerError(f"{what} exited before {host}:{port} accepted connections")
        if port_accepts(host, port, expect=expect):
            return
        if time.monotonic() > deadline:
            raise ServerError(f"{what} did not accept connections on {host}:{port} in {timeout}s")
        time.sleep(0.02)


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group `pgid`, read from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command name: state ppid pgrp ...
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            members.append(int(entry))
    return members


def listening_sockets(pids: Iterable[int]) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state that one of `pids` holds."""
    inodes = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        inodes.add(target[len("socket:[") : -1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and inode in inodes:  # 0A: LISTEN
                    address, port = local.split(":")
                    raw = bytes.fromhex(address)
                    if len(raw) == 4:  # IPv4, stored as a little-endian word
                        address = socket.inet_ntoa(raw[::-1])
                    found.add((address, int(port, 16)))
    return found


def end_process_group(proc: Process, *, timeout: float = STOP_TIMEOUT) -> None:
    """Reap `proc` (a session leader) and make sure nothing of its group survives."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + timeout
    while group_members(proc.pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.02)


background_stops: list[threading.Thread] = []


def wait_for_background_stops() -> None:
    """Join the shutdowns started by `close(wait=False)`."""
    while background_stops:
        background_stops.pop().join()


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} missing)"


def find_binary(name: str) -> str | None:
    """`name` on PATH, or in the sbin directories an ordinary user's PATH often lacks."""
    found = shutil.which(name)
    if found:
        return found
    for directory in ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"):
        candidate = Path(directory, name)
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None
