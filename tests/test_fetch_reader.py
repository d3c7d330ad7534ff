"""The FETCH reader as tables: the data imaplib hands over for a reply -> what the sync gets.

imaplib represents an untagged FETCH with a literal as `(head, literal)` followed by the rest
of that line as `bytes` (the tail, possibly b"" or another `(middle, literal)`); a FETCH
without a literal is one `bytes` item; "* " and the CRLFs are gone. `test_every_row_is_what_
imaplib_makes_of_the_wire` holds every row of the shape tables to that, by running imaplib's
own reader over the wire bytes the row stands for. The session reads its replies with its own
reader, `Wire` (daemon/mail/wire.py), whose `collect()` hands over data in imaplib's shapes:
`test_the_sessions_reader_hands_over_what_imaplib_does` holds it to imaplib's on the same bytes.

Where the shapes come from:
- Dovecot, pymap and GNU Mailutils imap4d: captured from the servers of tests/conftest.py for
  `UID FETCH n (BODY.PEEK[HEADER.FIELDS (...)]<0.N> INTERNALDATE)` (field lists shortened).
  Dovecot: UID, INTERNALDATE, then the section `BODY[HEADER.FIELDS (...)]<0> {n}`; pymap:
  the section first, `INTERNALDATE ... UID n)` in the tail; imap4d: UID, the section, then
  INTERNALDATE in the tail, with the field names upper-cased inside the literal.
- Cyrus and Courier: assumed, as their sources write them. cyrus-imapd imap/index.c
  (index_fetchreply): FLAGS first when they changed since last told, then UID,
  INTERNALDATE, (MODSEQ), then the section with its fields as astrings. courier-libs
  imap/fetch.c (do_fetch): `UID n` first for a UID FETCH, then the items in the order asked,
  the field names quoted (`HEADER.FIELDS ("FROM" "TO")`); a changed flag comes as a FETCH
  of its own after it.
"""

from __future__ import annotations

import imaplib
import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.connect import NETWORK_ERRORS
from kithkin.daemon.mail.records import FetchedHeader
from kithkin.daemon.mail.responses import (
    MAX_UID,
    esearch_uids,
    fast_fetch_headers,
    listed_uids,
    parse_unusual,
)
from kithkin.daemon.mail.wire import Wire

Data = list[Any]  # what imaplib hands over: (head, literal) tuples and bytes
Got = list[tuple[int, bytes | None, datetime | None]]  # (uid, header, internaldate)

WHEN = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
DATE = b'INTERNALDATE "01-Feb-2026 08:00:00 +0000"'
ADA = b"From: ada@example.org\r\nTo: me@home.example\r\n\r\n"
BOB = b"From: bob@example.org\r\nTo: me@home.example\r\n\r\n"
UPPER = b"FROM: ada@example.org\r\nTO: me@home.example\r\n\r\n"  # imap4d's field names
SECTION = b"BODY[HEADER.FIELDS (FROM TO)]<0>"
QUOTED = b'BODY[HEADER.FIELDS ("FROM" "TO")]<0>'  # Courier


def lit(head: bytes, literal: bytes) -> tuple[bytes, bytes]:
    """A `(head, literal)` item: `head` with the literal's true length announced."""
    return head + b" {%d}" % len(literal), literal


def got(fetched: list[FetchedHeader] | None) -> Got | None:
    if fetched is None:
        return None
    return [(item.uid, item.header, item.internaldate) for item in fetched]


def read_reply(data: Data, wanted: set[int]) -> list[FetchedHeader]:
    """What the session does with a header FETCH's data (`HeaderFetcher._receive`,
    daemon/mail/headers.py)."""
    fetched = fast_fetch_headers(data, wanted)
    return fetched if fetched is not None else parse_unusual(data, wanted, "imap.example:143")


# --- imaplib's own reader over recorded bytes ------------------------------------------------


class _Replay(imaplib.IMAP4):
    """imaplib's response reader over recorded server bytes: no socket, no greeting."""

    def __init__(self, wire: bytes) -> None:
        self._wire = wire
        super().__init__()

    def open(self, host: str = "", port: int = 0, timeout: float | None = None) -> None:
        self.file = io.BytesIO(self._wire)

    def _connect(self) -> None:
        self.tagpre = b"A"
        self.tagre = re.compile(rb"(?P<tag>A\d+) (?P<type>[A-Z]+) (?P<data>.*)", re.ASCII)
        self._cmd_log_len, self._cmd_log_idx, self._cmd_log = 10, 0, {}
        self.tagged_commands[b"A1"] = None


