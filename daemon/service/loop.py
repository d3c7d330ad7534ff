"""`kithkin run`: the long-running service systemd starts and leaves running for months.

Two jobs on a timetable driven by the injected clock (timetable.py): a sync every `[daemon]
poll_interval`, and a check every minute whether the weekly summary is due. "Due" is decided
from the clock and the store (summary_due), so a summary missed while the machine was off is
sent once at the next start and never twice for the same week.

One IMAP connection stays open between polls (checked with NOOP). Where the server offers
IDLE (and `[daemon] idle` is on), the service waits on INBOX with it between polls (push.py),
so new mail is read within seconds. After a drop, BYE, timeout or protocol error the
connection is reopened with exponential backoff, capped at 15 minutes (when idling, retried
at the backoff rather than at the next poll). A failed poll never stops the service; a
failure is logged when the state changes, not on every poll.

systemd: READY=1 once config, store and the first connection attempt are done; STATUS= after
each poll; WATCHDOG=1 while alive; SIGTERM finishes the current batch and exits 0; SIGHUP
reloads the config (a broken new config is reported and the old one kept).
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta, tzinfo
from types import FrameType
from typing import Any, TypeAlias

import jinja2

from kithkin.daemon.app import App
from kithkin.daemon.config import Config
from kithkin.daemon.core.dates import local_date, parse_utc_iso, utc_iso
from kithkin.daemon.core.timing import last_scheduled, next_scheduled
from kithkin.daemon.errors import KithkinError, frames, unexpected
from kithkin.daemon.mail.credentials import get_secret
from kithkin.daemon.mail.session import ImapSession
from kithkin.daemon.service.health import Clock, Health, SystemClock, Wakeup
from kithkin.daemon.service.liveness import Heartbeat
from kithkin.daemon.service.logbook import PollLog, start_line
from kithkin.daemon.service.notify import Notifier, watchdog_interval
from kithkin.daemon.service.push import Push
from kithkin.daemon.service.timetable import Timetable
from kithkin.daemon.steering.policy import reply_policy
from kithkin.daemon.store import Store, database_failure
from kithkin.daemon.summary.render import week_of
from kithkin.daemon.summary.weekly import send_summary
from kithkin.daemon.sync import Stopped, Sync

log = logging.getLogger("kithkin.service")

SUMMARY_CHECK_SECONDS = 60
READY_RETRY_SECONDS = 1.0  # while systemd's full socket has not taken READY=1
STOP_DONE_SECONDS = 2.0  # how long a stopping service waits for the end of its IDLE
STARTED_KEY = "service.started_at"
# What signal.signal() takes and returns (typeshed's private signal._HANDLER).
SignalHandler: TypeAlias = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class Service:
    def __init__(
        self,
        app: App,
        *,
        clock: Clock | None = None,
        notifier: Notifier | None = None,
        connect: Callable[[Config], ImapSession] | None = None,
    ) -> None:
        self.app = app
        self.clock = clock or SystemClock()
        self.notifier = notifier or Notifier.from_env()
        self.connect = connect or _connect
        self.health = Health()  # the sync's
        self.summary_health = Health()  # the summary's: its own backoff, logged on change
        self.mailbox: ImapSession | None = None
        self.stopping = False
        self.reload_requested = False
        self.wakeup = Wakeup()
        self.timetable = Timetable(self.clock.now)
        self.watchdog_every = watchdog_interval()
        self.last_watchdog = 0.0
        self.push = Push(self.clock, lambda: self.store)
        self.poll_log = PollLog()
        self.heartbeat = Heartbeat(lambda: self.store, self.clock.now)  # for `kithkin status`

    @property
    def config(self) -> Config:
        return self.app.config

    @property
    def store(self) -> Store:
        return self.app.store

    # --- lifecycle ----------------------------------------------------------------------

    def run(self) -> int:
        self.config.require_imap()
        self.store  # noqa: B018 - open (and migrate) the store before saying READY
        log.info("%s", start_line(self.config))
        if self.store.meta.get(STARTED_KEY) is None:
            with self.store.atomic():
                self.store.meta.set(STARTED_KEY, utc_iso(self.clock.now()))
        with self.store.atomic():
            self.store.meta.set("service.waiting", None)  # said again once known
        self.heartbeat.started()
        previous = self._install_signals()
        try:
            self._schedule_jobs()
            self._first_connection()
            self.notifier.ready(self.status_line())
            self.poll()
            if not self.stopping:
                self.summary_if_due()
            self._loop()
        finally:
            self.notifier.stopping()
            self.notifier.close()
            self._restore_signals(previous)
            self._disconnect()
            self.wakeup.close()
            self.heartbeat.stopped()
        log.info("kithkin stopped")
        return 0

    def _first_connection(self) -> None:
        """READY comes after config, store and this attempt, not after the first full sync
        (which on a large mailbox takes longer than systemd waits for a start)."""
        try:
            self._mailbox()
        except Exception as exc:  # noqa: BLE001 - the service starts and retries whatever
            self.health.failed(unexpected(exc), self.clock.now(), exc=exc)

    def _loop(self) -> None:
        while not self.stopping:
            if self.reload_requested:
                self.reload()
            self.timetable.run_pending()
            if self.health.retry_at and self.push.capable and self.config.daemon.idle:
                self.timetable.soon(self.poll, self.health.retry_at)  # reconnect at the backoff
            self.ping_watchdog(force=True)
            self.notifier.flush()
            if self.stopping:
                break
            idle = self.timetable.idle_seconds()
            wait = max(0.0, min(idle if idle is not None else 60.0, 60.0))
            if self.watchdog_every:
                wait = min(wait, self.watchdog_every)
            if self.notifier.ready_pending:
                wait = min(wait, READY_RETRY_SECONDS)
            if not self._idle(wait):
                self.clock.wait(wait, self.wakeup.read_fd)
            self.wakeup.drain()

    # --- push: IDLE between polls (push.py) ---------------------------------------------

    def _idle(self, wait: float) -> bool:
        """Wait up to `wait` seconds in IDLE on INBOX, if it may be; False: it may not (the
        caller sleeps instead). New mail brings the poll forward to now; a failed IDLE
        disconnects, polls now and leaves IDLE alone for a backoff."""
        try:
            if not self._may_idle(wait):
                if self.push.active:
                    self.push.end()
                return False
            assert self.mailbox is not None
            if self.push.wait(self.mailbox, wait, self.wakeup.read_fd):
                self.timetable.soon(self.poll, self.clock.now())
            return True
        except Exception as exc:  # noqa: BLE001 - a failed IDLE never stops the service
            if not isinstance(exc, KithkinError | sqlite3.DatabaseError):
                log.debug("%s at:\n%s", type(exc).__name__, frames(exc))
            self.push.drop()
            self._disconnect()
            self.push.failed(unexpected(exc))
            self.timetable.soon(self.poll, self.clock.now())
            return True

    def _may_idle(self, wait: float) -> bool:
        if not self.config.daemon.idle or self.mailbox is None or self.health.state != "ok":
            return False
        if self.stopping or self.reload_requested:
            return False
        if wait <= 0 and not self.push.active:
            return False  # a job is due: not worth an IDLE
        return self.push.available(self.mailbox)

    def _schedule_jobs(self) -> None:
        self.timetable.clear()
        self.timetable.every(self.config.daemon.poll_interval, self.poll)
        self.timetable.every(SUMMARY_CHECK_SECONDS, self.summary_if_due)

    def _install_signals(self) -> dict[signal.Signals, SignalHandler]:
        previous: dict[signal.Signals, SignalHandler] = {}
        for signum, handler in (
            (signal.SIGTERM, self._on_stop),
            (signal.SIGINT, self._on_stop),
            (signal.SIGHUP, self._on_reload),
        ):
            previous[signum] = signal.signal(signum, handler)
        return previous

    def _restore_signals(self, previous: dict[signal.Signals, SignalHandler]) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        self.wakeup.poke()

    def _on_reload(self, signum: int, frame: FrameType | None) -> None:
        self.reload_requested = True
        self.wakeup.poke()

    def reload(self) -> None:
        self.reload_requested = False
        self.notifier.reloading(time.monotonic_ns() // 1000)
        old = self.app._config
        try:
            new = self.app.reload_config()
        except KithkinError as exc:
            log.error("config not reloaded, keeping the old one: %s", exc)
            self.notifier.status(self.status_line())
            self.notifier.send("READY=1")
            return
        if old is None or new.imap != old.imap or new.me != old.me:
            self._disconnect()
        if old is not None and new.store_path != old.store_path:
            log.warning("[store] path changes take effect at the next restart")
        self._schedule_jobs()
        log.info("config reloaded from %s", new.source)
        self.notifier.send("READY=1", f"STATUS={self.status_line()}")

    # --- the sync job -------------------------------------------------------------------

    def poll(self) -> None:
        now = self.clock.now()
        if self.health.retry_at and now < self.health.retry_at:
            return
        try:
            mailbox = self._mailbox()
            engine = Sync(
                mailbox,
                self.store,
                self.config.me,
                clock=self.clock.now,
                heartbeat=self.ping_watchdog,
                reply_policy=reply_policy(self.config),
                should_stop=lambda: self.stopping,
                zone=self._zone(),
            )
            report = engine.run()
        except Stopped:
            log.info("stopping: the current batch is committed")
            return
        except (KithkinError, sqlite3.DatabaseError) as exc:
            if isinstance(exc, sqlite3.DatabaseError):
                exc = database_failure(exc, self.store.path)
            self._disconnect()
            self.health.failed(str(exc), self.clock.now())
            self._save_status()
            self.notifier.status(self.status_line())
            return
        except Exception as exc:  # noqa: BLE001 - nothing unforeseen may stop the service
            self._disconnect()
            message = f"sync failed: unexpected {type(exc).__name__} (see the debug log)"
            self.health.failed(message, self.clock.now(), exc=exc)
            self._save_status()
            self.notifier.status(self.status_line())
            return
        self.health.ok(report.summary(), self.clock.now())
        self.poll_log.polled(report)
        self._save_status()
        self.notifier.status(self.status_line())

    def _mailbox(self) -> ImapSession:
        if self.mailbox is not None:
            try:
                if self.push.active:
                    self.push.end()  # the tagged OK of IDLE shows the connection is alive
                else:
                    self.mailbox.noop()
                return self.mailbox
            except KithkinError as exc:
                log.info("connection lost (%s); reconnecting", exc)
                self._disconnect()
        self.mailbox = self.connect(self.config)
        return self.mailbox

    def _disconnect(self) -> None:
        if self.push.active:
            with suppress(KithkinError):
                self.push.end(timeout=STOP_DONE_SECONDS)  # so that LOGOUT is heard
        self.push.drop()
        if self.mailbox is not None:
            self.mailbox.logout()
            self.mailbox = None

    # --- the summary job ----------------------------------------------------------------

    def summary_if_due(self) -> None:
        now = self.clock.now()
        retry_at = self.summary_health.retry_at
        if retry_at and now < retry_at:
            return
        due = self.summary_due()
        if due is None:
            return
        try:
            outcome = send_summary(
                self.store,
                self.config,
                as_of=local_date(now, self._zone()),
                now=now,
                trigger="schedule",
                week=due,
            )
        except (KithkinError, sqlite3.DatabaseError) as exc:
            if isinstance(exc, sqlite3.DatabaseError):
                exc = database_failure(exc, self.store.path)
            self.summary_health.failed(f"summary not sent, will retry: {exc}", now)
            return
        except jinja2.TemplateError as exc:  # a broken template override
            message = f"summary not sent: template {type(exc).__name__}: {exc}"[:300]
            self.summary_health.failed(message, now, exc=exc)
            return
        except Exception as exc:  # noqa: BLE001 - nothing unforeseen may stop the service
            message = f"summary not sent: unexpected {type(exc).__name__} (see the debug log)"
            self.summary_health.failed(message, now, exc=exc)
            return
        self.summary_health.ok(outcome.status, now)
        if outcome.status == "sent":
            log.info("summary for %s sent: %s", outcome.week, outcome.subject)

    def summary_due(self) -> str | None:
        """The week whose summary should go out now, if any."""
        now = self.clock.now()
        summary = self.config.summary
        moment = last_scheduled(now, summary.weekday, summary.time, self._zone())
        started = self.store.meta.get(STARTED_KEY)
        if started and moment < parse_utc_iso(started):
            return None  # scheduled before Kithkin first ran here: nothing was missed
        week = week_of(moment.astimezone(self._zone()).date())
        existing = self.store.summaries.for_week(week, "schedule")
        if existing and existing["sent_at"]:
            return None
        return week

    def next_summary_at(self) -> datetime:
        summary = self.config.summary
        return next_scheduled(self.clock.now(), summary.weekday, summary.time, self._zone())

    def _zone(self) -> tzinfo:
        return self.config.owner_zone()

    # --- status ---------------------------------------------------------------------------

    def ping_watchdog(self, *, force: bool = False) -> None:
        self.heartbeat.beat()  # the sync calls this between commands, too
        if not self.watchdog_every:
            return
        now = time.monotonic()
        if force or now - self.last_watchdog >= self.watchdog_every:
            self.notifier.watchdog()
            self.last_watchdog = now

    def status_line(self) -> str:
        if self.health.state == "failing":
            retry = self.health.retry_at.strftime("%H:%M:%S") if self.health.retry_at else "?"
            return f"failing ({self.health.failures}x), retry at {retry}: {self.health.last_error}"
        if self.health.last_poll_at is None:
            return "connected, first sync running" if self.mailbox else "starting"
        return f"ok at {self.health.last_poll_at:%H:%M:%S}: {self.health.last_result}"

    def _save_status(self) -> None:
        next_poll = self.clock.now() + timedelta(seconds=self.config.daemon.poll_interval)
        if self.health.retry_at and self.health.retry_at > next_poll:
            next_poll = self.health.retry_at
        with self.store.atomic():
            self.store.meta.set("service.state", self.health.state)
            self.store.meta.set("service.last_error", self.health.last_error)
            self.store.meta.set(
                "service.last_poll_at",
                utc_iso(self.health.last_poll_at) if self.health.last_poll_at else None,
            )
            self.store.meta.set("service.last_result", self.health.last_result)
            self.store.meta.set("service.next_poll_at", utc_iso(next_poll))
            self.store.meta.set("service.pid", str(os.getpid()))
        self.heartbeat.beat(force=True)


def _connect(config: Config) -> ImapSession:
    imap = config.require_imap()
    return ImapSession.connect(imap, get_secret(imap))
