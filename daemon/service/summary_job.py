"""The weekly summary on its timetable. "Due" is decided from the clock and the store, so a
summary missed while the machine was off is sent once at the next start and never twice for
the same week. A failure never stops the service: it is retried with its own backoff."""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime

import jinja2

from kithkin.daemon.app import App
from kithkin.daemon.core.dates import local_date, parse_utc_iso
from kithkin.daemon.core.timing import last_scheduled, next_scheduled
from kithkin.daemon.errors import KithkinError
from kithkin.daemon.service.health import Clock, Health
from kithkin.daemon.store import database_failure
from kithkin.daemon.summary.render import week_of
from kithkin.daemon.summary.weekly import send_summary

log = logging.getLogger("kithkin.service")

STARTED_KEY = "service.started_at"


class SummaryJob:
    def __init__(self, app: App, clock: Clock) -> None:
        self.app = app
        self.clock = clock
        self.health = Health()  # its own backoff, logged on change

    def run_if_due(self) -> None:
        now = self.clock.now()
        retry_at = self.health.retry_at
        if retry_at and now < retry_at:
            return
        due = self.due()
        if due is None:
            return
        try:
            outcome = send_summary(
                self.app.store,
                self.app.config,
                as_of=local_date(now, self.app.config.owner_zone()),
                now=now,
                trigger="schedule",
                week=due,
            )
        except (KithkinError, sqlite3.DatabaseError) as exc:
            if isinstance(exc, sqlite3.DatabaseError):
                exc = database_failure(exc, self.app.store.path)
            self.health.failed(f"summary not sent, will retry: {exc}", now)
            return
        except jinja2.TemplateError as exc:  # a broken template override
            message = f"summary not sent: template {type(exc).__name__}: {exc}"[:300]
            self.health.failed(message, now, exc=exc)
            return
        except Exception as exc:  # noqa: BLE001 - nothing unforeseen may stop the service
            message = f"summary not sent: unexpected {type(exc).__name__} (see the debug log)"
            self.health.failed(message, now, exc=exc)
            return
        self.health.ok(outcome.status, now)
        if outcome.status == "sent":
            log.info("summary for %s sent: %s", outcome.week, outcome.subject)

    def due(self) -> str | None:
        """The week whose summary should go out now, if any."""
        now = self.clock.now()
        summary = self.app.config.summary
        moment = last_scheduled(now, summary.weekday, summary.time, self.app.config.owner_zone())
        started = self.app.store.meta.get(STARTED_KEY)
        if started and moment < parse_utc_iso(started):
            return None  # scheduled before Kithkin first ran here: nothing was missed
        week = week_of(moment.astimezone(self.app.config.owner_zone()).date())
        existing = self.app.store.summaries.for_week(week, "schedule")
        if existing and existing["sent_at"]:
            return None
        return week

    def next_at(self) -> datetime:
        summary = self.app.config.summary
        return next_scheduled(
            self.clock.now(), summary.weekday, summary.time, self.app.config.owner_zone()
        )