def imaplib_data(wire: bytes, untagged: str = "FETCH") -> Data:
    """The untagged `untagged` data imaplib's own reader makes of `wire`: the reference the
    session's reader, `Wire` (`wire_data`), is held to."""
    replay = _Replay(wire + b"A1 OK done\r\n")
    while replay.tagged_commands[b"A1"] is None:
        replay._get_response()
    return [item for item in replay.untagged_responses.pop(untagged, []) if item is not None]


def wire_data(wire: bytes, untagged: str = "FETCH") -> Data:
    """The untagged `untagged` data the session's reader, `Wire.collect`, makes of `wire`
    (read through the same imaplib object, whose `file` and `read` are all it uses)."""
    kind = untagged.encode("ascii")
    return Wire(_Replay(wire + b"A1 OK done\r\n")).collect(b"A1", kind).of(kind)


def wire_of(data: Data) -> bytes:
    """The server bytes that `data` stands for: the inverse of `imaplib_data`."""

    def line(text: bytes) -> bytes:  # "1 (UID 7 ..." was "* 1 FETCH (UID 7 ..."
        number, _, rest = text.partition(b" ")
        return b"* " + number + b" FETCH " + rest

    out, after_literal = b"", False
    for item in data:
        text = item[0] if isinstance(item, tuple) else item
        out += (text if after_literal else line(text)) + b"\r\n"
        after_literal = isinstance(item, tuple)
        if after_literal:
            out += item[1]
    return out


# --- the usual shapes: the fast reader reads them, the general parser agrees -----------------

USUAL: dict[str, tuple[Data, set[int], Got]] = {
    "dovecot": ([lit(b"1 (UID 7 " + DATE + b" " + SECTION, ADA), b")"], {7}, [(7, ADA, WHEN)]),
    "dovecot-whole-section": (
        [lit(b"1 (UID 7 " + DATE + b" BODY[HEADER.FIELDS (FROM TO)]", ADA), b")"],
        {7},
        [(7, ADA, WHEN)],
    ),
    "pymap": ([lit(b"1 (" + SECTION, ADA), b" " + DATE + b" UID 7)"], {7}, [(7, ADA, WHEN)]),
    "mailutils": (
        [lit(b"1 (UID 7 " + SECTION, UPPER), b" " + DATE + b")"],
        {7},
        [(7, UPPER, WHEN)],
    ),
    "cyrus": ([lit(b"1 (UID 7 " + DATE + b" " + SECTION, ADA), b")"], {7}, [(7, ADA, WHEN)]),
    "cyrus-flags-first": (
        [lit(b"1 (FLAGS (\\Seen) UID 7 " + DATE + b" " + SECTION, ADA), b")"],
        {7},
        [(7, ADA, WHEN)],
    ),
    "cyrus-modseq": (
        [lit(b"1 (UID 7 " + DATE + b" MODSEQ (12) " + SECTION, ADA), b")"],
        {7},
        [(7, ADA, WHEN)],
    ),
    "courier": ([lit(b"1 (UID 7 " + QUOTED, ADA), b" " + DATE + b")"], {7}, [(7, ADA, WHEN)]),
    "no-internaldate": ([lit(b"1 (UID 7 " + SECTION, ADA), b")"], {7}, [(7, ADA, None)]),
    "two-messages-in-uid-order": (
        [
            lit(b"2 (UID 9 " + DATE + b" " + SECTION, BOB),
            b")",
            lit(b"1 (UID 7 " + DATE + b" " + SECTION, ADA),
            b")",
        ],
        {7, 9},
        [(7, ADA, WHEN), (9, BOB, WHEN)],
    ),
    "unsolicited-uid-dropped": (
        [lit(b"1 (UID 7 " + SECTION, ADA), b")", lit(b"5 (UID 12 " + SECTION, BOB), b")"],
        {7},
        [(7, ADA, None)],
    ),
    "only-unsolicited": ([lit(b"5 (UID 12 " + SECTION, BOB), b")"], {7}, []),
    "uid-above-32-bits-not-wanted": ([lit(b"1 (UID 4294967296 " + SECTION, ADA), b")"], {7}, []),
    "empty-literal": ([lit(b"1 (UID 7 " + SECTION, b""), b")"], {7}, [(7, b"", None)]),
    "cut-at-the-bytes-asked": (
        [lit(b"1 (UID 7 " + SECTION, ADA[:10]), b")"],
        {7},
        [(7, ADA[:10], None)],
    ),
    "no-reply-at-all": ([], {7}, []),
}


