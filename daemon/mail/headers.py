"""Header sections fetched for the sync, several batches in flight, and reply bodies.

Each header section is read with a partial fetch (FIRST_READ bytes), the few longer ones again
up to HEADER_LIMIT, a few at a time (`fetch_whole`), so memory is bounded by bytes.

`prefetch(uids)` sends a batch's FETCH at once and reads nothing; the later `fetch(uids)` of
the same batch reads its reply, after those sent before it. Any other command first reads
every reply still outstanding (`drain`) and keeps the results, at most MAX_AHEAD batches,
so the replies stay in order whatever the engine does between batches.

A server may run pipelined FETCHes at once (RFC 3501 §5.5; Dovecot does): the untagged
responses of later commands can come before the tagged end of an earlier one. So they are
told apart by UID, not by where they come: each is kept for the batch that asked for it.
A failed reply is kept as its MailboxError and raised by its `fetch`, as if fetched then;
the batches still outstanding are then forgotten, and fetched again when asked for (on the
next connection, if this one broke).
"""

from __future__ import annotations

from collections import deque
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Protocol

from imapclient import IMAPClient

from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.records import FetchedHeader
from kithkin.daemon.mail.responses import fast_fetch_headers, parse_unusual
from kithkin.daemon.mail.wire import Wire
from kithkin.parsers.headers import HEADER_FIELDS

HEADER_ITEM = "BODY.PEEK[HEADER.FIELDS ({})]".format(" ".join(HEADER_FIELDS))
ADDRESS_FIELDS = ("FROM", "TO", "CC", "BCC")
OTHER_FIELDS_ITEM = "BODY.PEEK[HEADER.FIELDS ({})]".format(
    " ".join(field for field in HEADER_FIELDS if field not in ADDRESS_FIELDS)
)
FIRST_READ = 16 * 1024  # bytes of a header section read at first; nearly every one is smaller
HEADER_LIMIT = 256 * 1024  # bytes of a header section read at most
BODY_LIMIT = 256 * 1024  # bytes of a reply to a summary read at most
MAX_AHEAD = 8  # batches whose FETCH is sent before their turn, at most

Key = tuple[int, ...]
Outcome = list[FetchedHeader] | MailboxError


class Channel(Protocol):
    """What the fetcher needs of the session it reads for (kithkin.daemon.mail.session)."""

    where: str
    commands: deque[str]
    client: IMAPClient
    wire: Wire

    def guard(self, what: str) -> AbstractContextManager[None]: ...

    def send(self, record: str, command: bytes) -> bytes: ...


