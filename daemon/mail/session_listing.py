"""The listing half of `ImapSession` (session.py): which UIDs the examined folder holds
above (or up to) the cursor, in windows (listing.py) sent ahead where the server has ESEARCH,
whose replies name their command.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from imapclient import IMAPClient

from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail import listing
from kithkin.daemon.mail.headers import HeaderFetcher
from kithkin.daemon.mail.listing import expected_windows, uids_above, uids_up_to
from kithkin.daemon.mail.records import FolderStatus
from kithkin.daemon.mail.responses import esearch_of, esearch_uids, listed_uids
from kithkin.daemon.mail.wire import Reply, Wire


class SessionListing:
    """What `ImapSession` sets, and its listing methods."""

    where: str
    client: IMAPClient
    commands: deque[str]
    wire: Wire
    headers: HeaderFetcher
    selected: FolderStatus | None
    _esearch: bool | None
    _first_window: tuple[int, list[int]] | None
    _ahead: dict[tuple[int, int, bool], bytes]
    _early: dict[bytes, list[Any]]
    _listed_ahead = False  # the examined folder's later windows went with its EXAMINE

    def send(self, record: str, command: bytes) -> bytes:
        raise NotImplementedError

    def guard(self, what: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _quiet(self, tag: bytes, *wanted: bytes) -> Reply | None:
        raise NotImplementedError

    def uids_above(self, last_uid: int) -> Iterator[list[int]]:
        """The UIDs above `last_uid` in the examined folder, ascending (see listing.py)."""
        examined_now = self._examined()
        ahead = None if self._listed_ahead else self._list_ahead
        try:
            return uids_above(self._uids_at, examined_now.exists, examined_now.uidnext, last_uid,
                              ahead=ahead)  # fmt: skip
        finally:
            self._listed_ahead = False
            self._drain_ahead()

    def uids_up_to(self, last_uid: int) -> Iterator[list[int]]:
        """The UIDs from 1 to `last_uid` in the examined folder, ascending."""
        return uids_up_to(self._uids_at, self._examined().exists, last_uid)

    def _examined(self) -> FolderStatus:
        if self.selected is None:
            raise MailboxError(f"{self.where}: no folder examined")
        return self.selected

    def _uids_at(self, start: int, end: int, to_end: bool) -> list[int]:
        """The UIDs of the messages at sequence numbers start..end (start..* with to_end):
        one ESEARCH (RFC 4731: a compact answer) where the server has it, else a FETCH of
        each message's UID (a line per message, ten times slower to read). Not UID SEARCH
        ranges: GNU Mailutils' imap4d, for one, answers those with the wrong numbers."""
        first, self._first_window = self._first_window, None
        if first is not None and first[0] == start and to_end:
            return first[1]
        tag = None
        if self._ahead:  # sent ahead: the next reply is that of the first window sent
            window, sent = next(iter(self._ahead.items()))
            if window == (start, end, to_end):
                del self._ahead[window]
                tag = sent
            else:
                self._drain_ahead()
        if tag is None:
            self.headers.drain()
            self._has_esearch()
            tag = self._send_listing(start, end, to_end)
        with self.guard("UID SEARCH" if self._has_esearch() else "FETCH (UID)"):
            return self._listing_of(tag, most=(end - start + 1) * 2 + 1000,
                                    early=self._early.pop(tag, None))  # fmt: skip

    def _list_windows_ahead(self, expect: FolderStatus, first: int, cursor: int) -> None:
        """The windows after the first that `uids_above(cursor)` will ask for, by STATUS,
        sent now (as it would send them once the first is read: listing.py)."""
        fresh = expect.uidnext - 1 - cursor if expect.uidnext is not None else expect.exists
        top = first - 1
        if fresh <= expect.exists - top or top < 1:
            return  # the first window holds all the new mail, or an old message
        first_size, most = listing.FIRST_LIST_WINDOW, listing.LIST_WINDOW
        size = min(max(first_size * 4, fresh - (expect.exists - top) + 1), most)
        for start, end in expected_windows(top, size, expect.exists, fresh):
            self._list_ahead(start, end, False)
        self._listed_ahead = True

    def _list_ahead(self, start: int, end: int, to_end: bool) -> None:
        """Send the listing of a window now, to be read when `_uids_at` asks for it. Only
        with ESEARCH, whose replies name their command: a server may answer a search sent
        ahead before the one before it has ended (Dovecot does, for large folders)."""
        if not self._has_esearch():
            return
        self.headers.drain()
        self._ahead[(start, end, to_end)] = self._send_listing(start, end, to_end)

    def _drain_ahead(self) -> None:
        """Read the replies of windows sent ahead and not asked for (an old UID came
        sooner), so the replies after them are read in order."""
        tags, self._ahead, self._early = list(self._ahead.values()), {}, {}
        with self.guard("UID SEARCH" if self._has_esearch() else "FETCH (UID)"):
            for tag in tags:
                if not self.wire.broken:
                    self._quiet(tag, b"ESEARCH", b"FETCH")

    def _send_listing(self, start: int, end: int, to_end: bool) -> bytes:
        sequence = f"{start}:{'*' if to_end else end}"
        if self._has_esearch():
            record = f"UID SEARCH RETURN (ALL) {sequence}"
        else:
            record = f"FETCH {sequence} (UID)"
        return self.send(record, record.encode("ascii"))

    def _listing_of(
        self,
        tag: bytes,
        most: int = 4 * listing.FIRST_LIST_WINDOW + 1000,
        early: list[object] | None = None,
    ) -> list[int]:
        """The UIDs a listing command's reply holds (after what came `early`, with the reply
        before it); `most`: more is a garbled reply."""
        before = early or []
        if self._has_esearch():
            lines = before + self.wire.collect(tag, b"ESEARCH").of(b"ESEARCH")
            if self._ahead:  # searches still pipelined after this one: keep theirs for them
                lines, theirs = esearch_of(tag, lines, set(self._ahead.values()))
                for other, found in theirs.items():
                    self._early.setdefault(other, []).extend(found)
            return esearch_uids(lines, self.where, most)
        return listed_uids(before + self.wire.collect(tag, b"FETCH").of(b"FETCH"), self.where)

    def _has_esearch(self) -> bool:
        if self._esearch is None:
            with self.guard("CAPABILITY"):
                self._esearch = bool(self.client.has_capability("ESEARCH"))
        return self._esearch
