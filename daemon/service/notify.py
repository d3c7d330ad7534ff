"""sd_notify(3) without a dependency: one datagram to $NOTIFY_SOCKET per state change.

Failures are logged, never raised: a daemon must not die because systemd went away, nor
wait for it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger("kithkin.notify")


class Notifier:
    """Sends never block: systemd's socket queues only `net.unix.max_dgram_qlen` datagrams
    (often 10), and a full queue must not freeze the main loop. A WATCHDOG or STATUS that
    cannot be queued is dropped (the next one follows soon); READY is kept and sent again
    with the next message, or by `flush()`, until it is queued."""

    def __init__(self, address: str | None) -> None:
        if address and address.startswith("@"):
            address = "\0" + address[1:]  # abstract namespace
        self.address = address
        self._socket: socket.socket | None = None
        self._pending_ready: tuple[str, ...] | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if env is None else env
        return cls(env.get("NOTIFY_SOCKET") or None)

    @property
    def ready_pending(self) -> bool:
        return self._pending_ready is not None

    def send(self, *fields: str) -> bool:
        """Queue one datagram; False if it could not be (and it was dropped, unless READY)."""
        if not self.address:
            return True
        self.flush()
        if self._send(fields):
            return True
        if "READY=1" in fields:
            self._pending_ready = fields
        return False

    def flush(self) -> None:
        """Send a READY that could not be queued before."""
        if self._pending_ready is not None and self._send(self._pending_ready):
            self._pending_ready = None

    def _send(self, fields: tuple[str, ...]) -> bool:
        assert self.address is not None
        payload = "\n".join(field.replace("\n", " ") for field in fields).encode("utf-8")
        try:
            if self._socket is None:
                kind = socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
                self._socket = socket.socket(socket.AF_UNIX, kind)
            self._socket.sendto(payload, self.address)
        except BlockingIOError:
            log.debug("sd_notify: the socket's queue is full; not sent")
            return False
        except OSError as exc:
            log.debug("sd_notify failed: %s", exc.strerror or type(exc).__name__)
            self.close()
            return False
        return True

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")

    def stopping(self) -> None:
        self.send("STOPPING=1", "STATUS=stopping")

    def reloading(self, monotonic_usec: int) -> None:
        self.send("RELOADING=1", f"MONOTONIC_USEC={monotonic_usec}")


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings: half of $WATCHDOG_USEC, when it is meant for us."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC")
    pid = env.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(int(usec) / 2_000_000, 0.05)
    except ValueError:
        return None
