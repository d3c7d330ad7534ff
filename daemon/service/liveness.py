"""Whether the service is running, for `kithkin status`: from what it records in the store's
`meta` table (its pid, a heartbeat at least every HEARTBEAT_SECONDS, the moment of a clean
stop) and whether that pid is still a Kithkin process.

- stopped cleanly (SIGTERM): "stopped", at the moment it recorded;
- its process is gone without a word (kill -9, a crash, the machine off): "gone", last seen
  at its last heartbeat;
- the process is there but has not beaten for longer than it ever should: "not
  responding", last seen at its last heartbeat;
- else "running".

`assess` is pure: the records, the moment and a pid check come in as arguments; the
service writes the records with `Heartbeat`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from kithkin.daemon.core.dates import parse_utc_iso, utc_iso
from kithkin.daemon.errors import KithkinError
from kithkin.daemon.store import Store

log = logging.getLogger("kithkin.service")

HEARTBEAT_SECONDS = 60.0
# Keys in `meta`, written by the service (loop.py).
PID = "service.pid"
HEARTBEAT = "service.heartbeat_at"
RUN_STARTED = "service.run_started_at"
STOPPED = "service.stopped_at"
LAST_POLL = "service.last_poll_at"  # the heartbeat of services from before HEARTBEAT
STATE = "service.state"
KEYS = (PID, HEARTBEAT, RUN_STARTED, STOPPED, LAST_POLL, STATE)


@dataclass(frozen=True)
class Liveness:
    state: str  # "running", "stopped", "gone", "not responding"
    since: datetime | None = None  # stopped at, or last seen at

    @property
    def running(self) -> bool:
        return self.state == "running"


def stale_after(timeout: float) -> timedelta:
    """How long a running service may go without a heartbeat: three beats, and one network
    operation that takes all of `[imap] timeout` (no beat while it waits)."""
    return timedelta(seconds=3 * HEARTBEAT_SECONDS + timeout)


def assess(
    records: Mapping[str, str | None],
    now: datetime,
    *,
    alive: Callable[[int], bool | None],
    stale: timedelta,
) -> Liveness | None:
    """The service's liveness at `now`; None if it never ran with this store. `alive(pid)`:
    True, False, or None when it cannot be told."""
    heartbeat = _moment(records.get(HEARTBEAT)) or _moment(records.get(LAST_POLL))
    pid = _pid(records.get(PID))
    if heartbeat is None and pid is None and records.get(STATE) is None:
        return None
    stopped = _moment(records.get(STOPPED))
    started = _moment(records.get(RUN_STARTED))
    if stopped is not None and (started is None or stopped >= started):
        return Liveness("stopped", stopped)
    process = alive(pid) if pid is not None else None
    if process is False:
        return Liveness("gone", heartbeat)
    if heartbeat is None or now - heartbeat > stale:
        return Liveness("not responding" if process else "gone", heartbeat)
    return Liveness("running", heartbeat)


def kithkin_alive(pid: int) -> bool | None:
    """Whether `pid` is a running Kithkin process (not this one); None if it cannot be told."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    except OSError:
        return None
    proc = Path(f"/proc/{pid}")
    try:
        stat = (proc / "stat").read_bytes()
        command = (proc / "cmdline").read_bytes()
    except FileNotFoundError:
        return False  # ended meanwhile
    except OSError:
        return None
    if stat.rpartition(b")")[2].split()[:1] == [b"Z"]:
        return False  # ended, not yet reaped
    if not command:
        return None  # a process just started, or a kernel thread: cannot tell
    return b"kithkin" in command  # a reused pid is another program's


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_utc_iso(text)
    except ValueError:
        return None


def _pid(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and 0 < int(text) < 2**31 else None


class Heartbeat:
    """What the service records for `assess`: its start, a beat at most every
    HEARTBEAT_SECONDS of its clock (between polls, and between a sync's commands), and its
    clean stop. A record that cannot be written is skipped: the next beat tries again."""

    def __init__(self, store: Callable[[], Store], clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        self.last: datetime | None = None

    def started(self) -> None:
        now = self.clock()
        self._write({RUN_STARTED: utc_iso(now), STOPPED: None, PID: str(os.getpid())}, now)

    def beat(self, *, force: bool = False) -> None:
        now = self.clock()
        if force or self.last is None or (now - self.last).total_seconds() >= HEARTBEAT_SECONDS:
            self._write({}, now)

    def stopped(self) -> None:
        now = self.clock()
        self._write({STOPPED: utc_iso(now)}, now)

    def _write(self, values: dict[str, str | None], now: datetime) -> None:
        try:
            store = self.store()
            with store.atomic():
                for key, value in {**values, HEARTBEAT: utc_iso(now)}.items():
                    store.meta.set(key, value)
        except (KithkinError, sqlite3.DatabaseError) as exc:
            log.debug("heartbeat not recorded: %s", type(exc).__name__)
            return
        self.last = now
