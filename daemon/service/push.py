"""Push instead of poll: between polls the service waits in IDLE on INBOX (mail/idle.py)
where the server offers it, so new mail, and a reply to the summary, is read within seconds;
the other folders keep `poll_interval` (a sync reads every folder; an unchanged one costs a
STATUS).

One IDLE lasts across the loop's short waits (which keep feeding the watchdog and wake at
once on SIGTERM and SIGHUP) until the server reports a change, a poll needs the connection,
or REISSUE_SECONDS have passed (RFC 2177: end it and send it again before 29 minutes, ahead
of a server's inactivity logout). Time is the service's clock.

Nothing arriving between the sync and the IDLE is missed: where the sync left another folder
examined, INBOX is examined again and its UIDNEXT compared with the one the sync saved (a
difference: sync now, once per UIDNEXT); where INBOX is still the examined folder, the server
reports what came since in the IDLE itself.

A failed IDLE (the connection dropped, BYE, a refusal) is the caller's to handle: it
disconnects and polls at once, and IDLE is not tried again before a backoff (2 s doubling to
15 minutes, reset by an IDLE that ended well), so a server that breaks every IDLE is polled,
not hammered. What the service is doing is logged when it changes, not per cycle.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta

from kithkin.daemon.errors import KithkinError
from kithkin.daemon.mail.idle import Idle
from kithkin.daemon.mail.session import ImapSession
from kithkin.daemon.service.health import BACKOFF_CAP, BACKOFF_START, Clock
from kithkin.daemon.store import Store
from kithkin.parsers.text import clean_line

log = logging.getLogger("kithkin.service")
detail = logging.getLogger("kithkin.service.detail")  # heard from -v on (see logbook.py)

INBOX = "INBOX"
REISSUE_SECONDS = 29 * 60.0  # module-level: tests shorten it
IDLING = "IDLE on INBOX"
POLLING = "polling"


class Push:
    """The IDLE between polls, its backoff after failures, and what is said about it."""

    def __init__(self, clock: Clock, store: Callable[[], Store]) -> None:
        self.clock = clock
        self.store = store
        self.idle: Idle | None = None  # the IDLE command in progress
        self.since: datetime | None = None  # when it was sent
        self.retry_at: datetime | None = None  # after a failed IDLE: not again before
        self.backoff = BACKOFF_START
        self.capable = False  # the last server asked offered IDLE
        self.mode: str | None = None  # IDLING or POLLING, as last logged
        self.failed_before = False  # the last mode logged was a failure
        self._triggered: tuple[int, int] | None = None  # the UIDNEXT a sync was started for

    @property
    def active(self) -> bool:
        return self.idle is not None

    def available(self, mailbox: ImapSession) -> bool:
        """Whether to wait in IDLE now: the server offers it and no failure is backed off."""
        if self.idle is not None:
            return True  # nothing may be sent meanwhile, CAPABILITY included
        self.capable = mailbox.has_idle()
        if not self.capable:
            self._say(POLLING, "the server offers no IDLE: new mail is read at each poll")
            return False
        return self.retry_at is None or self.clock.now() >= self.retry_at

    def wait(self, mailbox: ImapSession, seconds: float, wake_fd: int) -> bool:
        """Wait up to `seconds` in IDLE on INBOX (or until `wake_fd` is readable); True if
        INBOX changed, so a sync is due. MailboxError if the connection failed."""
        if self.idle is None:
            if self._changed_since_sync(mailbox):
                return True
            self.idle = Idle.start(mailbox)
            self.since = self.clock.now()
            self._say(IDLING, "waiting for new mail with IDLE on INBOX")
        assert self.since is not None
        left = REISSUE_SECONDS - (self.clock.now() - self.since).total_seconds()
        if left <= 0:
            return self.end()  # sent again at the next wait
        if not self.idle.pending():
            self.clock.wait(min(seconds, left), wake_fd, self.idle.fileno())
        changed = self.idle.changes()
        if self.idle.over:  # the server ended it (its OK): sent again at the next wait
            self.idle = None
        return changed

    def end(self, *, timeout: float | None = None) -> bool:
        """End the IDLE in progress, if any (DONE); True if INBOX changed meanwhile.
        MailboxError if the connection failed; the IDLE is over either way."""
        idle, self.idle = self.idle, None
        if idle is None:
            return False
        changed = idle.done(timeout=timeout)
        self.backoff, self.retry_at = BACKOFF_START, None
        return changed

    def drop(self) -> None:
        """Forget the IDLE in progress: its connection is being closed."""
        self.idle = None

    def failed(self, error: str) -> None:
        """An IDLE failed: poll, and idle again only after the backoff."""
        self.idle = None
        self.retry_at = self.clock.now() + timedelta(seconds=self.backoff)
        self.backoff = min(self.backoff * 2, BACKOFF_CAP)
        again = f"{self.retry_at:%H:%M:%S}"
        message = f"IDLE failed ({clean_line(error)}); polling, IDLE again from {again}"
        self._say(POLLING, message, problem=True)

    def _changed_since_sync(self, mailbox: ImapSession) -> bool:
        selected = mailbox.selected
        if selected is not None and selected.name == INBOX:
            return False  # the server reports what came since its EXAMINE in the IDLE
        seen = mailbox.examine(INBOX)
        synced = self.store().folders.get(INBOX)
        if seen.uidnext is None or synced.uidnext is None or synced.uidvalidity is None:
            return False  # nothing to compare (INBOX not synced, or no UIDNEXT)
        now = (seen.uidvalidity, seen.uidnext)
        if now == (synced.uidvalidity, synced.uidnext) or now == self._triggered:
            return False
        self._triggered = now  # once: a sync that cannot catch up must not run in a loop
        return True

    def _say(self, mode: str, message: str, *, problem: bool = False) -> None:
        if mode == self.mode:
            return
        self.mode = mode
        # without -v: a failure, and the IDLE that follows it; the first IDLE only from -v on
        (log if problem or self.failed_before else detail).info("%s", message)
        self.failed_before = problem
        try:
            store = self.store()
            with store.atomic():
                store.meta.set("service.waiting", mode)  # for `kithkin status`
        except (KithkinError, sqlite3.DatabaseError) as exc:  # the next poll reports it
            log.debug("service.waiting not saved: %s", type(exc).__name__)
