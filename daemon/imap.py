"""The one IMAP connection: connect, find folders by attribute, search and fetch headers.

Strictly read-only: folders are opened with EXAMINE and headers fetched with BODY.PEEK, so
nothing on the server changes. The only write Kithkin can make, appending its own summary
when `delivery = "imap"`, lives in delivery.py and is not reachable from here.

Every socket error, TLS error, server BYE or protocol error is turned into one
`MailboxError` line naming the host and the cause.
"""

from __future__ import annotations

import imaplib
import logging
import re
import socket
import ssl
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from imapclient import IMAPClient, exceptions
from imapclient.datetime_util import parse_to_datetime
from imapclient.imapclient import ALL, SENT, SocketTimeout
from imapclient.response_parser import parse_fetch_response

from kithkin.daemon.config import ImapConfig
from kithkin.daemon.errors import MailboxError
from kithkin.parsers.headers import HEADER_FIELDS

log = logging.getLogger("kithkin.imap")

HEADER_ITEM = "BODY.PEEK[HEADER.FIELDS ({})]".format(" ".join(HEADER_FIELDS))
SEARCH_WINDOW = 50_000  # UIDs per UID SEARCH: keeps each response line far below imaplib's 1 MB
FETCH_BATCH = 500  # UIDs per UID FETCH: about 3.5 KB of command line
BODY_LIMIT = 256 * 1024  # bytes of a reply to a summary read at most
T = TypeVar("T")


@dataclass(frozen=True)
class FolderStatus:
    name: str
    uidvalidity: int
    uidnext: int | None
    exists: int


@dataclass(frozen=True)
class FetchedHeader:
    uid: int
    header: bytes | None  # None when the server sent no header section for this UID
    internaldate_value: datetime | bytes | None  # bytes: as sent, parsed only when needed

    @property
    def internaldate(self) -> datetime | None:
        value = self.internaldate_value
        if isinstance(value, bytes):
            try:
                return parse_to_datetime(value, normalise=False)
            except MALFORMED:
                return None
        return value


class FolderUnavailable(MailboxError):
    """One folder cannot be opened (deleted, renamed, no permission); the others still sync."""


class SearchRefused(MailboxError):
    """The server cannot run a search; the connection itself is still fine."""


def tls_context(ca_file: object | None) -> ssl.SSLContext:
    """Verify certificates against the system store, plus `ca_file` when given."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=str(ca_file))
    return context


def open_client(config: ImapConfig, secret: str) -> IMAPClient:
    """A logged-in IMAPClient: TLS verified, every socket operation under a timeout. The one
    place an IMAP connection is opened (the sync's, and delivery's for `delivery = "imap"`)."""
    where = f"{config.host}:{config.port}"
    try:
        client = IMAPClient(
            config.host,
            port=config.port,
            ssl=config.security == "tls",
            ssl_context=tls_context(config.ca_file) if config.security != "none" else None,
            timeout=SocketTimeout(connect=min(config.timeout, 30), read=config.timeout),
        )
    except (*NETWORK_ERRORS, *MALFORMED) as exc:
        raise MailboxError(f"{where}: cannot connect: {describe_failure(exc)}") from None
    client.normalise_times = False
    with suppress(OSError):  # imapclient writes a command in pieces: do not wait on ACKs
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    step = "STARTTLS"
    try:
        if config.security == "starttls":
            client.starttls(tls_context(config.ca_file))
        step = "login"
        if config.auth == "xoauth2":
            client.oauth2_login(config.username, secret)
        else:
            client.login(config.username, secret)
    except (*NETWORK_ERRORS, *MALFORMED) as exc:
        _close_quietly(client)
        raise MailboxError(f"{where}: {step} failed: {describe_failure(exc)}") from None
    return client


def _number(value: object, low: int, high: int) -> int | None:
    """A count or id from an EXAMINE response, if it is a whole number in range."""
    if isinstance(value, bytes):
        value = value.strip()
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, *MALFORMED):
        return None
    return number if low <= number <= high else None


def describe_failure(exc: BaseException) -> str:
    """A short human cause for a network or protocol failure, never including secrets."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, socket.gaierror):
        return "host name not found"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, exceptions.LoginError):
        return "the server refused the username or password"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    text = str(exc).strip() or type(exc).__name__
    if text[:2] in ("b'", 'b"') and text[-1:] in ("'", '"'):  # imaplib quotes server bytes
        text = text[2:-1]
    if isinstance(exc, imaplib.IMAP4.abort):
        return f"connection lost ({text[:200]})"
    return text[:200]


NETWORK_ERRORS = (OSError, imaplib.IMAP4.error, EOFError)
MALFORMED = (ValueError, OverflowError)  # a number or date in a reply that is not one
MAX_UID = 2**32  # RFC 3501: UIDs and UIDVALIDITY are 32-bit


