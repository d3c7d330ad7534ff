"""The read-only IMAP session the sync reads from: EXAMINE, list UIDs, fetch headers.

Strictly read-only: folders are opened with EXAMINE and headers fetched with BODY.PEEK, so
nothing on the server changes. The only write Kithkin can make, appending its own summary
when `delivery = "imap"`, lives in delivery.py and is not reachable from here.

Header sections are read with a partial fetch (FIRST_READ bytes), the few longer ones again
up to HEADER_LIMIT, a few at a time (`fetch_whole_headers`), so memory is bounded by bytes.
"""

from __future__ import annotations

import imaplib
import logging
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar

from imapclient import IMAPClient

from kithkin.daemon.config import ImapConfig
from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.connect import (
    MALFORMED,
    NETWORK_ERRORS,
    close_quietly,
    describe_failure,
    open_client,
)
from kithkin.daemon.mail.folders import choose_folders
from kithkin.daemon.mail.listing import uids_above, uids_up_to
from kithkin.daemon.mail.records import (
    FetchedHeader,
    FolderStatus,
    FolderUnavailable,
    SearchRefused,
)
from kithkin.daemon.mail.responses import (
    MAX_UID,
    esearch_uids,
    fast_fetch_headers,
    listed_uids,
    parse_unusual,
)
from kithkin.parsers.headers import HEADER_FIELDS

log = logging.getLogger("kithkin.imap")

HEADER_ITEM = "BODY.PEEK[HEADER.FIELDS ({})]".format(" ".join(HEADER_FIELDS))
ADDRESS_FIELDS = ("FROM", "TO", "CC", "BCC")
OTHER_FIELDS_ITEM = "BODY.PEEK[HEADER.FIELDS ({})]".format(
    " ".join(field for field in HEADER_FIELDS if field not in ADDRESS_FIELDS)
)
FIRST_READ = 16 * 1024  # bytes of a header section read at first; nearly every one is smaller
HEADER_LIMIT = 256 * 1024  # bytes of a header section read at most
BODY_LIMIT = 256 * 1024  # bytes of a reply to a summary read at most
T = TypeVar("T")


def _number(value: object, low: int, high: int) -> int | None:
    """A count or id from an EXAMINE response, if it is a whole number in range."""
    if isinstance(value, bytes):
        value = value.strip()
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, *MALFORMED):
        return None
    return number if low <= number <= high else None


class ImapSession:
    """A logged-in, read-only IMAP session. Use `ImapSession.connect(...)`; close with
    logout(). The real `MailSource` of the sync engine."""

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
    def connect(cls, config: ImapConfig, secret: str) -> ImapSession:
        return cls(open_client(config, secret), config, lambda: open_client(config, secret))

    def reconnect(self) -> None:
        """A fresh connection, with the same folder examined again; for retrying a command
        that broke the last one. MailboxError if the server cannot be reached or the folder
        changed its UIDVALIDITY meanwhile."""
        if self._reopen is None:
            raise MailboxError(f"{self.where}: the connection broke and cannot be reopened")
        close_quietly(self.client)
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
        """`[imap] folders`, or the folders its LIST reply shows (see folders.py)."""
        if self.config.folders:
            return list(self.config.folders)
        listing = self._call("LIST", "LIST", self.client.list_folders)
        return choose_folders(listing)

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
        """The UIDs above `last_uid` in the examined folder, ascending (see listing.py)."""
        status = self._examined()
        return uids_above(self._uids_at, status.exists, status.uidnext, last_uid)

    def uids_up_to(self, last_uid: int) -> Iterator[list[int]]:
        """The UIDs from 1 to `last_uid` in the examined folder, ascending."""
        return uids_up_to(self._uids_at, self._examined().exists, last_uid)

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

    def _uids_at(self, start: int, end: int, to_end: bool) -> list[int]:
        """The UIDs of the messages at sequence numbers start..end (start..* with to_end):
        one ESEARCH (RFC 4731: a compact answer) where the server has it, else a FETCH of
        each message's UID (a line per message, ten times slower to read). Not UID SEARCH
        ranges: GNU Mailutils' imap4d, for one, answers those with the wrong numbers."""
        sequence = f"{start}:{'*' if to_end else end}"
        if self._has_esearch():
            self.commands.append(f"UID SEARCH RETURN (ALL) {sequence}")
            with self._guard("UID SEARCH"):
                lines = self._raw_command("ESEARCH", "UID", "SEARCH", "RETURN", "(ALL)", sequence)
            most = (end - start + 1) * 2 + 1000  # a window's messages, and any new ones
            return esearch_uids(lines, self.where, most)
        self.commands.append(f"FETCH {sequence} (UID)")
        with self._guard("FETCH (UID)"):
            lines = self._raw_command("FETCH", "FETCH", sequence, "(UID)")
        return listed_uids(lines, self.where)

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
                fetched = parse_unusual(data, set(uids), self.where)
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
        close_quietly(self.client)
