"""`kithkin run`: the long-running service systemd starts and leaves running for months.

Two jobs on a timetable driven by the injected clock (timetable.py): a sync every `[daemon]
poll_interval` over every mailbox (accounts.py: each with its own connection and backoff),
and a check every minute whether the weekly summary is due (summary_job.py).

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

import json
import logging
import os
import signal
import sqlite3
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta, tzinfo
from functools import partial
from types import FrameType
from typing import Any, TypeAlias

from kithkin.daemon.app import App
from kithkin.daemon.config import Config, ImapConfig
from kithkin.daemon.core.dates import utc_iso
from kithkin.daemon.errors import KithkinError, frames, unexpected
from kithkin.daemon.mail.credentials import Credential
from kithkin.daemon.mail.session import ImapSession
from kithkin.daemon.service.accounts import Account, adopt_unnamed, arrange, mailbox_store
from kithkin.daemon.service.calendar import CalendarStep
from kithkin.daemon.service.contact_sources import read_contact_sources
from kithkin.daemon.service.health import Clock, Health, SystemClock, Wakeup
from kithkin.daemon.service.liveness import Heartbeat
from kithkin.daemon.service.logbook import PollLog, start_line
from kithkin.daemon.service.notify import Notifier, watchdog_interval
from kithkin.daemon.service.push import Push
from kithkin.daemon.service.summary_job import STARTED_KEY, SummaryJob
from kithkin.daemon.service.timetable import Timetable
from kithkin.daemon.steering.policy import reply_policy
from kithkin.daemon.store import Store, database_failure
from kithkin.daemon.sync import Stopped, Sync

log = logging.getLogger("kithkin.service")

SUMMARY_CHECK_SECONDS = 60
READY_RETRY_SECONDS = 1.0  # while systemd's full socket has not taken READY=1
STOP_DONE_SECONDS = 2.0  # how long a stopping service waits for the end of its IDLE
# What signal.signal() takes and returns (typeshed's private signal._HANDLER).
SignalHandler: TypeAlias = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class Service:
    def __init__(
        self,
        app: App,
        *,
        clock: Clock | None = None,
        notifier: Notifier | None = None,
        connect: Callable[[ImapConfig], ImapSession] | None = None,
    ) -> None:
        self.app = app
        self.clock = clock or SystemClock()
        self.notifier = notifier or Notifier.from_env()
        self.connect = connect or _connect
        self.health = Health()  # the sync's, of the first mailbox
        self.others: list[Account] = []  # the other mailboxes (accounts.py)
        self.summary = SummaryJob(app, self.clock)
        self.mailbox: ImapSession | None = None
        self.stopping = False
        self.reload_requested = False
        self.wakeup = Wakeup()
        self.timetable = Timetable(self.clock.now)
        self.watchdog_every = watchdog_interval()
        self.last_watchdog = 0.0
        self.push = Push(
            self.clock, lambda: mailbox_store(self.store, self.config, self.config.require_imap())
        )
        self.calendar = CalendarStep(app, self.clock, self.ping_watchdog)
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
                self.summary.run_if_due()
            self._loop()
        finally:
            self.notifier.stopping()
            self.notifier.close()
            self._restore_signals(previous)
            self._disconnect_all()
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
        self.timetable.every(SUMMARY_CHECK_SECONDS, self.summary.run_if_due)

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
        if old is None or new.mailboxes != old.mailboxes or new.me != old.me:
            for account in self.others:
                account.drop()
            self.others = []
        if old is not None and new.store_path != old.store_path:
            log.warning("[store] path changes take effect at the next restart")
        self._schedule_jobs()
        log.info("config reloaded from %s", new.source)
        self.notifier.send("READY=1", f"STATUS={self.status_line()}")

    # --- the sync job -------------------------------------------------------------------

    def poll(self) -> None:
        """Sync every mailbox: the first on the service's own connection, then each other on
        its own; each with its own backoff. The address books of [contacts] sources first."""
        read_contact_sources(self.app, self.clock.now(), heartbeat=self.ping_watchdog)
        self.calendar.run()  # the changed calendar sources, whatever state the mailbox is in
        self._poll(self.config.require_imap(), self.health, self._mailbox, self._disconnect)
        self.others, gone = arrange(self.config, self.others)
        for account in gone:
            account.drop()
        for account in self.others:
            if self.stopping:
                break
            self._poll(account.imap, account.health, partial(self._session, account), account.drop)
        self._save_status()
        self.notifier.status(self.status_line())

    def _poll(
        self,
        imap: ImapConfig,
        health: Health,
        session: Callable[[], ImapSession],
        disconnect: Callable[[], None],
    ) -> None:
        now = self.clock.now()
        if health.retry_at and now < health.retry_at:
            return
        where = f"{imap.name}: " if imap.name else ""
        try:
            store = mailbox_store(self.store, self.config, imap)
            adopt_unnamed(store, self.config, imap)
            engine = Sync(
                session(),
                store,
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
            disconnect()
            health.failed(f"{where}{exc}", self.clock.now())
            return
        except Exception as exc:  # noqa: BLE001 - nothing unforeseen may stop the service
            disconnect()
            message = f"{where}sync failed: unexpected {type(exc).__name__} (see the debug log)"
            health.failed(message, self.clock.now(), exc=exc)
            return
        health.ok(report.summary(), self.clock.now())
        self.poll_log.polled(report, imap.name)

    def _session(self, account: Account) -> ImapSession:
        """An other mailbox's connection, kept open between polls like the first one's."""
        if account.session is not None:
            try:
                account.session.noop()
                return account.session
            except KithkinError as exc:
                log.info("%s: connection lost (%s); reconnecting", account.imap.name, exc)
                account.drop()
        account.session = self.connect(account.imap)
        return account.session

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
        self.mailbox = self.connect(self.config.require_imap())
        return self.mailbox

    def _disconnect(self) -> None:
        if self.push.active:
            with suppress(KithkinError):
                self.push.end(timeout=STOP_DONE_SECONDS)  # so that LOGOUT is heard
        self.push.drop()
        if self.mailbox is not None:
            self.mailbox.logout()
            self.mailbox = None

    def _disconnect_all(self) -> None:
        self._disconnect()
        for account in self.others:
            account.drop()

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
        failing = [a.imap.name for a in self.others if a.health.state == "failing"]
        others = f"; failing: {', '.join(failing)}" if failing else ""
        if self.health.state == "failing":
            retry = self.health.retry_at.strftime("%H:%M:%S") if self.health.retry_at else "?"
            return (
                f"failing ({self.health.failures}x), retry at {retry}: "
                f"{self.health.last_error}{others}"
            )
        if self.health.last_poll_at is None:
            return "connected, first sync running" if self.mailbox else "starting"
        return f"ok at {self.health.last_poll_at:%H:%M:%S}: {self.health.last_result}{others}"

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
            failing = {a.imap.name: a.health.last_error for a in self.others if a.health.last_error}
            self.store.meta.set(
                "service.mailboxes_failing", json.dumps(failing) if failing else None
            )
        self.heartbeat.beat(force=True)


def _connect(imap: ImapConfig) -> ImapSession:
    return ImapSession.connect(imap, Credential(imap))
