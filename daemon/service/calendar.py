"""The service's calendar step: at each poll, the calendar sources that changed are read
(daemon/calendar/) before the mailbox is, whatever state the mailbox is in.

Unchanged sources cost a listing of their files; of a changed one, only the files that
changed are read (the memo). A warning about a file is logged when the file is read, so
once per change of it; a failure of the whole step is logged when it changes, like the
sync's, and never stops the service.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from kithkin.daemon.app import App
from kithkin.daemon.errors import KithkinError, frames, unexpected
from kithkin.daemon.service.health import Clock
from kithkin.daemon.store import database_failure

if TYPE_CHECKING:
    from kithkin.daemon.calendar.reader import CalendarMemo

log = logging.getLogger("kithkin.service")


class CalendarStep:
    def __init__(self, app: App, clock: Clock, heartbeat: Callable[[], None]) -> None:
        self.app = app
        self.clock = clock
        self.heartbeat = heartbeat
        self.last_error: str | None = None
        self.memo: CalendarMemo | None = None

    def run(self) -> None:
        config = self.app.config
        if not config.calendar.sources:
            return
        from kithkin.daemon.calendar.reader import CalendarMemo, read_calendars  # when needed

        if self.memo is None:
            self.memo = CalendarMemo()
        try:
            report = read_calendars(
                self.app.store,
                config.calendar,
                config.me,
                config.owner_zone(),
                self.clock.now(),
                warn=lambda line: log.warning("%s", line),
                heartbeat=self.heartbeat,
                memo=self.memo,
            )
        except Exception as exc:  # noqa: BLE001 - the calendar never stops the service
            if isinstance(exc, sqlite3.DatabaseError):
                exc = database_failure(exc, self.app.store.path)
            error = f"calendar not read: {unexpected(exc)}"
            if error != self.last_error:
                log.error("%s", error)
                if not isinstance(exc, KithkinError):
                    log.debug("%s at:\n%s", type(exc).__name__, frames(exc))
            self.last_error = error
            return
        if self.last_error:
            log.info("calendar read again")
        self.last_error = None
        if report.logged:
            log.info("calendar: %s", report.summary())
