"""`[contacts] sources`, read by the service before the mail of each poll, so that mail of
people new on a card is matched (and their past mail looked up). Only changed files are read;
nothing here may stop the poll: a failure is one logged line, and the mail is synced all the
same."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime

from kithkin.daemon.app import App
from kithkin.daemon.core.dates import local_date
from kithkin.daemon.errors import KithkinError, frames, unexpected
from kithkin.daemon.sources import refresh_sources
from kithkin.daemon.sources.wording import PROBLEMS_LOGGED, change_line

log = logging.getLogger("kithkin.service")


def read_contact_sources(app: App, now: datetime, *, heartbeat: Callable[[], None]) -> None:
    config = app.config
    if not config.contacts.sources:
        return
    try:
        reports = refresh_sources(
            app.store,
            config.contacts,
            now=now,
            today=local_date(now, config.owner_zone()),
            heartbeat=heartbeat,
        )
    except Exception as exc:  # noqa: BLE001 - the mail is synced all the same
        if not isinstance(exc, KithkinError | sqlite3.DatabaseError):
            log.debug("%s at:\n%s", type(exc).__name__, frames(exc))
        log.error("contact sources not read: %s", unexpected(exc))
        return
    for report in reports:
        for problem in report.problems[:PROBLEMS_LOGGED]:
            log.warning("%s", problem)
        if len(report.problems) > PROBLEMS_LOGGED:
            more = len(report.problems) - PROBLEMS_LOGGED
            log.warning("%s: and %d more problem(s)", report.source, more)
        if report.error_is_new:
            log.warning("contacts: %s", change_line(report))
        elif report.changed:
            log.info("contacts: %s", change_line(report))