class Mailbox:
    """A logged-in, read-only IMAP session. Use `Mailbox.connect(...)`; close with logout()."""

    def __init__(self, client: IMAPClient, config: ImapConfig) -> None:
        self.client = client
        self.config = config
        self.where = f"{config.host}:{config.port}"
        # The last commands sent, for tests and debugging; bounded, the daemon runs for months.
        self.commands: deque[str] = deque(maxlen=1000)

    @classmethod
    def connect(cls, config: ImapConfig, secret: str) -> Mailbox:
        return cls(open_client(config, secret), config)

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except NETWORK_ERRORS as exc:
            raise MailboxError(f"{self.where}: {what}: {describe_failure(exc)}") from None
        except MALFORMED as exc:
            raise MailboxError(f"{self.where}: {what}: malformed reply ({exc})"[:300]) from None

    def _call(self, what: str, command: str, fn: Callable[[], T]) -> T:
        self.commands.append(command)
        with self._guard(what):
            return fn()

    # --- folders ------------------------------------------------------------------------

    def folders_to_sync(self) -> list[str]:
        """`[imap] folders`, else the \\All folder (Gmail), else INBOX plus every \\Sent folder."""
        if self.config.folders:
            return list(self.config.folders)
        listing = self._call("LIST", "LIST", self.client.list_folders)
        selectable = [
            (flags, name) for flags, _delimiter, name in listing if b"\\Noselect" not in flags
        ]
        all_mail = [name for flags, name in selectable if ALL in flags]
        if all_mail:
            return all_mail[:1]
        sent = [name for flags, name in selectable if SENT in flags]
        if not sent:
            fallback = self._call(
                "LIST", "LIST (Sent)", lambda: self.client.find_special_folder(SENT)
            )
            sent = [fallback] if fallback else []
        return ["INBOX", *[name for name in sent if name.upper() != "INBOX"]]

    def examine(self, folder: str) -> FolderStatus:
        """EXAMINE (read-only SELECT) a folder and report its UIDVALIDITY, UIDNEXT and size."""
        self.commands.append(f"EXAMINE {folder}")
        try:
            response = self.client.select_folder(folder, readonly=True)
        except imaplib.IMAP4.abort as exc:
            raise MailboxError(f"{self.where}: EXAMINE {folder}: {describe_failure(exc)}") from None
        except imaplib.IMAP4.error as exc:
            raise FolderUnavailable(
                f"{self.where}: cannot open {folder}: {describe_failure(exc)}"
            ) from None
        except NETWORK_ERRORS as exc:
            raise MailboxError(f"{self.where}: EXAMINE {folder}: {describe_failure(exc)}") from None
        except MALFORMED as exc:
            raise MailboxError(f"{self.where}: EXAMINE {folder}: malformed reply ({exc})") from None
        if b"READ-ONLY" not in response:
            log.debug("%s: server did not confirm READ-ONLY for %s", self.where, folder)
        uidvalidity = _number(response.get(b"UIDVALIDITY"), 1, MAX_UID - 1)
        if uidvalidity is None:
            raise MailboxError(f"{self.where}: {folder}: server sent no valid UIDVALIDITY")
        exists = _number(response.get(b"EXISTS"), 0, MAX_UID)
        if exists is None:
            raise MailboxError(f"{self.where}: {folder}: server sent no valid EXISTS")
        uidnext = _number(response.get(b"UIDNEXT"), 1, MAX_UID)
        if uidnext is None and response.get(b"UIDNEXT") is not None:
            log.warning("%s: %s: ignoring an invalid UIDNEXT", self.where, folder)
        return FolderStatus(name=folder, uidvalidity=uidvalidity, uidnext=uidnext, exists=exists)

    # --- search and fetch (on the examined folder) ---------------------------------------

    def uids_above(self, last_uid: int, uidnext: int | None) -> Iterator[list[int]]:
        """The UIDs above `last_uid`, one sorted window at a time.

        With UIDNEXT known the search runs in explicit `UID a:b` windows below it. Without it
        one `UID n:*` search is made; that range always includes the highest UID even when n
        is above it, so results at or below the cursor are dropped in both cases.
        """
        start = last_uid + 1
        if uidnext is None:
            found = self._search_window(start, "*")
            window = sorted(uid for uid in found if uid >= start)
            if window:
                yield window
            return
        top = uidnext - 1
        while start <= top:
            end = min(start + SEARCH_WINDOW - 1, top)
            window = sorted(
                uid for uid in self._search_window(start, str(end)) if start <= uid <= end
            )
            if window:
                yield window
            start = end + 1

    def _search_window(self, start: int, end: str) -> list[int]:
        criteria = ["UID", f"{start}:{end}"]
        return self._call(
            "UID SEARCH", f"UID SEARCH UID {start}:{end}", lambda: self.client.search(criteria)
        )

    def search_uids(self, criteria: list[Any], *, charset: str | None = None) -> list[int]:
        """A UID SEARCH as given; used for the targeted backfill (FROM/TO/CC/BCC).

        A server that answers NO or BAD (it cannot do this search) raises SearchRefused, so
        the caller can fall back to scanning headers.
        """
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

    def fetch_headers(self, uids: list[int]) -> list[FetchedHeader]:
        """Header fields and INTERNALDATE for integer UIDs, in UID order. Never sets \\Seen.

        The usual response shape (one header literal per message) is read by a fast path;
        anything else goes through imapclient's general parser, on the same response.
        """
        if not uids:
            return []
        self.commands.append(f"UID FETCH {len(uids)} messages ({HEADER_ITEM} INTERNALDATE)")
        with self._guard("UID FETCH"):
            data = self._raw_fetch(uids)
            if isinstance(data, dict):
                return _from_parsed(data, set(uids))
            fast = fast_fetch_headers(data, set(uids))
            if fast is not None:
                return fast
            return _from_parsed(parse_fetch_response(data, False, True), set(uids))

    def _raw_fetch(self, uids: list[int]) -> list[Any] | dict[int, Any]:
        """imaplib's untagged FETCH data; or imapclient's parsed dict if its internals moved."""
        imap = getattr(self.client, "_imap", None)
        if imap is None or not hasattr(imap, "_command_complete"):
            return self.client.fetch(uids, [HEADER_ITEM, "INTERNALDATE"])
        tag = imap._command("UID", "FETCH", ",".join(str(u) for u in uids),
                            f"({HEADER_ITEM} INTERNALDATE)")  # fmt: skip
        typ, data = imap._command_complete("FETCH", tag)
        if typ != "OK":
            raise imaplib.IMAP4.error(f"FETCH failed: {data[0]!r}"[:200])
        _typ, data = imap._untagged_response(typ, data, "FETCH")
        return data

    def fetch_bodies(self, uids: list[int]) -> dict[int, bytes]:
        """The first BODY_LIMIT bytes of whole messages, read-only (BODY.PEEK).

        Only ever called for the owner's own replies to a summary; the command record names
        the UIDs so tests can check no other body is read.
        """
        if not uids:
            return {}
        item = f"BODY.PEEK[]<0.{BODY_LIMIT}>"
        response = self._call(
            "UID FETCH",
            f"UID FETCH {','.join(str(uid) for uid in sorted(uids))} ({item})",
            lambda: self.client.fetch(uids, [item]),
        )
        bodies = {}
        for uid, data in response.items():
            body = next(
                (
                    value
                    for key, value in data.items()
                    if isinstance(key, bytes) and key.startswith(b"BODY[]")
                ),
                None,
            )
            if isinstance(body, bytes):
                bodies[uid] = body
        return bodies

    def noop(self) -> None:
        self._call("NOOP", "NOOP", self.client.noop)

    def logout(self) -> None:
        _close_quietly(self.client)