@pytest.mark.parametrize(("data", "wanted", "expected"), USUAL.values(), ids=USUAL.keys())
def test_the_fast_reader_reads_the_usual_shapes(
    data: Data, wanted: set[int], expected: Got
) -> None:
    assert got(fast_fetch_headers(data, wanted)) == expected


@pytest.mark.parametrize(("data", "wanted", "expected"), USUAL.values(), ids=USUAL.keys())
def test_the_general_parser_reads_the_usual_shapes_alike(
    data: Data, wanted: set[int], expected: Got
) -> None:
    assert got(parse_unusual(data, wanted, "here")) == expected


def test_the_fast_reader_keeps_the_date_as_sent_and_parses_it_when_asked() -> None:
    (item,) = fast_fetch_headers(USUAL["dovecot"][0], {7}) or []
    assert item.internaldate_value == b"01-Feb-2026 08:00:00 +0000"
    assert item.internaldate == WHEN
    assert item.internaldate is not None and item.internaldate.utcoffset() is not None


# --- shapes the fast reader leaves to the general parser -------------------------------------

UNUSUAL: dict[str, tuple[Data, set[int], Got]] = {
    "flags-line-among-them": (
        [lit(b"1 (UID 7 " + DATE + b" " + SECTION, ADA), b")", b"3 (UID 12 FLAGS (\\Seen))"],
        {7},
        [(7, ADA, WHEN)],
    ),
    "courier-flags-after": (
        [lit(b"1 (UID 7 " + QUOTED, ADA), b" " + DATE + b")", b"1 (FLAGS (\\Seen))"],
        {7},
        [(7, ADA, WHEN)],
    ),
    "second-literal": (
        [lit(b"1 (UID 7 " + SECTION, ADA), lit(b" BODY[TEXT]<0>", b"abc"), b")"],
        {7},
        [(7, ADA, None)],
    ),
    "section-as-quoted-string": (
        [b"1 (UID 7 " + SECTION + b' "From: ada@example.org")'],
        {7},
        [(7, b"From: ada@example.org", None)],
    ),
    "section-nil": ([b"1 (UID 7 " + DATE + b" " + SECTION + b" NIL)"], {7}, [(7, None, WHEN)]),
    "lower-case-items": (
        [lit(b"1 (uid 7 " + SECTION, ADA), b' internaldate "01-Feb-2026 08:00:00 +0000")'],
        {7},
        [(7, ADA, WHEN)],
    ),
    "other-literal-only": ([lit(b"1 (UID 7 BODY[TEXT]<0>", b"abc"), b")"], {7}, [(7, None, None)]),
    "uid-only": ([b"1 (UID 7)"], {7}, [(7, None, None)]),
}


@pytest.mark.parametrize(("data", "wanted", "expected"), UNUSUAL.values(), ids=UNUSUAL.keys())
def test_unusual_shapes_go_to_the_general_parser(
    data: Data, wanted: set[int], expected: Got
) -> None:
    assert fast_fetch_headers(data, wanted) is None
    assert got(read_reply(data, wanted)) == expected


@pytest.mark.parametrize(
    "data",
    [row[0] for row in USUAL.values()] + [row[0] for row in UNUSUAL.values()],
    ids=[*USUAL.keys(), *UNUSUAL.keys()],
)
def test_every_row_is_what_imaplib_makes_of_the_wire(data: Data) -> None:
    assert imaplib_data(wire_of(data)) == data


