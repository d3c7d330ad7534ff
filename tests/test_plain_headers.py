"""parsers/headers/plain.py: the addresses of a plain header block, off its bytes.

The sieve may pass over a message only when it is sure: for every block, what
`plain_addresses` returns must hold every address `read_block` reads (in the same normal
form), or be None. Tables of shapes first, then the same property on generated hostile blocks.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kithkin.daemon.core.matching import Sieve
from kithkin.parsers.headers import read_block
from kithkin.parsers.headers.plain import PLAIN_LIMIT, plain_addresses


def block(*lines: str | bytes) -> bytes:
    parts = [line.encode("utf-8") if isinstance(line, str) else line for line in lines]
    return b"\r\n".join(parts) + b"\r\n\r\n"


# fmt: off
PLAIN = [
    # (block, From addresses, recipient addresses)
    (block("From: ann@example.org", "To: me@home.example"),
     {"ann@example.org"}, {"me@home.example"}),
    (block("From: Ann Smith <Ann@Example.ORG>", "To: <me@home.example>"),
     {"ann@example.org"}, {"me@home.example"}),
    (block('From: "Smith, Ann" <ann@example.org>', "Subject: hi (there)"),
     {"ann@example.org"}, set()),
    (block("From: =?utf-8?q?Zo=C3=AB?= <zoe@example.org>", "Cc: a@x.example, b@y.example,"),
     {"zoe@example.org"}, {"a@x.example", "b@y.example"}),
    (block("FROM: a@x.example", "to: b@y.example", "CC: c@z.example", "bcc: d@w.example"),
     {"a@x.example"}, {"b@y.example", "c@z.example", "d@w.example"}),
    (block("To: a@x.example,", "\tb@y.example", "From: c@z.example"),  # folded
     {"c@z.example"}, {"a@x.example", "b@y.example"}),
    (block("To: a@x.example", "To: b@y.example"),  # repeated: read_block joins them
     set(), {"a@x.example", "b@y.example"}),
    (block("To: undisclosed-recipients:;", "From: a@x.example"),  # no @: no address
     {"a@x.example"}, set()),
    (block("From: Ann <a@xn--bcher-kva.example>"), {"a@bücher.example"}, set()),
    (block("From : a@x.example"), {"a@x.example"}, set()),  # space before the colon
    (block("From: a@x.example", "Subject: caf\xe9".encode("latin-1")),  # 8-bit elsewhere
     {"a@x.example"}, set()),
    (block("From: ann@example.org <b@x.example>"),  # an address as display name
     {"b@x.example"}, set()),
    (block("From: a@x.example") + b"To: b@y.example\r\n",  # after the blank line: body
     {"a@x.example"}, set()),
]

NOT_PLAIN = [
    block("From: ann@example.org (Ann)"),                  # comment
    block("From: ann (x) @ example.org"),                  # obsolete spacing
    block("From: ann . smith@example.org"),
    block('From: "ann smith"@example.org'),                # quoted local part
    block("To: friends: a@x.example, b@y.example;"),       # group
    block("From: a@x.example b@y.example"),                # missing comma
    block("To: a@x.example, b@y.example c@z.example"),     # missing comma in a list
    block("To: a@x.example, Bo <b@y.example> c@z.example"),
    block("From: Jos\xe9 <j@x.example>".encode("latin-1")),  # 8-bit in an address field
    block(b"From: a\x00n@x.example"),              # control character
    block(b"\xc2\xa0From: a@x.example"),                   # a name read_block strips
    block(b"Fr\x0bom: a@x.example"),
    block(b"\x0bFrom: a@x.example"),
    block("From: <mailto:a@x.example>"),
    block("From: <@relay.example:a@x.example>"),           # source route
    block("From: a@[127.0.0.1]"),
    block("From: a@x.example.,"),
    block("From: Ann\\ Smith <a@x.example>"),
    block("From: a@x.example, , b@y.example"),             # empty item
    block("From: a@x.example,  "),
    block("From: " + "w " * 11 + "<a@x.example>"),         # more words than the fast path
    block("From: a@x.example", "To: " + "b@y.example, " * 400),  # longer than PLAIN_LIMIT
]
# fmt: on


def normal(addresses: set[str]) -> set[bytes]:
    return {address.encode("utf-8") for address in addresses}


@pytest.mark.parametrize(("raw", "senders", "recipients"), PLAIN)
def test_plain_blocks_give_their_addresses(
    raw: bytes, senders: set[str], recipients: set[str]
) -> None:
    assert plain_addresses(raw) == (normal(senders), normal(recipients))
    assert_covers(raw)


@pytest.mark.parametrize("raw", NOT_PLAIN)
def test_other_blocks_are_left_to_read_block(raw: bytes) -> None:
    assert plain_addresses(raw) is None


def test_the_limit_is_bytes_of_the_block() -> None:
    raw = block("From: a@x.example", "Subject: " + "x" * PLAIN_LIMIT)
    assert plain_addresses(raw) is None


def assert_covers(raw: bytes) -> None:
    """Whatever plain_addresses says, read_block finds no address it did not list."""
    found = plain_addresses(raw)
    if found is None:
        return
    senders, recipients = found
    read = read_block(raw)
    assert {a.address.encode("utf-8") for a in read.from_} <= senders, raw
    assert {a.address.encode("utf-8") for a in read.to + read.cc + read.bcc} <= recipients, raw


# --- generated blocks ------------------------------------------------------------------------

CONTACT = "ann.smith@example.org"
PIECES = [
    "ann.smith", "ann", "smith", "@", "example.org", "example", ".org", ".", " ", "\t", ",",
    ";", ":", "<", ">", '"', "(", ")", "\\", "[", "]", "Ann Smith", "=?utf-8?q?Ann?=",
    "mailto:", "xn--bcher-kva", "\x00", "\x0b", "\x1f", "\x7f", "\xa0", "\xe9", "\u2003",
    "\ufeff", "Ａ", "ｅｘａｍｐｌｅ", "\r\n ", "\r\n\t", "\r\n", "\n", "\r", CONTACT,
    f"<{CONTACT}>", f"Ann <{CONTACT}>", "b@y.example",
]  # fmt: skip
NAMES = ["From", "To", "Cc", "Bcc", "FROM", "from", " From", "From ", "\xa0From", "Fr\x0bom",
         "Subject", "Reply-To", "X-From", "From\t"]  # fmt: skip
ENCODINGS = ["utf-8", "latin-1"]


@st.composite
def hostile_blocks(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(1, 5))):
        name = draw(st.sampled_from(NAMES))
        value = "".join(draw(st.lists(st.sampled_from(PIECES), max_size=12)))
        encoding = draw(st.sampled_from(ENCODINGS))
        lines.append(f"{name}:{value}".encode(encoding, "replace"))
    return b"\r\n".join(lines) + b"\r\n\r\n"


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_blocks())
def test_no_address_read_block_finds_is_missed(raw: bytes) -> None:
    assert_covers(raw)


@settings(max_examples=300, deadline=None)
@given(hostile_blocks())
def test_the_sieve_passes_over_no_contact(raw: bytes) -> None:
    """A block that names the contact (as read_block reads it) is never passed over."""
    read = read_block(raw)
    named = {a.address for a in read.from_ + read.to + read.cc + read.bcc}
    sieve = Sieve.of([CONTACT], ["me@home.example"])
    if CONTACT in named:
        assert sieve.may_concern(raw, replies=False)


def test_the_sieve_keeps_mail_between_the_owners_addresses() -> None:
    sieve = Sieve.of([CONTACT], ["me@home.example", "me@work.example"])
    to_self = block("From: me@home.example", "To: me@work.example")
    assert sieve.may_concern(to_self, replies=True)  # could be a reply to a summary
    assert not sieve.may_concern(to_self, replies=False)  # a backfill reads no replies
    stranger = block("From: b@y.example", "To: me@home.example")
    assert not sieve.may_concern(stranger, replies=True)
    assert sieve.may_concern(block(f"From: b@y.example, {CONTACT.upper()}"), replies=False)
