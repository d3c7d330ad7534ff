"""`parse_headers`: raw header bytes in, `MessageFacts` out. Each table reads as the spec."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kithkin.parsers.headers import (
    HEADER_FIELDS,
    Address,
    MessageFacts,
    parse_address_list,
    parse_headers,
)
from kithkin.parsers.headers.address_list import _usual_address_list

DATA = Path(__file__).parent / "data" / "headers"
INTERNALDATE = datetime(2022, 9, 13, 14, 0, 0, tzinfo=UTC)


def block(*lines: bytes) -> bytes:
    """A header block as the server sends it: CRLF lines and a blank line at the end."""
    return b"\r\n".join(lines) + b"\r\n\r\n"


def subject_of(value: bytes, *extra: bytes) -> str:
    return parse_headers(block(b"Subject: " + value, *extra)).subject


def pairs(field: bytes, value: bytes) -> list[tuple[str, str]]:
    facts = parse_headers(block(field + b": " + value))
    mailboxes = {b"From": facts.from_, b"To": facts.to, b"Cc": facts.cc, b"Bcc": facts.bcc}
    return [(m.name, m.address) for m in mailboxes[field]]


# --- the API ---------------------------------------------------------------------------------


def test_header_fields_are_what_the_sync_asks_for() -> None:
    assert HEADER_FIELDS == (
        "FROM", "TO", "CC", "BCC", "DATE", "MESSAGE-ID", "IN-REPLY-TO", "REFERENCES",
        "SUBJECT", "LIST-ID", "AUTO-SUBMITTED", "PRECEDENCE", "CONTENT-TYPE",
        "X-KITHKIN-SUMMARY",
    )  # fmt: skip


def test_records_are_immutable() -> None:
    facts = parse_headers(block(b"From: a@x.org"))
    with pytest.raises(AttributeError):
        facts.subject = "changed"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        facts.from_[0].address = "b@x.org"  # type: ignore[misc]


def test_a_typical_reply_from_a_fixture() -> None:
    facts = parse_headers((DATA / "outlook_reply.hdr").read_bytes(), INTERNALDATE)
    assert facts == MessageFacts(
        from_=(Address("Kowalski, Chloé", "chloe.kowalski@example.org"),),
        to=(
            Address("Jürgen Müller", "juergen@bücher.example"),
            Address("Ann O'Neil", "ann@example.org"),
        ),
        cc=(Address("", "bob@example.org"), Address("carol", "carol@example.net")),
        bcc=(),
        date=datetime(2022, 9, 13, 13, 1, 2, tzinfo=UTC),
        date_from_header=True,
        message_id="DB9PR01MB1234.eurprd01.prod.example.com@example.org",
        in_reply_to=("root-1@example.org",),
        references=("root-0@example.org", "root-1@example.org"),
        subject="RE: Grüße aus Köln✔",
        list_id=None,
        auto_submitted=None,
        precedence=None,
        kithkin_summary=None,
        raw_date="Tue, 13 Sep 2022 15:01:02 +0200 (CEST)",
    )


def test_a_latin1_list_mail_from_a_fixture() -> None:
    facts = parse_headers((DATA / "latin1_list.hdr").read_bytes())
    assert facts.from_ == (Address("François Dubois", "francois@liste.example.fr"),)
    assert facts.subject == "[discussion] café crème “hi”"
    assert facts.list_id == "discussion.liste.example.fr"
    assert facts.precedence == "list"
    assert facts.date == datetime(2022, 9, 13, 19, 1, tzinfo=UTC)


def test_an_auto_reply_from_a_fixture() -> None:
    facts = parse_headers((DATA / "autoreply_no_id.hdr").read_bytes(), INTERNALDATE)
    assert facts.from_ == (Address("", "postmaster@mail.example.com"),)
    assert facts.to == ()
    assert facts.bcc == (Address("Ann", "ann@example.org"),)
    assert (facts.date, facts.date_from_header) == (INTERNALDATE, False)
    assert facts.subject == "Absence étéhi Bcc: x@evil"  # RFC 2047: space between words goes
    assert facts.auto_submitted == "auto-replied"
    assert facts.kithkin_summary == "2022-W37"
    assert facts.message_id is None
    assert facts.message_key.startswith("sha256:")


# --- subjects: charsets, encoded words, control characters -----------------------------------

SUBJECTS = [
    pytest.param(b"Hello there", (), "Hello there", id="ascii"),
    pytest.param(b"caf\xe9", (), "café", id="latin-1 8-bit, no hint: cp1252"),
    pytest.param(b"caf\xe9 cr\xe8me", (), "café crème", id="latin-1 in the middle"),
    pytest.param(b"\x93quoted\x94 \x80", (), "“quoted” €", id="cp1252 punctuation"),
    pytest.param(
        b"caf\xe9", (b"Content-Type: text/plain; charset=iso-8859-1",), "café", id="latin-1 hint"
    ),
    pytest.param(
        "日本語のメール".encode("shift_jis"),
        (b'Content-Type: text/plain; charset="Shift_JIS"',),
        "日本語のメール",
        id="shift-jis with charset hint",
    ),
    pytest.param(
        "Привет".encode("koi8-r"),
        (b"Content-Type: text/plain; charset=koi8-r",),
        "Привет",
        id="koi8-r with charset hint",
    ),
    pytest.param(
        "Grüße".encode(),
        (b"Content-Type: text/plain; charset=iso-8859-1",),
        "Grüße",
        id="valid utf-8 wins over the hint",
    ),
    pytest.param(
        b"caf\xe9", (b"Content-Type: text/plain; charset=no-such-charset",), "café", id="bad hint"
    ),
    pytest.param(b"a\x81b", (), "a b", id="byte undefined in cp1252: latin-1, C1 control"),
    pytest.param("Grüße aus Köln".encode(), (), "Grüße aus Köln", id="raw utf-8"),
    pytest.param(b"=?utf-8?q?caf=C3=A9_cr=C3=A8me?=", (), "café crème", id="encoded Q"),
    pytest.param(b"=?UTF-8?B?Y2Fmw6kgY3LDqG1l?=", (), "café crème", id="encoded B"),
    pytest.param(b"=?utf-8?b?Y2Fmw6k?=", (), "café", id="B with missing padding"),
    pytest.param(b"=?utf-8?b?Y2Fm w6k=?=", (), "=?utf-8?b?Y2Fm w6k=?=", id="space: not a word"),
    pytest.param(b"=?utf-8?q?a?= =?utf-8?q?b?=", (), "ab", id="adjacent words joined"),
    pytest.param(b"=?utf-8?q?a?=\r\n =?utf-8?q?b?=", (), "ab", id="folded adjacent words"),
    pytest.param(b"=?utf-8?q?a?= x =?utf-8?q?b?=", (), "a x b", id="text between words kept"),
    pytest.param(b"Re: =?utf-8?q?caf=C3=A9?= ok", (), "Re: café ok", id="word inside text"),
    pytest.param(b"=?utf-8?b?4oK=?= =?utf-8?b?rA==?=", (), "€", id="character split across"),
    pytest.param(b"=?x-unknown?q?caf=C3=A9?=", (), "café", id="unknown charset: utf-8"),
    pytest.param(b"=?x-unknown?q?caf=E9?=", (), "café", id="unknown charset: cp1252"),
    pytest.param(b"=?us-ascii?q?caf=C3=A9?=", (), "café", id="mislabelled charset"),
    pytest.param(b"=?utf-8?q?caf=E9?=", (), "café", id="latin-1 labelled utf-8"),
    pytest.param(b"=?base64?q?abc?=", (), "abc", id="binary codec as charset"),
    pytest.param(b"=?utf-8*en?q?hello?=", (), "hello", id="RFC 2231 language"),
    pytest.param(b"=?iso-2022-jp?b?GyRCRnxLXDhsGyhC?=", (), "日本語", id="iso-2022-jp"),
    pytest.param(b"=?gb2312?b?1tDOxA==?=", (), "中文", id="gb2312 read as gb18030"),
    pytest.param(b"a =?bogus and =?x?q?", (), "a =?bogus and =?x?q?", id="not encoded words"),
    pytest.param(
        b"=?utf-8?q?hi=0D=0ABcc:_x@evil?=", (), "hi Bcc: x@evil", id="encoded CR LF injection"
    ),
    pytest.param(b"=?utf-8?q?a=00b=09c=7Fd=1B?=", (), "a b c d", id="encoded NUL, tab, DEL, ESC"),
    pytest.param(b"=?utf-8?q?a=1Bd_=1B[31mb?=", (), "a b", id="escape sequences go whole"),
    pytest.param(b"=?utf-8?q?a=C2=85b=E2=80=A8c?=", (), "a b c", id="encoded NEL, LINE SEP"),
    pytest.param(b"a\x00b\tc  \x0bd ", (), "a b c d", id="raw controls and runs of space"),
    pytest.param(b"  long\r\n  folded\r\n\tsubject  ", (), "long folded subject", id="folded"),
    pytest.param(b"", (), "", id="empty"),
]


@pytest.mark.parametrize(("value", "extra", "expected"), SUBJECTS)
def test_subject(value: bytes, extra: tuple[bytes, ...], expected: str) -> None:
    assert subject_of(value, *extra) == expected


def test_missing_subject_is_empty() -> None:
    assert parse_headers(block(b"From: a@x.org")).subject == ""


# --- addresses -------------------------------------------------------------------------------

ADDRESSES = [
    pytest.param(b"ann@example.org", [("", "ann@example.org")], id="bare"),
    pytest.param(b"Ann <Ann@Example.ORG>", [("Ann", "ann@example.org")], id="name, case"),
    pytest.param(b"<ann@example.org>", [("", "ann@example.org")], id="angle only"),
    pytest.param(
        b'"Doe, John" <j@x.org>, Ann Smith <a@x.org>',
        [("Doe, John", "j@x.org"), ("Ann Smith", "a@x.org")],
        id="comma in quotes",
    ),
    pytest.param(
        b'"Ann \\"the boss\\" Smith" <a@x.org>',
        [('Ann "the boss" Smith', "a@x.org")],
        id="escaped quotes",
    ),
    pytest.param(
        b"=?utf-8?q?Doe,_J=C3=BCrgen?= <j@x.org>, b@y.org",
        [("Doe, Jürgen", "j@x.org"), ("", "b@y.org")],
        id="raw comma inside an encoded word does not split",
    ),
    pytest.param(
        b"=?utf-8?b?RG9lLCBKb2hu?= <j@x.org>", [("Doe, John", "j@x.org")], id="encoded B name"
    ),
    pytest.param(
        b'"=?utf-8?q?J=C3=BCrgen?=" <j@x.org>', [("Jürgen", "j@x.org")], id="encoded in quotes"
    ),
    pytest.param(
        b"=?utf-8?q?Evil=0D=0ABcc:_x@evil?= <a@x.org>",
        [("Evil Bcc: x@evil", "a@x.org")],
        id="encoded CR LF in a name",
    ),
    pytest.param(b"=?x-nope?q?Ren=E9?= <r@x.org>", [("René", "r@x.org")], id="unknown charset"),
    pytest.param(b"undisclosed-recipients:;", [], id="empty group"),
    pytest.param(
        b"friends: a@x.org, B <b@y.org>;, c@z.org",
        [("", "a@x.org"), ("B", "b@y.org"), ("", "c@z.org")],
        id="group members and a mailbox after it",
    ),
    pytest.param(b"x (comment) <y@z.org>", [("x", "y@z.org")], id="comment beside a name"),
    pytest.param(b"y@z.org (Yvonne Z)", [("Yvonne Z", "y@z.org")], id="comment as the name"),
    pytest.param(b"a@x.org (Ann (work), team)", [("Ann (work), team", "a@x.org")], id="nested"),
    pytest.param(b'"a@b"@example.org', [("", '"a@b"@example.org')], id="quoted local part"),
    pytest.param(b'"ann"@example.org', [("", "ann@example.org")], id="needless quotes"),
    pytest.param(
        b"ann@xn--bcher-kva.example, Ann <ANN@B\xc3\x9cCHER.example>",
        [("Ann", "ann@bücher.example")],
        id="IDN: punycode and UTF-8 are one address",
    ),
    pytest.param(
        "Jürgen <jürgen@bücher.example>".encode(),
        [("Jürgen", "jürgen@bücher.example")],
        id="SMTPUTF8 raw utf-8",
    ),
    pytest.param(
        b"not an address, , <>, <@>, Ann <a@x.org>, @x.org, b@",
        [("Ann", "a@x.org")],
        id="garbage dropped",
    ),
    pytest.param(
        b"a@x.org, A <A@X.ORG>, a@x.org", [("A", "a@x.org")], id="duplicates, name filled in"
    ),
    pytest.param(b"a@x.org b@y.org", [("", "a@x.org"), ("", "b@y.org")], id="missing comma"),
    pytest.param(b"Ann Smith ann@x.org", [("Ann Smith", "ann@x.org")], id="no angle brackets"),
    pytest.param(b"john . doe @ example.org", [("", "john.doe@example.org")], id="obs spacing"),
    pytest.param(b"<@relay.example:ann@x.org>", [("", "ann@x.org")], id="source route"),
    pytest.param(b"<mailto:ann@x.org>", [("", "ann@x.org")], id="mailto"),
    pytest.param(b"Ann <a\x00n@x.org>", [("Ann", "an@x.org")], id="NUL inside an address"),
    pytest.param(b"Ann <ann@x.org", [("Ann", "ann@x.org")], id="unclosed angle"),
    pytest.param(b'"Ann <ann@x.org>', [], id="unclosed quote swallows the rest"),
    pytest.param(
        b"Ann\r\n <ann@x.org>,\r\n\tBob <bob@x.org>",
        [("Ann", "ann@x.org"), ("Bob", "bob@x.org")],
        id="folded list",
    ),
    pytest.param(
        b"A B C D E F G H I J K L <k@x.org>", [("A B C D E F G H I J K L", "k@x.org")], id="long"
    ),
    pytest.param(b"a" * 600 + b"@x.org, b@x.org", [("", "b@x.org")], id="overlong dropped"),
]


@pytest.mark.parametrize(("value", "expected"), ADDRESSES)
def test_address_list(value: bytes, expected: list[tuple[str, str]]) -> None:
    assert pairs(b"To", value) == expected


@pytest.mark.parametrize("field", [b"From", b"To", b"Cc", b"Bcc"])
def test_every_address_field_is_read(field: bytes) -> None:
    assert pairs(field, b"Ann <ann@x.org>") == [("Ann", "ann@x.org")]


def test_latin1_display_name() -> None:
    assert pairs(b"From", b"Fran\xe7ois <f@x.org>") == [("François", "f@x.org")]


def test_addresses_per_field_are_capped() -> None:
    value = b", ".join(b"u%d@x.org" % n for n in range(1500))
    facts = parse_headers(block(b"To: " + value))
    assert len(facts.to) == 1000
    assert facts.to[-1].address == "u999@x.org"


def test_recipients_are_to_cc_bcc_once_each_in_order() -> None:
    facts = parse_headers(
        block(b"To: b@x.org, a@x.org", b"Cc: A <a@x.org>, c@x.org", b"Bcc: d@x.org, b@x.org")
    )
    assert [m.address for m in facts.recipients] == ["b@x.org", "a@x.org", "c@x.org", "d@x.org"]


# --- dates -----------------------------------------------------------------------------------


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


DATES = [
    pytest.param(b"Tue, 13 Sep 2022 15:01:02 +0200", utc(2022, 9, 13, 13, 1, 2), id="rfc 5322"),
    pytest.param(b"13 Sep 2022 15:01:02 -0330", utc(2022, 9, 13, 18, 31, 2), id="no weekday"),
    pytest.param(b"Tue, 13 Sep 2022 15:01 +0000", utc(2022, 9, 13, 15, 1), id="no seconds"),
    pytest.param(b"Tue, 13 Sep 2022 15:01:02 -0000", utc(2022, 9, 13, 15, 1, 2), id="-0000"),
    pytest.param(b"Tue, 13 Sep 2022 15:01:02", utc(2022, 9, 13, 15, 1, 2), id="no zone: UTC"),
    pytest.param(b"Tue, 13 Sep 2022 15:01:02 GMT", utc(2022, 9, 13, 15, 1, 2), id="GMT"),
    pytest.param(b"Tue, 13 Sep 22 15:01 EDT", utc(2022, 9, 13, 19, 1), id="2-digit year, EDT"),
    pytest.param(b"Mon, 13 Sep 99 15:01 PST", utc(1999, 9, 13, 23, 1), id="99 is 1999"),
    pytest.param(b"13 Sep 122 15:01 +0000", utc(2022, 9, 13, 15, 1), id="3-digit year"),
    pytest.param(b"13 Sep 2022 15:01:02 CEST", utc(2022, 9, 13, 15, 1, 2), id="unknown zone"),
    pytest.param(
        b"Tue, 13 Sep 2022 15:01:02 +0200 (CEST)", utc(2022, 9, 13, 13, 1, 2), id="comment"
    ),
    pytest.param(b"Sat, 31 Dec 2016 23:59:60 +0000", utc(2016, 12, 31, 23, 59, 59), id="leap s"),
    pytest.param(b"Tue,\r\n 13 Sep 2022\r\n 15:01:02 +0200", utc(2022, 9, 13, 13, 1, 2), id="fold"),
    pytest.param(b"Tue Sep 13 15:01:02 2022", utc(2022, 9, 13, 15, 1, 2), id="ctime via stdlib"),
    pytest.param(b"Tue, 13 Sep 2022 15:01:02 +1400", utc(2022, 9, 13, 1, 1, 2), id="+14h ok"),
    pytest.param(b"Thu, 01 Jan 1970 00:00:00 +0000", utc(1970, 1, 1), id="epoch ok"),
]


@pytest.mark.parametrize(("value", "expected"), DATES)
def test_date(value: bytes, expected: datetime) -> None:
    facts = parse_headers(block(b"Date: " + value))
    assert (facts.date, facts.date_from_header) == (expected, True)
    assert facts.date is not None and facts.date.tzinfo is UTC


BOGUS_DATES = [
    pytest.param(b"32 Foo 2013 25:61:00 +9999", id="nonsense"),
    pytest.param(b"next tuesday", id="words"),
    pytest.param(b"Tue, 13 Sep 2022 15:01:02 +1500", id="zone beyond 14h"),
    pytest.param(b"Tue, 13 Sep 2022 15:01:02 +0175", id="zone minutes"),
    pytest.param(b"Tue, 13 Sep 2022 25:01:02 +0000", id="hour 25"),
    pytest.param(b"Fri, 30 Feb 2022 10:00:00 +0000", id="30 February"),
    pytest.param(b"Wed, 31 Dec 1969 23:59:59 +0000", id="before 1970"),
    pytest.param(b"Thu, 01 Jan 1970 00:30:00 +0100", id="before 1970 in UTC"),
    pytest.param(b"Mon, 1 Jan 0 00:00:00 +0000", id="year 0"),
    pytest.param(b"Mon, 1 Jan 0000 00:00:00 +0000", id="year 0000"),
    pytest.param(b"Fri, 1 Jan 2100 00:00:00 +0000", id="far future"),
    pytest.param(b"Thu, 15 Sep 2022 14:00:01 +0000", id="two days and a second ahead"),
    pytest.param(b"Sat, 1 Jan 9999 23:00:00 -1200", id="overflows"),
    pytest.param(b"", id="empty"),
]


@pytest.mark.parametrize("value", BOGUS_DATES)
def test_bogus_date_falls_back_to_internaldate(value: bytes) -> None:
    facts = parse_headers(block(b"Date: " + value), INTERNALDATE)
    assert (facts.date, facts.date_from_header) == (INTERNALDATE, False)
    assert facts.raw_date == value.decode()


def test_date_up_to_two_days_ahead_of_internaldate_is_believed() -> None:
    facts = parse_headers(block(b"Date: Thu, 15 Sep 2022 14:00:00 +0000"), INTERNALDATE)
    assert (facts.date, facts.date_from_header) == (utc(2022, 9, 15, 14), True)


def test_far_future_date_is_kept_without_internaldate() -> None:
    facts = parse_headers(block(b"Date: Fri, 1 Jan 2100 00:00:00 +0000"))
    assert (facts.date, facts.date_from_header) == (utc(2100, 1, 1), True)


def test_bogus_date_without_internaldate_is_none() -> None:
    facts = parse_headers(block(b"Date: 32 Foo 2013 25:61:00 +9999"))
    assert (facts.date, facts.date_from_header) == (None, False)


def test_missing_date_uses_internaldate() -> None:
    facts = parse_headers(block(b"From: a@x.org"), INTERNALDATE)
    assert (facts.date, facts.date_from_header, facts.raw_date) == (INTERNALDATE, False, "")


def test_missing_date_and_internaldate_is_none() -> None:
    facts = parse_headers(block(b"From: a@x.org"))
    assert (facts.date, facts.date_from_header) == (None, False)


@pytest.mark.parametrize(
    ("internaldate", "expected"),
    [
        pytest.param(datetime(2022, 9, 13, 14, 0), utc(2022, 9, 13, 14), id="naive is UTC"),
        pytest.param(
            datetime(2022, 9, 13, 16, 0, tzinfo=timezone(timedelta(hours=2))),
            utc(2022, 9, 13, 14),
            id="aware is converted",
        ),
    ],
)
def test_internaldate_is_normalised_to_utc(internaldate: datetime, expected: datetime) -> None:
    facts = parse_headers(block(b"Subject: no date"), internaldate)
    assert facts.date == expected
    assert facts.date is not None and facts.date.tzinfo is UTC


# --- ids and the other fields ----------------------------------------------------------------

IDS = [
    pytest.param(b"Message-ID: <abc@x.org>", "message_id", "abc@x.org", id="message-id"),
    pytest.param(b"Message-ID: < abc def@x.org >", "message_id", "abcdef@x.org", id="spaces"),
    pytest.param(b"Message-ID: abc@x.org", "message_id", "abc@x.org", id="no brackets"),
    pytest.param(b"Message-ID: <abc@x.org", "message_id", "abc@x.org", id="unclosed"),
    pytest.param(b"Message-ID: <a\x00b@x.org>", "message_id", "ab@x.org", id="NUL"),
    pytest.param(b"Message-ID:", "message_id", None, id="empty"),
    pytest.param(b"Message-ID: <>", "message_id", None, id="empty brackets"),
    pytest.param(
        b"In-Reply-To: <a@x> (Ann's message of Tue) <b@y>",
        "in_reply_to",
        ("a@x", "b@y"),
        id="in-reply-to with text",
    ),
    pytest.param(b"In-Reply-To: a@x", "in_reply_to", ("a@x",), id="in-reply-to bare"),
    pytest.param(
        b"References: <a@x>\r\n <b@y>\t<c@z> <b@y>",
        "references",
        ("a@x", "b@y", "c@z"),
        id="references: order kept, each once",
    ),
    pytest.param(b"List-Id: Friends <friends.x.org>", "list_id", "friends.x.org", id="list-id"),
    pytest.param(b"List-Id: friends.x.org", "list_id", "friends.x.org", id="list-id bare"),
    pytest.param(b"Auto-Submitted: Auto-Replied; x", "auto_submitted", "auto-replied", id="auto"),
    pytest.param(b"Auto-Submitted: no (human)", "auto_submitted", "no", id="auto no"),
    pytest.param(b"Auto-Submitted:  ", "auto_submitted", None, id="auto empty"),
    pytest.param(b"Precedence: BULK", "precedence", "bulk", id="precedence"),
    pytest.param(b"X-Kithkin-Summary:  week 37 \r\n", "kithkin_summary", "week 37", id="ours"),
    pytest.param(b"x-kithkin-summary:", "kithkin_summary", None, id="ours empty"),
]


@pytest.mark.parametrize(("line", "attribute", "expected"), IDS)
def test_field(line: bytes, attribute: str, expected: object) -> None:
    assert getattr(parse_headers(block(line)), attribute) == expected


def test_references_keep_the_first_and_the_last_fifty() -> None:
    ids = b" ".join(b"<r%d@x.org>" % n for n in range(3000))
    references = parse_headers(block(b"References: " + ids)).references
    assert references == ("r0@x.org", *(f"r{n}@x.org" for n in range(2950, 3000)))


def test_a_megabyte_of_references_keeps_both_ends() -> None:
    ids = b" ".join(b"<%d.abcdefghijklmnopqrstuvwxyz@x.org>" % n for n in range(25_000))
    references = parse_headers(block(b"References: " + ids)).references
    assert references[0] == "0.abcdefghijklmnopqrstuvwxyz@x.org"
    assert references[-1] == "24999.abcdefghijklmnopqrstuvwxyz@x.org"
    assert len(references) == 51


# --- the block itself ------------------------------------------------------------------------


def test_first_occurrence_wins_for_single_fields_and_to_cc_bcc_combine() -> None:
    facts = parse_headers(
        block(
            b"From: first@x.org",
            b"Subject: first",
            b"Date: Tue, 13 Sep 2022 15:01:02 +0000",
            b"Message-ID: <first@x.org>",
            b"To: a@x.org",
            b"Cc: c@x.org",
            b"From: second@x.org",
            b"Subject: second",
            b"Date: Wed, 14 Sep 2022 15:01:02 +0000",
            b"Message-ID: <second@x.org>",
            b"To: b@x.org, a@x.org",
            b"Cc: d@x.org",
            b"Bcc: e@x.org",
            b"bcc: f@x.org",
        )
    )
    assert [m.address for m in facts.from_] == ["first@x.org"]
    assert (facts.subject, facts.message_id) == ("first", "first@x.org")
    assert facts.date == utc(2022, 9, 13, 15, 1, 2)
    assert [m.address for m in facts.to] == ["a@x.org", "b@x.org"]
    assert [m.address for m in facts.cc] == ["c@x.org", "d@x.org"]
    assert [m.address for m in facts.bcc] == ["e@x.org", "f@x.org"]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"from: a@x.org\r\nSUBJECT: hi\r\n\r\n", id="case"),
        pytest.param(b"fRoM : a@x.org\r\nSubject\t: hi\r\n\r\n", id="space before colon"),
        pytest.param(b"From: a@x.org\nSubject: hi\n\n", id="LF only"),
        pytest.param(b"From: a@x.org\r\nSubject: hi", id="no blank line at the end"),
        pytest.param(b"From a@x.org Tue Sep 13\r\nFrom: a@x.org\r\nSubject: hi\r\n", id="mbox"),
        pytest.param(b"X-Other: 1\r\nFrom: a@x.org\r\nX: \xff\r\nSubject: hi\r\n", id="others"),
        pytest.param(b"From: a@x.org\r\nSubject: hi\r\n\r\nFrom: b@y.org\r\n", id="body ignored"),
        pytest.param(b"From:\r\n a@x.org\r\nSubject:\r\n\thi\r\n", id="value on a new line"),
    ],
)
def test_block_shapes(raw: bytes) -> None:
    facts = parse_headers(raw)
    assert ([m.address for m in facts.from_], facts.subject) == (["a@x.org"], "hi")


def test_nul_bytes_do_not_break_parsing() -> None:
    facts = parse_headers(
        b"From: Ann\x00 <ann@x.org>\r\n\x00\r\nSubject: a\x00b\r\nTo: b@x.org\x00\r\n\r\n"
    )
    assert facts.from_ == (Address("Ann", "ann@x.org"),)
    assert facts.subject == "a b"
    assert [m.address for m in facts.to] == ["b@x.org"]


def test_truncated_block() -> None:
    facts = parse_headers(b"From: a@x.org\r\nTo: b@x.org, c@x.o")
    assert [m.address for m in facts.to] == ["b@x.org", "c@x.o"]
    assert parse_headers(b"Subject: =?utf-8?q?caf=C3").subject == "=?utf-8?q?caf=C3"
    assert parse_headers("Subject: Grüße Jü".encode()[:-1]).subject == "Grüße J"
    assert parse_headers(b"Subj").subject == ""


def test_blank_line_first_means_no_headers() -> None:
    assert parse_headers(b"\r\nFrom: a@x.org\r\n").from_ == ()


def test_a_megabyte_header_stays_bounded() -> None:
    facts = parse_headers(block(b"Subject: " + b"x" * 1_000_000, b"From: a@x.org"))
    assert set(facts.subject) == {"x"} and 16_000 < len(facts.subject) <= 16 * 1024
    assert [m.address for m in facts.from_] == ["a@x.org"]


def test_headers_folded_thousands_of_times() -> None:
    facts = parse_headers(block(b"Subject: a" + b"\r\n b" * 5000, b"From: a@x.org"))
    assert facts.subject == "a" + " b" * 5000
    assert [m.address for m in facts.from_] == ["a@x.org"]


# --- message_key -----------------------------------------------------------------------------


def test_message_key_is_the_message_id_in_brackets() -> None:
    facts = parse_headers(block(b"Message-ID: < abc@x.org >", b"Subject: hi"))
    assert facts.message_key == "<abc@x.org>"


def test_message_key_without_message_id_hashes_sender_date_and_subject() -> None:
    facts = parse_headers(
        block(b"From: Ann <ANN@x.org>", b"Date: Tue, 13 Sep 2022 15:01:02 +0000", b"Subject: hi")
    )
    text = "ann@x.org|Tue, 13 Sep 2022 15:01:02 +0000|hi"
    assert facts.message_key == "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def test_message_key_is_stable_across_header_order_and_folding() -> None:
    one = block(
        b"From: Ann <ann@x.org>",
        b"Date: Tue, 13 Sep 2022 15:01:02 +0000",
        b"Subject: =?utf-8?q?caf=C3=A9?= and more",
        b"To: b@x.org",
    )
    two = (
        b"to: b@x.org\nsubject:\n =?UTF-8?Q?caf=C3=A9?=\n\tand  more\n"
        b'DATE: Tue, 13 Sep 2022\n 15:01:02 +0000\nFROM: "Ann" <ANN@X.ORG>\n\n'
    )
    assert parse_headers(one).message_key == parse_headers(two).message_key
    three = one.replace(b"and more", b"and less")
    assert parse_headers(three).message_key != parse_headers(one).message_key


def test_message_key_differs_by_sender() -> None:
    one = block(b"From: a@x.org", b"Subject: hi")
    two = block(b"From: b@x.org", b"Subject: hi")
    assert parse_headers(one).message_key != parse_headers(two).message_key


# --- properties ------------------------------------------------------------------------------

SEEDS = [path.read_bytes() for path in sorted(DATA.glob("*.hdr"))]
CONTROL = {chr(n) for n in (*range(0x20), *range(0x7F, 0xA0))}


def assert_well_formed(facts: MessageFacts) -> None:
    for mailboxes in (facts.from_, facts.to, facts.cc, facts.bcc):
        assert isinstance(mailboxes, tuple)
        assert len({m.address for m in mailboxes}) == len(mailboxes) <= 1000
        for mailbox in mailboxes:
            assert isinstance(mailbox, Address)
            assert isinstance(mailbox.name, str) and isinstance(mailbox.address, str)
            assert "@" in mailbox.address
            assert not CONTROL & set(mailbox.name)
    assert facts.date is None or facts.date.tzinfo is UTC
    assert facts.date_from_header is (facts.date is not None and facts.date_from_header)
    assert isinstance(facts.subject, str) and not CONTROL & set(facts.subject)
    assert facts.subject == facts.subject.strip()
    assert isinstance(facts.raw_date, str)
    for identifier in (facts.message_id, facts.list_id):
        assert identifier is None or (identifier and not CONTROL & set(identifier))
    for ids in (facts.in_reply_to, facts.references):
        assert isinstance(ids, tuple) and all(isinstance(i, str) and i for i in ids)
    assert len(facts.references) <= 51
    for token in (facts.auto_submitted, facts.precedence, facts.kithkin_summary):
        assert token is None or (isinstance(token, str) and token)
    assert isinstance(facts.message_key, str) and facts.message_key
    assert len({m.address for m in facts.recipients}) == len(facts.recipients)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000), st.none() | st.datetimes())
def test_any_bytes_parse_without_error(raw: bytes, internaldate: datetime | None) -> None:
    assert_well_formed(parse_headers(raw, internaldate))


HEADERISH = st.lists(
    st.sampled_from([f.encode() for f in HEADER_FIELDS] + [b"x-other"]).flatmap(
        lambda name: st.tuples(
            st.just(name),
            st.binary(max_size=80)
            | st.text(alphabet=' <>@,;:()"\\=?.qQbB\r\n\t\x00é', max_size=60).map(str.encode),
        )
    ),
    max_size=12,
).map(lambda fields: b"".join(name + b": " + value + b"\r\n" for name, value in fields))


@settings(max_examples=300, deadline=None)
@given(HEADERISH, st.none() | st.datetimes(timezones=st.just(UTC)))
def test_header_shaped_noise_parses_without_error(
    raw: bytes, internaldate: datetime | None
) -> None:
    assert_well_formed(parse_headers(raw, internaldate))


@st.composite
def mutated_seed(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(raw)))
        action = draw(st.sampled_from(["insert", "delete", "flip", "duplicate", "truncate"]))
        if action == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=8) | st.sampled_from(TRICKY))
        elif action == "delete":
            del raw[at : at + draw(st.integers(1, 20))]
        elif action == "flip" and at < len(raw):
            raw[at] = draw(st.integers(0, 255))
        elif action == "duplicate":
            raw[at:at] = raw[max(0, at - 40) : at]
        elif action == "truncate":
            del raw[at:]
    return bytes(raw)


TRICKY = [
    b"\r\n", b"\n", b"\r\n ", b"\r\n\r\n", b"\x00", b":", b",", b";", b"<", b">", b'"', b"(",
    b")", b"=?", b"?=", b"=?utf-8?q?", b"=?x?b?", b"\\", b"@", b"\xff", b"\xc3",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(mutated_seed(), st.none() | st.datetimes())
def test_mutated_real_blocks_parse_without_error(raw: bytes, internaldate: datetime | None) -> None:
    assert_well_formed(parse_headers(raw, internaldate))


NAME = st.text(alphabet="AbcdéÜ ',.=?_-", min_size=1, max_size=12).filter(lambda s: s.strip())
ADDRESS = st.from_regex(
    r"[a-z0-9.+_-]{1,8}@[a-z0-9-]{1,8}\.(org|example|xn--bcher-kva)", fullmatch=True
)


@st.composite
def usual_list(draw: st.DrawFn) -> str:
    entries = []
    for _ in range(draw(st.integers(1, 5))):
        name, address = draw(NAME), draw(ADDRESS)
        style = draw(st.integers(0, 2))
        if style == 0:
            entries.append(address)
        elif style == 1 and '"' not in name and not set(name) & set(",;:()<>@\\"):
            entries.append(f"{name} <{address}>")
        else:
            entries.append(f'"{name}" <{address}>')
    return draw(st.sampled_from([", ", ",", " ,  "])).join(entries)


@settings(max_examples=300, deadline=None)
@given(usual_list())
def test_fast_path_agrees_with_the_full_address_parser(text: str) -> None:
    fast = _usual_address_list(text)
    assert fast is not None
    assert fast == parse_address_list(text)
