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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from imapclient import IMAPClient, exceptions
from imapclient.datetime_util import parse_to_datetime
from imapclient.imapclient import SocketTimeout
from imapclient.response_parser import parse_fetch_response

from kithkin.daemon.config import ImapConfig
from kithkin.daemon.errors import MailboxError
from kithkin.parsers.headers import HEADER_FIELDS

log = logging.getLogger("kithkin.imap")

HEADER_ITEM = "BODY.PEEK[HEADER.FIELDS ({})]".format(" ".join(HEADER_FIELDS))
ADDRESS_FIELDS = ("FROM", "TO", "CC", "BCC")
OTHER_FIELDS_ITEM = "BODY.PEEK[HEADER.FIELDS ({})]".format(
    " ".join(field for field in HEADER_FIELDS if field not in ADDRESS_FIELDS)
)
LIST_WINDOW = 50_000  # messages per FETCH (UID) listing them
FIRST_LIST_WINDOW = 64  # the first, smallest listing window (an idle poll needs only that)
FETCH_BATCH = 500  # UIDs per UID FETCH: about 3.5 KB of command line
FIRST_READ = 16 * 1024  # bytes of a header section read at first; nearly every one is smaller
HEADER_LIMIT = 256 * 1024  # bytes of a header section read at most
LARGE_GROUP = 16  # header sections over FIRST_READ are read again this many at a time
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
    long: bool = False  # the section filled the bytes asked for: there may be more
    cut: bool = False  # the section was longer than HEADER_LIMIT: cut there

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
    step, failure = "STARTTLS", None
    try:
        if config.security == "starttls":
            client.starttls(tls_context(config.ca_file))
        step = "login"
        if config.auth == "xoauth2":
            client.oauth2_login(config.username, secret)
        elif (config.username + secret).isascii():
            client.login(config.username, secret)
        elif client.has_capability("AUTH=PLAIN"):
            # imaplib sends LOGIN's arguments as ASCII; AUTHENTICATE PLAIN carries UTF-8.
            client.plain_login(config.username, secret)
        else:
            failure = "the password or username is not ASCII, and the server has no AUTH=PLAIN"
    except (*NETWORK_ERRORS, *MALFORMED) as exc:
        failure = describe_failure(exc)
    if failure is not None:
        # Raised outside the `except`: a chained UnicodeEncodeError would hold the secret.
        _close_quietly(client)
        raise MailboxError(f"{where}: {step} failed: {failure}")
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
    # The text of a UnicodeError names a character (or byte) of what it was given, and where.
    if isinstance(exc, UnicodeEncodeError):
        return "the password or username cannot be sent (not ASCII?)"
    if isinstance(exc, UnicodeError):
        return f"text that cannot be decoded ({type(exc).__name__})"
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

    @classmethod
    def connect(cls, config: ImapConfig, secret: str) -> Mailbox:
        return cls(open_client(config, secret), config, lambda: open_client(config, secret))

    def reconnect(self) -> None:
        """A fresh connection, with the same folder examined again; for retrying a command
        that broke the last one. MailboxError if the server cannot be reached or the folder
        changed its UIDVALIDITY meanwhile."""
        if self._reopen is None:
            raise MailboxError(f"{self.where}: the connection broke and cannot be reopened")
        _close_quietly(self.client)
        self.commands.append("(reconnect)")
        self.client = self._reopen()
        selected = self.selected
        if selected is not None:
            again = self.examine(selected.name)
            if again.uidvalidity != selected.uidvalidity:
                raise MailboxError(
                    f"{self.where}: {selected.name}: UIDVALIDITY changed during the sync"
                )

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
        """`[imap] folders`, else the \\All folder (Gmail), else INBOX plus every \\Sent folder.

        Attributes are compared case-insensitively (RFC 3501 §9): `\\sent` is `\\Sent`.
        Without any \\Sent attribute, a folder with a usual name for sent mail is taken.
        """
        if self.config.folders:
            return list(self.config.folders)
        listing = self._call("LIST", "LIST", self.client.list_folders)
        selectable = [
            (attributes, delimiter, name)
            for flags, delimiter, name in listing
            if NOSELECT not in (attributes := _folded(flags))
        ]
        all_mail = [name for attributes, _, name in selectable if ALL_ATTRIBUTE in attributes]
        if all_mail:
            return all_mail[:1]
        sent = [name for attributes, _, name in selectable if SENT_ATTRIBUTE in attributes]
        if not sent:
            sent = _sent_by_name([(delimiter, name) for _, delimiter, name in selectable])
        return ["INBOX", *[name for name in sent if name.upper() != "INBOX"]]

    def examine(self, folder: str) -> FolderStatus:
        """EXAMINE (read-only SELECT) a folder and report its UIDVALIDITY, UIDNEXT and size."""
        self.commands.append(f"EXAMINE {folder}")
        self.selected = None
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
        if not any(key.upper() == b"READ-ONLY" for key in response if isinstance(key, bytes)):
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
        status = FolderStatus(name=folder, uidvalidity=uidvalidity, uidnext=uidnext, exists=exists)
        self.selected = status
        return status

    # --- search and fetch (on the examined folder) ---------------------------------------

    def uids_above(self, last_uid: int) -> Iterator[list[int]]:
        """The UIDs above `last_uid` in the examined folder, in ascending windows.

        Listed with `FETCH <sequence numbers> (UID)`, from the end of the folder backwards in
        growing windows until one holds a UID at or below `last_uid`: new mail is a suffix
        of the folder, so an idle poll costs one small command, whatever the UIDs are (a
        folder of 10 messages with UIDNEXT near 2**32 included). Sequence numbers and FETCH
        are used because servers get them right: GNU Mailutils' imap4d, for one, answers
        `UID SEARCH` ranges with the wrong numbers. Going backwards, an expunge meanwhile can
        only show a message twice, never hide one.
        """
        status = self._examined()
        if status.exists == 0 or (status.uidnext is not None and status.uidnext <= last_uid + 1):
            return iter(())
        found: set[int] = set()
        top, size = status.exists, FIRST_LIST_WINDOW
        while top >= 1:
            start = max(1, top - size + 1)
            window = self._uids_at(start, top, to_end=top == status.exists)
            found.update(uid for uid in window if uid > last_uid)
            if any(uid <= last_uid for uid in window):
                break
            top, size = start - 1, min(size * 4, LIST_WINDOW)
        return _windows(sorted(found), LIST_WINDOW)

    def uids_up_to(self, last_uid: int) -> Iterator[list[int]]:
        """The UIDs from 1 to `last_uid` in the examined folder, in ascending windows."""
        status = self._examined()
        found: set[int] = set()
        top = status.exists
        while top >= 1 and last_uid > 0:
            start = max(1, top - LIST_WINDOW + 1)
            window = self._uids_at(start, top, to_end=top == status.exists)
            found.update(uid for uid in window if uid <= last_uid)
            top = start - 1
        return _windows(sorted(found), LIST_WINDOW)

    def existing(self, uids: list[int]) -> set[int]:
        """Which of `uids` the examined folder still holds."""
        if not uids:
            return set()
        listed = ",".join(str(uid) for uid in sorted(uids))
        response = self._call("UID FETCH", f"UID FETCH {listed} (UID)",
                              lambda: self.client.fetch(sorted(uids), ["UID"]))  # fmt: skip
        return {uid for uid in response if uid in set(uids)}

    def _examined(self) -> FolderStatus:
        if self.selected is None:
            raise MailboxError(f"{self.where}: no folder examined")
        return self.selected

    def _uids_at(self, start: int, end: int, *, to_end: bool) -> list[int]:
        """The UIDs of the messages at sequence numbers start..end (start..* with to_end):
        one ESEARCH (RFC 4731: a compact answer) where the server has it, else a FETCH of
        each message's UID (a line per message, ten times slower to read)."""
        sequence = f"{start}:{'*' if to_end else end}"
        if self._has_esearch():
            self.commands.append(f"UID SEARCH RETURN (ALL) {sequence}")
            with self._guard("UID SEARCH"):
                lines = self._raw_command("ESEARCH", "UID", "SEARCH", "RETURN", "(ALL)", sequence)
            most = (end - start + 1) * 2 + 1000  # a window's messages, and any new ones
            return _esearch_uids(lines, self.where, most)
        self.commands.append(f"FETCH {sequence} (UID)")
        with self._guard("FETCH (UID)"):
            lines = self._raw_command("FETCH", "FETCH", sequence, "(UID)")
        uids = []
        for line in lines:
            text = line[0] if isinstance(line, tuple) else line
            match = _LISTED_UID.search(text) if isinstance(text, bytes) else None
            if match is None:
                raise MailboxError(f"{self.where}: FETCH (UID): malformed reply")
            uids.append(int(match.group(1)))
        return uids

    def _has_esearch(self) -> bool:
        if self._esearch is None:
            with self._guard("CAPABILITY"):
                self._esearch = bool(self.client.has_capability("ESEARCH"))
        return self._esearch

    def _raw_command(self, untagged: str, *words: str) -> list[Any]:
        """One command on imaplib's connection under imapclient; its untagged `untagged`
        data, unparsed (imapclient's parser is slow, and its fetch() takes no sequence set)."""
        imap = self.client._imap
        tag = imap._command(*words)
        typ, data = imap._command_complete(untagged, tag)
        if typ != "OK":
            raise imaplib.IMAP4.error(f"{' '.join(words[:2])} failed: {data[0]!r}"[:200])
        _typ, data = imap._untagged_response(typ, data, untagged)
        return [item for item in data if item is not None]

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

        Each header section is read up to FIRST_READ bytes only (a partial fetch: the server
        cuts it), so a batch holds at most FETCH_BATCH x FIRST_READ bytes of headers. Nearly
        every section is smaller; one that fills it is marked `long`, for
        `fetch_whole_headers` to read again, a few at a time.
        """
        if not uids:
            return []
        return self._fetch_header_items(uids, HEADER_ITEM, FIRST_READ)

    def fetch_whole_headers(self, uids: list[int]) -> list[FetchedHeader]:
        """Header sections too long for `fetch_headers`, read up to HEADER_LIMIT bytes. One
        still cut there (an address list of megabytes) is marked `cut`, and its other
        fields, which may lie beyond the cut, are read on their own and put first."""
        if not uids:
            return []
        whole = {
            item.uid: item for item in self._fetch_header_items(uids, HEADER_ITEM, HEADER_LIMIT)
        }
        cut = [uid for uid, item in whole.items() if item.long]
        for rest in self._fetch_header_items(cut, OTHER_FIELDS_ITEM, HEADER_LIMIT) if cut else []:
            item = whole.get(rest.uid)
            if item is not None and item.header is not None and rest.header:
                header = rest.header.rstrip(b"\r\n") + b"\r\n" + item.header
                whole[rest.uid] = replace(item, header=header, long=False, cut=True)
        return [replace(item, long=False, cut=item.cut or item.long) for item in whole.values()]

    def _fetch_header_items(self, uids: list[int], fields: str, limit: int) -> list[FetchedHeader]:
        """One `UID FETCH` of the header fields (at most `limit` bytes each) and INTERNALDATE.

        The usual response shape (one header literal per message) is read by a fast path;
        anything else goes through imapclient's general parser, on the same response.
        """
        item = f"{fields}<0.{limit}>"
        self.commands.append(f"UID FETCH {len(uids)} messages ({item} INTERNALDATE)")
        with self._guard("UID FETCH"):
            data = self._raw_fetch(uids, item)
            fetched = fast_fetch_headers(data, set(uids))
            if fetched is None:
                fetched = _parse_unusual(data, set(uids), self.where)
        return [
            replace(header, long=True) if header.header and len(header.header) >= limit else header
            for header in fetched
        ]

    def _raw_fetch(self, uids: list[int], item: str) -> list[Any]:
        """imaplib's untagged FETCH data for a header fetch of `uids`."""
        listed = ",".join(str(uid) for uid in uids)
        return self._raw_command("FETCH", "UID", "FETCH", listed, f"({item} INTERNALDATE)")

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


