"""The read-only IMAP session the sync reads from: folders, EXAMINE, list UIDs, fetch headers.

Strictly read-only: folders are opened with EXAMINE and headers fetched with BODY.PEEK, so
nothing on the server changes. The only write Kithkin can make, appending its own summary
when `delivery = "imap"`, lives in delivery.py and is not reachable from here.

The commands of the sync go over `Wire` (wire.py), pipelined where one does not need the
reply of another: LIST with the STATUS of every known folder (`survey`: one round trip for
an idle poll), EXAMINE with the first listing window, and the header FETCHes of the batches
ahead (`prefetch_headers`), so a distant server's round trip is paid about once per folder,
not once per batch. Header fetching itself is headers.py's.
"""

from __future__ import annotations

import imaplib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from imapclient import IMAPClient

from kithkin.daemon.config import ImapConfig
from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail import listing
from kithkin.daemon.mail.connect import (
    NETWORK_ERRORS,
    close_quietly,
    describe_failure,
    open_client,
)
from kithkin.daemon.mail.credentials import Credential
from kithkin.daemon.mail.folders import choose_folders, missing_folders
from kithkin.daemon.mail.headers import (
    ADDRESS_FIELDS,
    BODY_LIMIT,
    FIRST_READ,
    HEADER_ITEM,
    HEADER_LIMIT,
    OTHER_FIELDS_ITEM,
    HeaderFetcher,
)
from kithkin.daemon.mail.records import (
    MALFORMED,
    FetchedHeader,
    FolderStatus,
    FolderUnavailable,
    SearchRefused,
    Survey,
)
from kithkin.daemon.mail.responses import listed_uids
from kithkin.daemon.mail.session_listing import SessionListing
from kithkin.daemon.mail.status import examined, listed_folders, statuses
from kithkin.daemon.mail.wire import Reply, Wire

__all__ = [  # the header fetch's limits, for the tests' in-memory mailbox to mirror
    "ADDRESS_FIELDS",
    "BODY_LIMIT",
    "FIRST_READ",
    "HEADER_ITEM",
    "HEADER_LIMIT",
    "OTHER_FIELDS_ITEM",
    "ImapSession",
]
log = logging.getLogger("kithkin.imap")
T = TypeVar("T")
STATUS_ITEMS = b"(MESSAGES UIDNEXT UIDVALIDITY)"
# An extended LIST (RFC 5258) returns special-use attributes only when asked (RFC 6154)
LIST_ALL = {False: b'LIST "" "*"',
            True: b'LIST "" "*" RETURN (SPECIAL-USE STATUS ' + STATUS_ITEMS + b")"}  # fmt: skip


