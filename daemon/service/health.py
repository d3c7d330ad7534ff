"""The service's health (what `kithkin status` and systemd's STATUS= show, with a backoff
that doubles up to 15 minutes), its clock, and the self-pipe that wakes its loop."""

from __future__ import annotations

import logging
import os
import select
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from kithkin.daemon.errors import frames
from kithkin.parsers.text import clean_line

log = logging.getLogger("kithkin.service")

BACKOFF_START = 2.0
BACKOFF_CAP = 15 * 60.0


class Clock(Protocol):
    def now(self) -> datetime: ...
    def wait(self, seconds: float, wake_fd: int, *more: int) -> None:
        """Sleep `seconds`, or until one of the file descriptors is readable."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now().astimezone()

    def wait(self, seconds: float, wake_fd: int, *more: int) -> None:
        if seconds > 0:
            select.select([wake_fd, *more], [], [], seconds)


@dataclass
class Health:
    """What `kithkin status` and STATUS= show; failures are logged only when they change."""

    state: str = "starting"
    last_error: str | None = None
    failures: int = 0
    retry_at: datetime | None = None
    backoff: float = BACKOFF_START
    last_poll_at: datetime | None = None
    last_result: str | None = None

    def ok(self, result: str, now: datetime) -> None:
        if self.state != "ok" and self.last_error:
            log.info("recovered after %d failed attempt(s)", self.failures)
        self.state, self.last_error, self.failures = "ok", None, 0
        self.backoff, self.retry_at = BACKOFF_START, None
        self.last_poll_at, self.last_result = now, clean_line(result)

    def failed(self, error: str, now: datetime, *, exc: BaseException | None = None) -> None:
        error = clean_line(error)  # often a server's words: stored, logged, sent to systemd
        if error != self.last_error:
            log.error("%s", error)
            if exc is not None:  # where an unforeseen one happened; never its text
                log.debug("%s at:\n%s", type(exc).__name__, frames(exc))
        self.failures += 1
        self.state, self.last_error, self.last_poll_at = "failing", error, now
        self.retry_at = now + timedelta(seconds=self.backoff)
        self.backoff = min(self.backoff * 2, BACKOFF_CAP)


class Wakeup:
    """A self-pipe: signal handlers write to it so a sleeping loop wakes at once."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)

    def poke(self) -> None:
        with suppress(BlockingIOError):  # already full: the loop will wake anyway
            os.write(self.write_fd, b"x")

    def drain(self) -> None:
        with suppress(BlockingIOError):
            while os.read(self.read_fd, 512):
                pass

    def close(self) -> None:
        os.close(self.read_fd)
        os.close(self.write_fd)