NOSELECT = b"\\noselect"
ALL_ATTRIBUTE = b"\\all"
SENT_ATTRIBUTE = b"\\sent"
# Names servers without SPECIAL-USE give the sent-mail folder (imapclient's list, and more).
SENT_NAMES = ("sent", "sent items", "sent messages", "sent mail", "inbox.sent")


def _folded(flags: Any) -> frozenset[bytes]:
    """Mailbox attributes, lowercased: they are case-insensitive."""
    return frozenset(
        (flag if isinstance(flag, bytes) else str(flag).encode("utf-8", "replace")).lower()
        for flag in flags or ()
    )


def _sent_by_name(folders: list[tuple[Any, str]]) -> list[str]:
    """The first folder whose name, or last name part, is a usual name for sent mail."""
    for wanted in SENT_NAMES:
        for delimiter, name in folders:
            separator = delimiter.decode("utf-8", "replace") if isinstance(delimiter, bytes) else ""
            last = name.rsplit(separator, 1)[-1] if separator else name
            if name.casefold() == wanted or last.casefold() == wanted:
                return [name]
    return []


def _windows(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_LISTED_UID = re.compile(rb"^\d+ \(.*?\bUID (\d+)", re.IGNORECASE)
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
        before = match.group(1).rstrip()
        if not before.endswith((b"]", b"]<0>")) or before.rfind(b"BODY[HEADER.FIELDS") < 0:
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


_ESEARCH_ALL = re.compile(rb"\bALL\s+([0-9:,]+)", re.IGNORECASE)


def _esearch_uids(lines: list[Any], where: str, most: int) -> list[int]:
    """`* ESEARCH (TAG "a") UID ALL 1:5,7` -> [1, 2, 3, 4, 5, 7]; no ALL: none found. More
    than `most` UIDs is a garbled reply (`1:4294967295` must not fill the memory)."""
    uids: list[int] = []
    for line in lines:
        if not isinstance(line, bytes):
            raise MailboxError(f"{where}: UID SEARCH: malformed reply")
        found = _ESEARCH_ALL.search(line)
        for part in found.group(1).split(b",") if found else ():
            first, _, last = part.partition(b":")
            try:
                low, high = sorted((int(first), int(last or first)))
            except ValueError:
                raise MailboxError(f"{where}: UID SEARCH: malformed reply") from None
            if high > MAX_UID or len(uids) + high - low >= most:
                raise MailboxError(f"{where}: UID SEARCH: malformed reply")
            uids.extend(range(low, high + 1))
    return uids


def _parse_unusual(data: list[Any], wanted: set[int], where: str) -> list[FetchedHeader]:
    """imapclient's general parser, for reply shapes the fast reader does not know; any way
    it fails on a garbled reply is one MailboxError."""
    try:
        return _from_parsed(parse_fetch_response(data, False, True), wanted)
    except (*NETWORK_ERRORS, *MALFORMED, IndexError, KeyError, TypeError, AttributeError):
        raise MailboxError(f"{where}: UID FETCH: malformed reply") from None


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