class ImapSession(SessionListing):
    """A logged-in, read-only IMAP session. Use `ImapSession.connect(...)`; close with
    logout(). The real `MailSource` of the sync engine. Listing UIDs is session_listing.py's."""

    def __init__(
        self,
        client: IMAPClient,
        config: ImapConfig,
        reopen: Callable[[], IMAPClient] | None = None,
    ) -> None:
        self.client = client
        self.config = config
        self.where = f"{config.host}:{config.port}"
        self._reopen = reopen
        self._esearch: bool | None = None  # whether the server answers ESEARCH
        self.selected: FolderStatus | None = None
        # The last commands sent, for tests and debugging; bounded, the daemon runs for months.
        self.commands: deque[str] = deque(maxlen=1000)
        self.wire = Wire(client._imap)
        self._turns_before = 0  # round trips of the connections before this one
        self._first_window: tuple[int, list[int]] | None = None  # sent with EXAMINE
        self._ahead: dict[tuple[int, int, bool], bytes] = {}  # listing windows sent ahead
        self._early: dict[bytes, list[Any]] = {}  # their ESEARCH lines, read with another's
        self.headers = HeaderFetcher(self)

    @classmethod
    def connect(cls, config: ImapConfig, secret: Credential | str) -> ImapSession:
        return cls(open_client(config, secret), config, lambda: open_client(config, secret))

    @property
    def turns(self) -> int:
        """Round trips so far: how often the client waited for the server after sending."""
        return self._turns_before + self.wire.turns

    def reconnect(self) -> None:
        """A fresh connection, with the same folder examined again; for retrying a command
        that broke the last one. MailboxError if the server cannot be reached or the folder
        changed its UIDVALIDITY meanwhile."""
        if self._reopen is None:
            raise MailboxError(f"{self.where}: the connection broke and cannot be reopened")
        close_quietly(self.client)
        self.commands.append("(reconnect)")
        self.headers.forget()
        self._turns_before += self.wire.turns
        self.client = self._reopen()
        self.wire = Wire(self.client._imap)
        selected = self.selected
        if selected is not None:
            again = self.examine(selected.name)
            if again.uidvalidity != selected.uidvalidity:
                raise MailboxError(
                    f"{self.where}: {selected.name}: UIDVALIDITY changed during the sync"
                )

    @contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Every failure of `what` as one MailboxError naming the server and the cause."""
        try:
            yield
        except NETWORK_ERRORS as exc:
            raise MailboxError(f"{self.where}: {what}: {describe_failure(exc)}") from None
        except MALFORMED as exc:
            raise MailboxError(f"{self.where}: {what}: malformed reply ({exc})"[:300]) from None

    def send(self, record: str, command: bytes) -> bytes:
        """Send one command over the wire (recorded as `record`); its tag."""
        self.commands.append(record)
        with self.guard(record.split(" ", 1)[0]):
            return self.wire.send(command)

    def _quiet(self, tag: bytes, *wanted: bytes) -> Reply | None:
        """The reply of a command whose NO or BAD is an answer, not a failure (STATUS of a
        folder that is gone); None then. A broken connection still raises."""
        try:
            return self.wire.collect(tag, *wanted)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error:
            return None

    def _mailbox(self, folder: str) -> bytes:
        name: bytes | str = self.client._normalise_folder(folder)
        return name if isinstance(name, bytes) else name.encode("utf-8")

    # --- folders ------------------------------------------------------------------------

    def folders_to_sync(self) -> list[str]:
        """`[imap] folders`, or the folders its LIST reply shows (see folders.py)."""
        return self.survey((), status=False).folders

    def survey(self, known: Iterable[str], *, status: bool = True) -> Survey:
        """The folders to sync and their STATUS, in one round trip for the folders in `known`
        (the last sync's): their STATUS commands and LIST are sent together. A folder new in
        the LIST costs one more, except in a first survey (none known) of a server with
        LIST-STATUS, whose LIST reply holds every STATUS.

        The STATUS commands go first, INBOX's first of all: Dovecot answers a STATUS of INBOX
        in 3 ms as the first mailbox command of a session, and in 65-100 ms after any other
        (LIST or another folder's STATUS) when INBOX holds 70,000 messages. The order changes
        nothing else: each reply is read by its tag, each STATUS by its folder's name."""
        self.headers.drain()
        known = list(known)
        configured = list(self.config.folders or ())
        with self.guard("LIST"):
            with_status = status and not configured and not known and self._has_list_status()
            with self.wire.corked():
                ask = sorted(configured or known, key=lambda f: f.upper() != "INBOX")
                asked = [self._send_status(f) for f in ask] if status else []
                listing = None if configured else self.send("LIST", LIST_ALL[with_status])
            data = [item for tag in asked for item in self._statuses_of(tag)]
            folders = configured
            if listing is not None:
                reply = self.wire.collect(listing, b"LIST", b"STATUS")
                folders = choose_folders(listed_folders(reply))
                data += reply.of(b"STATUS")
            found = statuses(data)
            with self.wire.corked():
                late = [
                    self._send_status(f)
                    for f in folders
                    if status and not configured and f not in found  # configured: all asked
                ]
            data += [item for tag in late for item in self._statuses_of(tag)]
        found = statuses(data)
        complete = {}
        for folder in folders:
            said = found.get(folder)
            if said and said.uidvalidity and said.uidnext and said.messages is not None:
                complete[folder] = FolderStatus(
                    folder, said.uidvalidity, said.uidnext, said.messages
                )
        unanswered = [folder for folder in configured if status and folder not in found]
        # A configured folder without a STATUS may not exist: one LIST says, only then.
        missing = missing_folders(unanswered, self.list_folders()) if unanswered else []
        return Survey(folders, complete, tuple(missing))

    def _has_list_status(self) -> bool:
        """Whether LIST can return each folder's STATUS with it (RFC 5819): a first survey,
        which knows no folder to ask STATUS of before the LIST reply, then costs one round
        trip, not two. Only with SPECIAL-USE, which folders.py picks folders by."""
        client = self.client
        return bool(client.has_capability("LIST-STATUS") and client.has_capability("SPECIAL-USE"))

    def list_folders(self) -> list[tuple[Any, Any, str]]:
        """Every folder the server lists: (attributes, delimiter, name) triples, names
        decoded from modified UTF-7 (for `folders.missing_folders`, say)."""
        self.headers.drain()
        with self.guard("LIST"):
            return listed_folders(self.wire.collect(self.send("LIST", b'LIST "" "*"'), b"LIST"))

    def _statuses_of(self, tag: bytes) -> list[object]:
        """A STATUS reply's data, none for a NO (a folder that is gone)."""
        reply = self._quiet(tag, b"STATUS")
        return reply.of(b"STATUS") if reply is not None else []

    def _send_status(self, folder: str) -> bytes:
        command = b"STATUS " + self._mailbox(folder) + b" " + STATUS_ITEMS
        return self.send(f"STATUS {folder}", command)

    def examine(
        self, folder: str, expect: FolderStatus | None = None, cursor: int | None = None
    ) -> FolderStatus:
        """EXAMINE (read-only SELECT) a folder and report its UIDVALIDITY, UIDNEXT and size.
        With `expect` (its STATUS), the first listing window goes with it, in one round trip;
        with `cursor` too (the listing above it is the next thing asked), so do the later
        windows STATUS says that listing needs."""
        self.headers.drain()
        if self._ahead:  # windows sent with an EXAMINE whose folder was not listed after all
            self._drain_ahead()
        self._has_esearch()  # asked now: imapclient's CAPABILITY must not go in between
        self.selected = None
        self._first_window = None
        self._listed_ahead = False
        what = f"EXAMINE {folder}"
        window = None
        with self.guard(what), self.wire.corked():
            tag = self.send(what, b"EXAMINE " + self._mailbox(folder))
            if expect is not None and expect.exists > 0:
                start = max(1, expect.exists - listing.FIRST_LIST_WINDOW + 1)
                window = (start, self._send_listing(start, expect.exists, True))
                if cursor is not None and self._has_esearch():
                    self._list_windows_ahead(expect, start, cursor)
        try:
            # the listing's reply may start before EXAMINE's ends (see headers.py)
            reply = self.wire.collect(tag, b"EXISTS", b"OK", b"ESEARCH", b"FETCH")
        except imaplib.IMAP4.abort as exc:
            raise MailboxError(f"{self.where}: {what}: {describe_failure(exc)}") from None
        except imaplib.IMAP4.error as exc:
            self.client._imap.state = "AUTH"  # RFC 3501 §6.3.1: a failed EXAMINE deselects
            if window is not None:
                with self.guard(what):
                    self._quiet(window[1])
            raise FolderUnavailable(
                f"{self.where}: cannot open {folder}: {describe_failure(exc)}"
            ) from None
        except NETWORK_ERRORS as exc:
            raise MailboxError(f"{self.where}: {what}: {describe_failure(exc)}") from None
        self.client._imap.state = "SELECTED"  # imaplib's, for the commands imapclient sends
        said = examined(reply)
        if window is not None:
            with self.guard("UID SEARCH"):
                early = reply.of(b"ESEARCH") + reply.of(b"FETCH")
                self._first_window = (window[0], self._listing_of(window[1], early=early))
        if not said.read_only:
            log.debug("%s: server did not confirm READ-ONLY for %s", self.where, folder)
        if said.uidvalidity is None:
            raise MailboxError(f"{self.where}: {folder}: server sent no valid UIDVALIDITY")
        if said.exists is None:
            raise MailboxError(f"{self.where}: {folder}: server sent no valid EXISTS")
        if said.uidnext is None and said.uidnext_sent:
            log.warning("%s: %s: ignoring an invalid UIDNEXT", self.where, folder)
        found = FolderStatus(folder, said.uidvalidity, said.uidnext, said.exists)
        self.selected = found
        return found

    def has_idle(self) -> bool:
        """Whether the server offers IDLE (RFC 2177), which the service waits with (idle.py)."""
        with self.guard("CAPABILITY"):
            self.headers.drain()
            return bool(self.client.has_capability("IDLE"))

    def existing(self, uids: list[int]) -> set[int]:
        """Which of `uids` the examined folder still holds."""
        if not uids:
            return set()
        self.headers.drain()
        listed = ",".join(str(uid) for uid in sorted(uids))
        tag = self.send(f"UID FETCH {listed} (UID)", f"UID FETCH {listed} (UID)".encode())
        with self.guard("UID FETCH"):
            found = listed_uids(self.wire.collect(tag, b"FETCH").of(b"FETCH"), self.where)
        wanted = set(uids)
        return {uid for uid in found if uid in wanted}

    def search_uids(self, criteria: list[object], *, charset: str | None = None) -> list[int]:
        """A UID SEARCH as given; used for the targeted backfill (FROM/TO/CC/BCC).

        A server that answers NO or BAD (it cannot do this search) raises SearchRefused, so
        the caller can fall back to scanning headers.
        """
        self.headers.drain()
        self.commands.append("UID SEARCH " + " ".join(str(c) for c in criteria))
        try:
            return sorted(self.client.search(criteria, charset=charset))
        except imaplib.IMAP4.abort as exc:
            raise MailboxError(f"{self.where}: UID SEARCH: {describe_failure(exc)}") from None
        except imaplib.IMAP4.error as exc:
            raise SearchRefused(
                f"{self.where}: UID SEARCH refused: {describe_failure(exc)}"
            ) from None
        except NETWORK_ERRORS as exc:
            raise MailboxError(f"{self.where}: UID SEARCH: {describe_failure(exc)}") from None

    # --- headers and bodies (headers.py) --------------------------------------------------

    def prefetch_headers(self, uids: list[int]) -> None:
        self.headers.prefetch(uids)

    def fetch_headers(self, uids: list[int]) -> list[FetchedHeader]:
        return self.headers.fetch(uids)

    def fetch_whole_headers(self, uids: list[int]) -> list[FetchedHeader]:
        return self.headers.fetch_whole(uids)

    def fetch_bodies(self, uids: list[int]) -> dict[int, bytes]:
        return self.headers.fetch_bodies(uids)

    def noop(self) -> None:
        self.headers.drain()
        self.commands.append("NOOP")
        with self.guard("NOOP"):
            self.client.noop()

    def logout(self) -> None:
        """LOGOUT, and the connection closed without waiting for the server's goodbye (a
        round trip that would change nothing: all is read and committed by now)."""
        with suppress(Exception):
            self.wire.send(b"LOGOUT")
        with suppress(Exception):
            self.client.shutdown()
