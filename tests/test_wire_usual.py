"""daemon/mail/wire.py `Wire.collect_headers`: the usual header FETCH responses read straight
off the connection's buffer (`UsualFetch`), everything else line by line as `collect` reads it.

For every reply, and wherever the buffer's end cuts it: the data in imaplib's shapes is what
imaplib's own reader makes of the bytes, what the sync reads of it is what it reads of
`collect`'s data, and nothing after the reply is consumed. The rows are test_fetch_reader's
tables (every reply shape the servers send, unusual and garbled ones) and generated replies.
"""

from __future__ import annotations

import imaplib
import io
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fetch_reader import DATE, SECTION, WIRES, imaplib_data

from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.responses import (
    UsualFetch,
    fast_fetch_headers,
    imaplib_shapes,
    parse_unusual,
)
from kithkin.daemon.mail.wire import Wire

BUFFER_SIZES = [1, 2, 7, 40, 97, 300, 1024, 8192]


class _Buffered(imaplib.IMAP4):
    """imaplib's object over recorded server bytes behind a buffer of `size` bytes, as a
    socket's file is (io.BufferedReader, which has `peek`): no socket, no greeting."""

    def __init__(self, wire: bytes, size: int) -> None:
        self._wire, self._size = wire, size
        super().__init__()

    def open(self, host: str = "", port: int = 0, timeout: float | None = None) -> None:
        self.file = io.BufferedReader(io.BytesIO(self._wire), buffer_size=self._size)

    def _connect(self) -> None:
        self.tagpre = b"A"
        self.tagre = re.compile(rb"(?P<tag>A\d+) (?P<type>[A-Z]+) (?P<data>.*)", re.ASCII)
        self._cmd_log_len, self._cmd_log_idx, self._cmd_log = 10, 0, {}


def read(data: list[Any], wanted: set[int]) -> object:
    """What the session reads of a header FETCH's data (HeaderFetcher._receive)."""
    fetched = fast_fetch_headers(data, wanted)
    try:
        fetched = fetched if fetched is not None else parse_unusual(data, wanted, "here")
    except MailboxError as exc:
        return str(exc)
    return [(item.uid, item.header, item.internaldate_value) for item in fetched]


def both(wire: bytes, size: int) -> tuple[list[Any], list[Any]]:
    """(collect_headers' data, collect's data) of `wire` answering A1, then A2's after it."""
    after = b"* 9 EXISTS\r\nA2 OK next\r\n"
    usual = _Buffered(wire + b"A1 OK done\r\n" + after, size)
    fast = Wire(usual).collect_headers(b"A1").of(b"FETCH")
    assert Wire(usual).collect(b"A2", b"EXISTS").of(b"EXISTS") == [b"9"]  # nothing eaten
    plain = Wire(_Buffered(wire + b"A1 OK done\r\n", size)).collect(b"A1", b"FETCH")
    return fast, plain.of(b"FETCH")


@pytest.mark.parametrize("size", BUFFER_SIZES)
@pytest.mark.parametrize("wire", WIRES.values(), ids=WIRES.keys())
def test_every_reply_shape_reads_as_collect_reads_it(wire: bytes, size: int) -> None:
    fast, plain = both(wire, size)
    assert imaplib_shapes(fast) == plain == imaplib_data(wire)
    for wanted in ({7}, {7, 9}, {12}):
        assert read(fast, wanted) == read(plain, wanted)


def test_the_usual_responses_are_read_in_place() -> None:
    one = b"* %d FETCH (UID %d " + DATE + b" " + SECTION + b" {5}\r\nFrom:)\r\n"
    wire = b"".join(one % (n, n + 6) for n in range(1, 4))
    fast, _ = both(wire, 8192)
    assert [type(item) for item in fast] == [UsualFetch] * 3
    assert read(fast, {7, 8, 9}) == [(uid, b"From:", b"01-Feb-2026 08:00:00 +0000")
                                     for uid in (7, 8, 9)]  # fmt: skip


def test_a_connection_that_ends_in_a_literal_is_an_abort() -> None:
    wire = b"* 1 FETCH (UID 7 " + SECTION + b" {30}\r\nFrom: ada@ex"
    for size in BUFFER_SIZES:
        with pytest.raises(imaplib.IMAP4.abort):
            Wire(_Buffered(wire, size)).collect_headers(b"A1")


def test_a_bye_among_usual_responses_is_an_abort() -> None:
    usual = b"* 1 FETCH (UID 7 " + SECTION + b" {5}\r\nFrom:)\r\n"
    wire = usual + b"* BYE shutting down\r\n" + usual + b"A1 OK done\r\n"
    with pytest.raises(imaplib.IMAP4.abort, match="BYE"):
        Wire(_Buffered(wire, 8192)).collect_headers(b"A1")


# --- generated replies -----------------------------------------------------------------------

HEADERS = st.sampled_from([b"", b"From: ada@example.org\r\n\r\n", b"x" * 200, b"a)\r\n* 1 F"])
HEADS = st.sampled_from([
    b"UID %d " + DATE + b" " + SECTION, b"UID %d " + SECTION, b"FLAGS (\\Seen) UID %d " + SECTION,
    b"uid %d " + SECTION, b"UID %d  " + SECTION, b"UID %d BODY[TEXT]<0>", b"UID %d (" + SECTION,
])  # fmt: skip
TAILS = st.sampled_from([b")", b" " + DATE + b")", b" UID 3)", b"))", b"", b")\r", b" X (Y))"])
OTHERS = st.sampled_from(
    [
        b"* 4 EXISTS",
        b"* 2 FETCH (FLAGS (\\Seen))",
        b"* 1 FETCH (UID 7)",
        b"* OK still here",
        b"* 3 fetch (UID 8 " + SECTION + b" NIL)",
    ]
)


@st.composite
def replies(draw: st.DrawFn) -> bytes:
    out = b""
    for number in range(1, draw(st.integers(0, 12)) + 1):
        if draw(st.integers(0, 5)) == 0:
            out += draw(OTHERS) + b"\r\n"
            continue
        header = draw(HEADERS)
        head = draw(HEADS) % draw(st.sampled_from([7, 9, 12, number]))
        out += b"* %d FETCH (%s {%d}\r\n%s%s\r\n" % (number, head, len(header), header,
                                                     draw(TAILS))  # fmt: skip
    return out


@settings(max_examples=600, deadline=None)
@given(replies(), st.sampled_from(BUFFER_SIZES), st.sampled_from([{7}, {7, 9, 12}, {3}]))
def test_generated_replies_read_as_collect_reads_them(
    wire: bytes, size: int, wanted: set[int]
) -> None:
    fast, plain = both(wire, size)
    assert imaplib_shapes(fast) == plain
    assert read(fast, wanted) == read(plain, wanted)
