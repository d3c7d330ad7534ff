"""The datagram socket systemd listens on ($NOTIFY_SOCKET), for tests of `kithkin run`."""

from __future__ import annotations

import socket
import threading
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
        self.arrivals: list[tuple[float, str]] = []  # (monotonic time, message), if listening
        self._listener: threading.Thread | None = None
        self._closing = threading.Event()

    def listen(self) -> None:
        """Collect in the background from now on, with each datagram's arrival time."""

        def run() -> None:
            while not self._closing.is_set():
                try:
                    message = self.sock.recv(4096).decode()
                except TimeoutError:
                    continue
                except OSError:
                    return
                self.arrivals.append((time.monotonic(), message))
                self.messages.append(message)

        self._listener = threading.Thread(target=run, name="notify socket", daemon=True)
        self._listener.start()

    def fill(self) -> int:
        """Queue datagrams nobody reads until the kernel refuses more (the socket's queue,
        `net.unix.max_dgram_qlen`, is full); returns how many were queued."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
            sender.setblocking(False)
            queued = 0
            while True:
                try:
                    sender.sendto(b"X-TEST=filler", str(self.path))
                except BlockingIOError:
                    return queued
                queued += 1

    def drain(self) -> int:
        """Throw away everything queued; returns how many datagrams that was."""
        drained = 0
        self.sock.setblocking(False)
        try:
            while True:
                message = self.sock.recv(4096).decode()
                if message != "X-TEST=filler":
                    self.messages.append(message)
                drained += 1
        except BlockingIOError:
            return drained
        finally:
            self.sock.settimeout(0.2)

    def collect(self) -> None:
        """Take whatever has arrived, waiting at most 0.2 s for the first datagram."""
        if self._listener is not None:  # the listening thread takes them
            time.sleep(0.05)
            return
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
        self._closing.set()
        if self._listener is not None:
            self._listener.join()
        self.sock.close()
