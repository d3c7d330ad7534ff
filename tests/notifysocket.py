"""The datagram socket systemd listens on ($NOTIFY_SOCKET), for tests of `kithkin run`."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

DEADLINE = 60.0  # generous: nothing asserts on speed


class NotifySocket:
    """Binds `path` and collects every datagram the daemon sends to it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[str] = []

    def collect(self) -> None:
        """Take whatever has arrived, waiting at most 0.2 s for the first datagram."""
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                return

    def wait_for(
        self,
        wanted: str | Callable[[str], bool],
        what: str | None = None,
        alive: Callable[[], bool] = lambda: True,
    ) -> str:
        """The first message containing `wanted` (or satisfying it, if callable)."""
        test = wanted if callable(wanted) else (lambda message: wanted in message)
        label = what or repr(wanted)
        deadline = time.monotonic() + DEADLINE
        seen = 0
        while time.monotonic() < deadline and alive():
            self.collect()
            for message in self.messages[seen:]:
                if test(message):
                    return message
            seen = len(self.messages)
        raise AssertionError(f"no {label} from the daemon; got {self.messages[-5:]}")

    def close(self) -> None:
        self.sock.close()