_FETCH_HEAD = re.compile(rb"\d+ \((.*)\{(\d+)\}", re.DOTALL)
_FETCH_UID = re.compile(rb"\bUID (\d+)")
_FETCH_DATE = re.compile(rb'\bINTERNALDATE "([^"]*)"')


def fast_fetch_headers(data: list[Any], wanted: set[int]) -> list[FetchedHeader] | None:
    """Read `(head, literal), tail` items of a header FETCH without imapclient's lexer.

    Returns None as soon as anything looks unusual (no literal, a literal that is not the
    header section, no UID), so the caller can use the general parser instead.
    """
    found: dict[int, FetchedHeader] = {}
    index = 0
    while index < len(data):
        item = data[index]
        if not isinstance(item, tuple) or len(item) != 2:
            return None
        head, literal = item
        match = _FETCH_HEAD.fullmatch(head)
        if match is None:
            return None
        before = match.group(1)
        if not before.rstrip().endswith(b"]") or before.rfind(b"BODY[HEADER.FIELDS") < 0:
            return None
        tail = data[index + 1] if index + 1 < len(data) else b""
        if not isinstance(tail, bytes) or b"{" in tail:
            return None
        attributes = before + b" " + tail
        uid = _FETCH_UID.search(attributes)
        if uid is None:
            return None
        date = _FETCH_DATE.search(attributes)
        number = int(uid.group(1))
        if number in wanted:
            found[number] = FetchedHeader(number, literal, date.group(1) if date else None)
        index += 2
    return [found[uid] for uid in sorted(found)]


def _from_parsed(response: dict[int, Any], wanted: set[int]) -> list[FetchedHeader]:
    fetched = []
    for uid in sorted(uid for uid in response if uid in wanted):
        data = response[uid]
        header = next(
            (
                value
                for key, value in data.items()
                if isinstance(key, bytes) and key.startswith(b"BODY[HEADER.FIELDS")
            ),
            None,
        )
        fetched.append(FetchedHeader(uid, header, data.get(b"INTERNALDATE")))
    return fetched


def _close_quietly(client: IMAPClient) -> None:
    # The connection may already be gone; there is nothing left to save on it.
    with suppress(Exception):
        client.logout()
        return
    with suppress(Exception):
        client.shutdown()