HANDED_OVER: dict[str, tuple[bytes, Data]] = {
    "literal": (
        b"* 1 FETCH (UID 7 BODY[HEADER] {3}\r\nabc)\r\n",
        [(b"1 (UID 7 BODY[HEADER] {3}", b"abc"), b")"],
    ),
    "empty-literal": (
        b"* 1 FETCH (UID 7 BODY[HEADER] {0}\r\n)\r\n",
        [(b"1 (UID 7 BODY[HEADER] {0}", b""), b")"],
    ),
    "two-literals": (
        b"* 1 FETCH (UID 7 BODY[HEADER] {2}\r\nab BODY[TEXT] {1}\r\nc)\r\n",
        [(b"1 (UID 7 BODY[HEADER] {2}", b"ab"), (b" BODY[TEXT] {1}", b"c"), b")"],
    ),
    "no-tail": (
        b"* 1 FETCH (UID 7 BODY[HEADER] {2}\r\nab\r\n",
        [(b"1 (UID 7 BODY[HEADER] {2}", b"ab"), b""],
    ),
    "lines": (
        b"* 3 FETCH (FLAGS (\\Seen))\r\n* 1 FETCH (UID 7)\r\n",
        [b"3 (FLAGS (\\Seen))", b"1 (UID 7)"],
    ),
    "other-untagged": (b"* 1 EXISTS\r\n* 1 FETCH (UID 7)\r\n", [b"1 (UID 7)"]),  # kept apart
}


@pytest.mark.parametrize(("wire", "data"), HANDED_OVER.values(), ids=HANDED_OVER.keys())
def test_how_imaplib_hands_over_a_fetch_reply(wire: bytes, data: Data) -> None:
    assert imaplib_data(wire) == data


def test_a_literal_cut_short_never_reaches_the_reader() -> None:
    """imaplib reads a literal to its announced length; a connection that ends first is an
    abort, which the session turns into a MailboxError, never a shorter literal."""
    with pytest.raises(imaplib.IMAP4.abort) as raised:
        imaplib_data(b"* 1 FETCH (UID 7 BODY[HEADER] {30}\r\nFrom: ada@ex")
    assert isinstance(raised.value, NETWORK_ERRORS)
    with pytest.raises(imaplib.IMAP4.abort):  # and the session's reader alike
        wire_data(b"* 1 FETCH (UID 7 BODY[HEADER] {30}\r\nFrom: ada@ex")


# --- garbled replies: one MailboxError, never anything else ----------------------------------

GARBLED: dict[str, Data] = {
    "extra-close-paren": [b"1 (UID 7))"],
    "nul-for-uid": [lit(b"1 (UID \x00 " + SECTION, ADA), b")"],
    "literal-size-not-a-number": [(b"1 (UID 7 " + SECTION + b" {x}", ADA), b")"],
    "uid-not-a-number": [lit(b"1 (UID x7 " + SECTION, ADA), b")"],
    "uid-missing-its-value": [b"1 (UID)"],
    "odd-number-of-items": [b"1 (UID 7 FLAGS)"],
    "message-number-not-a-number": [lit(b"x (UID 7 " + SECTION, ADA), b")"],
    "no-message-number": [lit(b"(UID 7 " + SECTION, ADA), b")"],
    "items-not-in-parens": [b"1 UID 7"],
    "message-number-only": [b"1"],
    "a-number-for-a-line": [7],
    "text-for-a-line": ["1 (UID 7)"],
    "a-tuple-of-three": [(b"1 (UID 7 " + SECTION + b" {3}", b"abc", b"x")],
    "section-a-number": [b"1 (UID 7 " + SECTION + b" 123)"],  # not a string: no header
    "section-a-list": [b"1 (UID 7 " + SECTION + b" (a b))"],
}
# Garbled around the literal: the general parser refuses them, the fast reader steps aside (see
# test_the_fast_reader_refuses_what_the_general_parser_does), but for the lying literals, which
# neither imaplib nor Wire can make (each reads a literal to the length announced), so the
# fast reader does not compare the lengths.
FRAMING: dict[str, Data] = {
    "literal-longer-than-said": [(b"1 (UID 7 " + SECTION + b" {5}", ADA), b")"],
    "literal-shorter-than-said": [(b"1 (UID 7 " + SECTION + b" {500}", ADA), b")"],
    "unclosed-paren-in-head": [lit(b"1 (UID 7 (" + SECTION, ADA), b")"],
    "nul-in-head": [lit(b"1 (UID 7 \x00 " + SECTION, ADA), b")"],
    "no-close-after-the-literal": [lit(b"1 (UID 7 " + SECTION, ADA), b""],
    "two-closes": [lit(b"1 (UID 7 " + SECTION, ADA), b"))"],
    "nul-in-tail": [lit(b"1 (UID 7 " + SECTION, ADA), b" \x00)"],
}


@pytest.mark.parametrize("data", [*GARBLED.values(), *FRAMING.values()],
                         ids=[*GARBLED.keys(), *FRAMING.keys()])  # fmt: skip