class HeaderFetcher:
    """The header FETCHes of one session: sent ahead, read in order."""

    def __init__(self, session: Channel) -> None:
        self.session = session
        self._sent: deque[tuple[Key, bytes, list[int]]] = deque()  # replies not read yet
        self._read: dict[Key, Outcome] = {}  # replies read before their turn
        self._early: dict[int, FetchedHeader] = {}  # of later batches, read with an earlier
        self._asked: set[int] = set()  # the UIDs of the FETCHes in _sent: no two share one

    def prefetch(self, uids: list[int]) -> None:
        """Send the header FETCH of `uids` now, to be read by `fetch(uids)`."""
        key = tuple(uids)
        if not uids or key in self._read or any(sent[0] == key for sent in self._sent):
            return
        if len(self._sent) + len(self._read) >= MAX_AHEAD:
            return
        if not self._asked.isdisjoint(uids):
            return  # a UID asked for already: this batch is fetched in its turn
        try:
            tag = self._send(uids, HEADER_ITEM, FIRST_READ)
        except MailboxError:
            return  # the connection is gone: `fetch` will say so
        self._sent.append((key, tag, uids))
        self._asked.update(uids)

    def fetch(self, uids: list[int]) -> list[FetchedHeader]:
        """Header fields and INTERNALDATE for integer UIDs, in UID order. Never sets \\Seen.

        Each header section is read up to FIRST_READ bytes only (a partial fetch: the server
        cuts it), so a batch holds at most its size (sync/batches.py) x FIRST_READ bytes. One that
        fills it is marked `long`, for `fetch_whole` to read again, a few at a time.
        """
        if not uids:
            return []
        key = tuple(uids)
        if key not in self._read and any(sent[0] == key for sent in self._sent):
            while self._sent and key not in self._read:
                self._receive_next()
        outcome = self._read.pop(key, None)
        if outcome is None:
            self.drain()
            return self._fetch_now(uids, HEADER_ITEM, FIRST_READ)
        if isinstance(outcome, MailboxError):
            raise outcome
        return outcome

    def fetch_whole(self, uids: list[int]) -> list[FetchedHeader]:
        """Header sections too long for `fetch`, read up to HEADER_LIMIT bytes. One still cut
        there (an address list of megabytes) is marked `cut`, and its other fields, which may
        lie beyond the cut, are read on their own and put first."""
        if not uids:
            return []
        self.drain()
        whole = {item.uid: item for item in self._fetch_now(uids, HEADER_ITEM, HEADER_LIMIT)}
        cut = [uid for uid, item in whole.items() if item.long]
        for rest in self._fetch_now(cut, OTHER_FIELDS_ITEM, HEADER_LIMIT) if cut else []:
            item = whole.get(rest.uid)
            if item is not None and item.header is not None and rest.header:
                header = rest.header.rstrip(b"\r\n") + b"\r\n" + item.header
                whole[rest.uid] = replace(item, header=header, long=False, cut=True)
        return [replace(item, long=False, cut=item.cut or item.long) for item in whole.values()]

    def fetch_bodies(self, uids: list[int]) -> dict[int, bytes]:
        """The first BODY_LIMIT bytes of whole messages, read-only (BODY.PEEK).

        Only ever called for the owner's own replies to a summary; the command record names
        the UIDs so tests can check no other body is read.
        """
        if not uids:
            return {}
        self.drain()
        item = f"BODY.PEEK[]<0.{BODY_LIMIT}>"
        session = self.session
        session.commands.append(f"UID FETCH {','.join(str(uid) for uid in sorted(uids))} ({item})")
        with session.guard("UID FETCH"):
            response = session.client.fetch(uids, [item])
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

    def drain(self) -> None:
        """Read every reply still outstanding, before another command is sent."""
        while self._sent:
            self._receive_next()

    def forget(self) -> None:
        """The connection is being replaced: what was sent on it will never be answered."""
        self._sent.clear()
        self._read.clear()
        self._early.clear()
        self._asked.clear()

    def _receive_next(self) -> None:
        key, tag, uids = self._sent.popleft()
        asked = self._asked  # this batch's UIDs and the later ones'
        try:
            fetched = self._receive(tag, uids, FIRST_READ, wanted=asked)
        except MailboxError as error:
            self._read[key] = error
            self._sent.clear()  # their replies may be partly lost: sent again when asked for
            self._early.clear()
            asked.clear()
            return
        asked.difference_update(uids)  # the later ones'
        early = self._early
        mine = [early.pop(uid) for uid in uids if uid in early] if early else []
        if mine:
            mine += [header for header in fetched if header.uid not in asked]
            mine.sort(key=lambda header: header.uid)
        else:  # in UID order as read
            mine = [header for header in fetched if header.uid not in asked]
        for header in fetched:
            if header.uid in asked:
                early[header.uid] = header
        self._read[key] = mine

    def _fetch_now(self, uids: list[int], fields: str, limit: int) -> list[FetchedHeader]:
        return self._receive(self._send(uids, fields, limit), uids, limit)

    def _send(self, uids: list[int], fields: str, limit: int) -> bytes:
        item = f"{fields}<0.{limit}>"
        listed = uid_set(uids)
        return self.session.send(
            f"UID FETCH {len(uids)} messages ({item} INTERNALDATE)",
            f"UID FETCH {listed} ({item} INTERNALDATE)".encode("ascii"),
        )

    def _receive(
        self, tag: bytes, uids: list[int], limit: int, wanted: set[int] | None = None
    ) -> list[FetchedHeader]:
        """One header FETCH reply (and what came with it of the UIDs `wanted` besides `uids`,
        asked for by later commands). The usual shape (one header literal per message) is
        read by a fast reader; anything else by imapclient's general parser, on the same data."""
        session = self.session
        with session.guard("UID FETCH"):
            data = session.wire.collect_headers(tag).of(b"FETCH")
            wanted = wanted if wanted is not None else set(uids)
            fetched = fast_fetch_headers(data, wanted)
            if fetched is None:
                fetched = parse_unusual(data, wanted, session.where)
        return [
            replace(header, long=True) if header.header and len(header.header) >= limit else header
            for header in fetched
        ]


def uid_set(uids: list[int]) -> str:
    """A sequence set naming exactly `uids`, in their order, runs of consecutive UIDs as
    ranges: `1:3,7,9:10`. A range holds no UID that is not listed, so the server answers
    the very messages a list of them would name, in a shorter command line."""
    if not uids:
        return ""
    parts, first = [], uids[0]
    last = first
    for uid in uids[1:]:
        if uid != last + 1:
            parts.append(f"{first}:{last}" if last != first else str(first))
            first = uid
        last = uid
    parts.append(f"{first}:{last}" if last != first else str(first))
    return ",".join(parts)
