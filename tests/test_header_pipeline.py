"""daemon/mail/headers.py HeaderFetcher: pipelined header FETCHes read in order, each reply's
messages kept for the batch that asked for them, on scripted server bytes.

A server may run pipelined FETCHes at once (Dovecot does): a later batch's messages can come
before the tagged end of an earlier one. Two batches never share a UID in flight: one that
would is fetched in its turn instead.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from test_fetch_reader import SECTION
from test_wire_usual import _Buffered

from kithkin.daemon.mail.headers import HeaderFetcher
from kithkin.daemon.mail.wire import Wire


def response(uid: int) -> bytes:
    header = b"From: p%d@example.org\r\n\r\n" % uid
    return b"* %d FETCH (UID %d %s {%d}\r\n%s)\r\n" % (uid, uid, SECTION, len(header), header)


class Scripted:
    """A session whose server answers with `wire`; the commands it is sent are recorded."""

    where = "imap.example:143"

    def __init__(self, wire: bytes, size: int = 8192) -> None:
        self.commands: deque[str] = deque()
        self.client = None
        self.imap = _Buffered(wire, size)
        self.imap.tagnum = 1
        self.imap.send = lambda data: None  # type: ignore[method-assign]
        self.wire = Wire(self.imap)
        self.sent: list[bytes] = []

    @contextmanager
    def guard(self, what: str) -> Iterator[None]:
        yield

    def send(self, record: str, command: bytes) -> bytes:
        self.sent.append(command)
        return self.wire.send(command)


def tag(n: int) -> bytes:
    return b"A%d" % n  # imaplib's tags after _connect sets tagpre b"A" and tagnum 0


def uids(headers: list) -> list[int]:
    return [header.uid for header in headers]


def test_a_later_batchs_messages_read_with_an_earlier_reply_go_to_it() -> None:
    wire = (response(1) + response(3) + response(2) + tag(1) + b" OK done\r\n"
            + response(4) + tag(2) + b" OK done\r\n")  # fmt: skip
    for size in (40, 8192):
        session = Scripted(wire, size)
        fetcher = HeaderFetcher(session)  # type: ignore[arg-type]
        fetcher.prefetch([1, 2])
        fetcher.prefetch([3, 4])
        assert uids(fetcher.fetch([1, 2])) == [1, 2]
        assert uids(fetcher.fetch([3, 4])) == [3, 4]
        assert len(session.sent) == 2


def test_early_messages_of_a_batch_come_first_in_uid_order() -> None:
    wire = (response(4) + response(1) + tag(1) + b" OK done\r\n"
            + response(3) + tag(2) + b" OK done\r\n")  # fmt: skip
    fetcher = HeaderFetcher(Scripted(wire))  # type: ignore[arg-type]
    fetcher.prefetch([1])
    fetcher.prefetch([3, 4])
    assert uids(fetcher.fetch([1])) == [1]
    assert uids(fetcher.fetch([3, 4])) == [3, 4]


def test_a_batch_sharing_a_uid_with_one_in_flight_is_fetched_in_its_turn() -> None:
    wire = (response(1) + response(2) + tag(1) + b" OK done\r\n"
            + response(2) + response(5) + tag(2) + b" OK done\r\n")  # fmt: skip
    session = Scripted(wire)
    fetcher = HeaderFetcher(session)  # type: ignore[arg-type]
    fetcher.prefetch([1, 2])
    fetcher.prefetch([2, 5])  # not sent now
    assert len(session.sent) == 1
    assert uids(fetcher.fetch([1, 2])) == [1, 2]
    assert uids(fetcher.fetch([2, 5])) == [2, 5]
    assert len(session.sent) == 2