def test_the_general_parser_refuses_a_garbled_reply_with_one_mailbox_error(data: Data) -> None:
    with pytest.raises(MailboxError, match=r"^imap\.example:143: UID FETCH: malformed reply$"):
        parse_unusual(data, {7}, "imap.example:143")


@pytest.mark.parametrize("data", GARBLED.values(), ids=GARBLED.keys())
def test_a_garbled_reply_is_refused_by_both_readers(data: Data) -> None:
    assert fast_fetch_headers(data, {7}) is None
    with pytest.raises(MailboxError):
        read_reply(data, {7})


# --- the session's reader (Wire) hands over what imaplib's does ------------------------------

# Every row's wire bytes that imaplib can hand over: the shape tables, the framing rows but the
# lying literals, and the hand-over examples above.
_LYING = {"literal-longer-than-said", "literal-shorter-than-said"}
WIRES: dict[str, bytes] = {
    **{name: wire_of(data) for name, (data, _, _) in {**USUAL, **UNUSUAL}.items()},
    **{name: wire_of(data) for name, data in FRAMING.items() if name not in _LYING},
    **{f"handed-over-{name}": wire for name, (wire, _) in HANDED_OVER.items()},
}


@pytest.mark.parametrize("wire", WIRES.values(), ids=WIRES.keys())
def test_the_sessions_reader_hands_over_what_imaplib_does(wire: bytes) -> None:
    assert wire_data(wire) == imaplib_data(wire)


# --- INTERNALDATE garbage: the date is None, the header is kept ------------------------------

BAD_DATES = [
    b'"yesterday"',
    b'""',
    b'"31-Feb-2026 08:00:00 +0000"',
    b'"01-Feb-2026 25:00:00 +0000"',
    b'"01-Feb-2026 08:00:60 +0000"',
    b'"01-Xyz-2026 08:00:00 +0000"',
    b'"01-Feb-99999 08:00:00 +0000"',
    b'"01-Feb-2026 08:00:00"',
    b'"01-Feb-2026 08:00:00 +0000 and more"',
    b'"\xff\xfe"',
    b"NIL",
]


@pytest.mark.parametrize("date", BAD_DATES)
@pytest.mark.parametrize("shape", ["dovecot", "pymap"])
def test_internaldate_garbage_is_no_date_and_no_error(shape: str, date: bytes) -> None:
    if shape == "dovecot":
        data = [lit(b"1 (UID 7 INTERNALDATE " + date + b" " + SECTION, ADA), b")"]
    else:
        data = [lit(b"1 (" + SECTION, ADA), b" INTERNALDATE " + date + b" UID 7)"]
    for fetched in (fast_fetch_headers(data, {7}), parse_unusual(data, {7}, "here")):
        assert got(fetched) == [(7, ADA, None)]


def test_an_internaldate_too_large_for_an_int_is_no_date_on_either_path() -> None:
    date = b'"99999999999999999999-Feb-2026 08:00:00 +0000"'
    data = [lit(b"1 (UID 7 INTERNALDATE " + date + b" " + SECTION, ADA), b")"]
    assert got(fast_fetch_headers(data, {7})) == [(7, ADA, None)]
    assert got(parse_unusual(data, {7}, "here")) == [(7, ADA, None)]


# once got wrong: a datetime whose offset (+99:99) Python refuses to use (utcoffset() raised)
def test_an_internaldate_with_an_impossible_offset_is_no_date() -> None:
    item = FetchedHeader(7, ADA, b"01-Feb-2026 08:00:00 +9999")
    assert item.internaldate is None or item.internaldate.utcoffset() is not None


# --- what the readers once got wrong ---------------------------------------------------------


# parse_unusual keyed a FETCH item without UID by its message number (imapclient's
# parse_fetch_response), so the header of message 3 was taken as UID 3's, and an unsolicited
# FLAGS update for message 3 answered for a UID 3 the server left out.
@pytest.mark.parametrize(
    "data",
    [
        [lit(b"3 (" + DATE + b" " + SECTION, ADA), b")"],  # the UID left out
        [b"3 (FLAGS (\\Seen))"],  # an unsolicited flag update, as Courier sends one
    ],
    ids=["missing-uid", "flags-update"],
)
def test_an_item_without_uid_is_no_answer_for_the_uid_of_its_number(data: Data) -> None:
    try:
        fetched = read_reply(data, {3})
    except MailboxError:
        return  # refusing the reply is as good: the batch is fetched again in parts
    assert [item.uid for item in fetched] == []


# The fast reader did not check the parentheses or stray bytes around the literal, which
# imaplib hands over as they came; the general parser refuses these replies.
@pytest.mark.parametrize(
    "name",
    ["unclosed-paren-in-head", "nul-in-head", "no-close-after-the-literal", "two-closes",
     "nul-in-tail"],
)  # fmt: skip
def test_the_fast_reader_refuses_what_the_general_parser_does(name: str) -> None:
    data = FRAMING[name]
    assert imaplib_data(wire_of(data)) == data  # a reply imaplib can hand over
    assert fast_fetch_headers(data, {7}) is None


# Near the usual shape: what the fast reader reads, the general parser reads alike; all else it
# leaves to the general parser (which may read it or refuse it).
NEAR: dict[str, Data] = {
    "odd-number-of-items": [lit(b"1 (FLAGS UID 7 " + SECTION, ADA), b")"],
    "quote-glued-to-an-atom": [lit(b'1 (UID 7 X a"b" ' + SECTION, ADA), b")"],
    "unclosed-bracket": [lit(b"1 (UID 7 X[ " + SECTION, ADA), b")"],
    "closed-before-the-section": [lit(b"1 (UID 7) (" + SECTION, ADA), b")"],
    "more-after-the-close": [lit(b"1 (UID 7 " + SECTION, ADA), b") X (Y)"],
    "two-uids": [lit(b"1 (UID 9 UID 7 " + SECTION, ADA), b")"],
    "uids-in-head-and-tail": [lit(b"1 (UID 9 " + SECTION, ADA), b" UID 7)"],
    "uid-in-a-quoted-string": [lit(b'1 (X "UID 7" UID 9 ' + SECTION, ADA), b")"],
    "lower-case-uid-after": [lit(b"1 (UID 9 " + SECTION, ADA), b" uid 7)"],
    "date-twice": [lit(b"1 (UID 7 " + DATE + b" " + SECTION, ADA), b" INTERNALDATE NIL)"],
    "date-a-number": [lit(b"1 (UID 7 INTERNALDATE 5 " + SECTION, ADA), b")"],
    "date-a-list": [lit(b"1 (UID 7 INTERNALDATE (a b) " + SECTION, ADA), b")"],
    "same-uid-twice": [lit(b"1 (UID 7 " + DATE + b" " + SECTION, ADA), b")",
                       lit(b"2 (UID 7 " + SECTION, BOB), b")"],
    "control-character": [lit(b"1 (UID 7 X \x01 " + SECTION, ADA), b")"],
    "nul-ending-an-atom": [lit(b"1 (UID 7 X a\x00 " + SECTION, ADA), b")"],
    "escaped-quote": [lit(b'1 (UID 7 X "a\\"b" ' + SECTION, ADA), b")"],
    "nested-lists": [lit(b"1 (UID 7 X ((a)) " + SECTION, ADA), b")"],
    "nil-for-a-name": [lit(b"1 (UID 7 NIL X " + SECTION, ADA), b")"],
    "two-spaces": [lit(b"1 (UID 7  " + SECTION, ADA), b")"],
}  # fmt: skip


@pytest.mark.parametrize("data", NEAR.values(), ids=NEAR.keys())
def test_what_the_fast_reader_reads_the_general_parser_reads_alike(data: Data) -> None:
    fast = fast_fetch_headers(data, {7, 9})
    if fast is not None:
        assert got(fast) == got(parse_unusual(data, {7, 9}, "here"))


# --- FETCH n:m (UID) lines -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([b"1 (UID 7)", b"2 (UID 9)"], [7, 9]),
        ([], []),
        ([b"1 (uid 7)"], [7]),  # item names are case-insensitive
        ([b"1 (FLAGS (\\Seen) UID 7)"], [7]),  # Cyrus puts changed flags first
        ([b"1 (UID 7 FLAGS (\\Seen))"], [7]),
        ([b"1 (MODSEQ (12) UID 7)"], [7]),
        ([b"1 (RFC822.SIZE 120 UID 7)"], [7]),
        ([b"12345 (UID 4294967295)"], [MAX_UID - 1]),  # the largest UID there is
    ],
)
def test_fetch_uid_lines_as_uids(lines: Data, expected: list[int]) -> None:
    assert listed_uids(lines, "here") == expected


@pytest.mark.parametrize(
    "lines",
    [
        [b"1 (UIDNEXT 7)"],
        [b"1 (UIDX 7)"],
        [b"1 (UID x)"],
        [b"1 (UID)"],
        [b"x (UID 7)"],
        [b"(UID 7)"],
        [b" 1 (UID 7)"],
        [b"1 UID 7"],
        [b"1 (UID 7)", b"garbage"],
        ["1 (UID 7)"],
        [7],
        [(7, b"x")],
    ],
)
def test_a_garbled_fetch_uid_line_is_one_mailbox_error(lines: Data) -> None:
    with pytest.raises(MailboxError, match=r"^here: FETCH \(UID\): malformed reply$"):
        listed_uids(lines, "here")


# listed_uids refused the whole listing when the server slipped in an unsolicited flag update
# (RFC 3501 7.4.2 allows one at any time; it has no UID in a FETCH n:m (UID) reply), so
# another client marking a message read could fail a poll.
def test_an_unsolicited_flag_update_in_a_listing_is_ignored() -> None:
    assert listed_uids([b"1 (UID 7)", b"3 (FLAGS (\\Seen))", b"2 (UID 9)"], "here") == [7, 9]


def test_a_uid_is_an_item_of_its_own_not_the_end_of_another_name() -> None:
    assert listed_uids([b"1 (X-UID 5 UID 7)", b"2 (FLAGS () UID 9)"], "here") == [7, 9]
    with pytest.raises(MailboxError):
        listed_uids([b"1 (X-UID 5)"], "here")


def test_a_listed_uid_above_32_bits_is_malformed() -> None:
    with pytest.raises(MailboxError):
        listed_uids([b"1 (UID 4294967296)"], "here")


# --- ESEARCH, beyond tests/test_imap_fetch.py ------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "most", "expected"),
    [
        ([b'(TAG "A1") UID MIN 1 MAX 9 ALL 1:3,9'], 100, [1, 2, 3, 9]),  # other results first
        ([b'(TAG "A1") UID COUNT 3 ALL 4,5,6'], 100, [4, 5, 6]),
        ([b'(TAG "A1") UID ALL 1:2', b'(TAG "A1") UID ALL 7'], 100, [1, 2, 7]),  # two lines
        ([b'(TAG "A1") UID ALL 3:3'], 100, [3]),
        ([b'(TAG "A1") UID ALL 4294967295'], 100, [MAX_UID - 1]),
        ([b'(TAG "A1") UID ALL 1:10'], 10, list(range(1, 11))),  # exactly `most`
        ([b'(TAG "A1") UID ALL 1:5,6:10'], 10, list(range(1, 11))),
        ([b'(TAG "A1") UID ALL 1,2,3,4,5,6,7,8,9,10'], 10, list(range(1, 11))),
        ([], 100, []),
    ],
)
def test_more_esearch_replies_as_uids(lines: Data, most: int, expected: list[int]) -> None:
    assert esearch_uids(lines, "here", most) == expected


@pytest.mark.parametrize(
    ("lines", "most"),
    [
        ([b'(TAG "A1") UID ALL 1:11'], 10),  # one more than `most`
        ([b'(TAG "A1") UID ALL 1:5,6:11'], 10),  # counted over every part
        ([b'(TAG "A1") UID ALL 1:6', b'(TAG "A1") UID ALL 7:11'], 10),  # and over every line
        ([b'(TAG "A1") UID ALL 5,'], 100),
        ([b'(TAG "A1") UID ALL ,5'], 100),
        ([b'(TAG "A1") UID ALL 4294967297'], 100),
        ([b'(TAG "A1") UID ALL 1:4294967297'], 10**12),
        ([None], 100),
        (["UID ALL 1"], 100),
    ],
)
def test_more_garbled_esearch_replies(lines: Data, most: int) -> None:
    with pytest.raises(MailboxError, match=r"^here: UID SEARCH: malformed reply$"):
        esearch_uids(lines, "here", most)


@pytest.mark.parametrize("uids", [b"0", b"0:3", b"4294967296"])
def test_an_esearch_uid_outside_1_to_2_32_minus_1_is_malformed(uids: bytes) -> None:
    with pytest.raises(MailboxError):
        esearch_uids([b'(TAG "A1") UID ALL ' + uids], "here", 100)
