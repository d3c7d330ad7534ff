"""parsers/headers, the parts below `parse_headers`, as tables: splitting a block into fields
(both the UTF-8 and the 8-bit path), the bounds on lines, values and References, and what a
`HeaderBlock` tells the sync before anything is decoded (`raw`, `addresses_capped`)."""

from __future__ import annotations

import pytest

from kithkin.parsers.headers import read_block
from kithkin.parsers.headers.address_list import MAX_ADDRESSES
from kithkin.parsers.headers.fields import (
    _MAX_LINES,
    _MAX_VALUE,
    _REFERENCE_WINDOW,
    MAX_ADDRESS_BYTES,
    split_fields,
)

LATIN1 = b"X-Latin-1: caf\xe9\n"  # one byte that is not UTF-8: the block takes the 8-bit path


@pytest.mark.parametrize("eight_bit", [False, True], ids=["utf-8", "8-bit"])
@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (b"Subject: a\n\nFrom: b@x.org\n\n", {"subject": " a"}),  # the first blank line ends it
        (b"Subject: a\r\n\r\nFrom: b@x.org\r\n", {"subject": " a"}),
        (b"\n\nSubject: a\n", {}),
        (b"To: a@x\nTo: b@y\nCc: c@z\nTo: d@w\n", {"to": " a@x, b@y, d@w", "cc": " c@z"}),
        (b"Subject: a\nSubject: b\n", {"subject": " a"}),  # other fields: the first one
        (b"Subject: a\n b\n\tc\n", {"subject": " a b\tc"}),  # unfolded
        (b"SUBJECT: a\nsubject : b\n", {"subject": " a"}),
        (b"sUbJeCt : a\n", {"subject": " a"}),
        (b"Message-ID: <m@x>\nMessage-Id: <n@x>\n", {"message-id": " <m@x>"}),
        (b"X-Other: a\nnot a field\n", {}),
    ],
)
def test_split_fields(block: bytes, expected: dict[str, str], eight_bit: bool) -> None:
    assert split_fields(block + LATIN1 if eight_bit else block) == expected


def test_an_8_bit_value_is_utf_8_when_it_is_and_else_the_declared_charset() -> None:
    block = (
        b"Content-Type: text/plain; charset=iso-8859-1\n"
        b"Subject: caf\xc3\xa9\n"  # UTF-8 despite the label: read as UTF-8
        b"From: R\xe9my <r@x.org>\n"  # Latin-1, as declared
    )
    fields = split_fields(block)
    assert fields["subject"] == " café"
    assert fields["from"] == " Rémy <r@x.org>"


@pytest.mark.parametrize("tail", [b"", LATIN1], ids=["utf-8", "8-bit"])
def test_only_the_first_max_lines_are_read(tail: bytes) -> None:
    junk = b"X-Junk: 1\n" * (_MAX_LINES - 1)
    assert split_fields(junk + b"Subject: in\n" + tail) == {"subject": " in"}
    assert split_fields(junk + b"X-Junk: 1\nSubject: late\n" + tail) == {}


@pytest.mark.parametrize("tail", [b"", LATIN1], ids=["utf-8", "8-bit"])
def test_values_are_bounded_address_fields_less_tightly(tail: bytes) -> None:
    block = b"To: " + b"a" * 20_000 + b"\nSubject: " + b"s" * 20_000 + b"\n" + tail
    fields = split_fields(block)
    assert len(fields["to"]) == 20_001  # under MAX_ADDRESS_BYTES: whole
    assert fields["subject"] == " " + "s" * (_MAX_VALUE - 1)
    huge = split_fields(b"Cc: " + b"c" * (MAX_ADDRESS_BYTES + 10) + b"\n" + tail)
    assert len(huge["cc"]) == MAX_ADDRESS_BYTES


@pytest.mark.parametrize("tail", [b"", LATIN1], ids=["utf-8", "8-bit"])
@pytest.mark.parametrize(
    ("length", "windowed"),
    [(_MAX_VALUE + 1, False), (2 * _REFERENCE_WINDOW, False), (2 * _REFERENCE_WINDOW + 1, True),
     (40_000, True)],
)  # fmt: skip
def test_a_long_references_keeps_a_window_at_each_end(
    length: int, windowed: bool, tail: bytes
) -> None:
    value = " <first@x>" + "r" * (length - 18) + "<last@x>"  # `length` characters
    references = split_fields(b"References:" + value.encode() + b"\n" + tail)["references"]
    if windowed:
        assert references == value[:_REFERENCE_WINDOW] + " <> " + value[-_REFERENCE_WINDOW:]
    else:
        assert references == value


def test_raw_is_a_field_as_written_or_empty() -> None:
    block = read_block(b"Subject:  =?utf-8?q?caf=C3=A9?=\r\nFrom: a@x.org\r\n\r\n")
    assert block.raw("subject") == "  =?utf-8?q?caf=C3=A9?="
    assert block.raw("list-id") == ""


LONG = "x" * int(MAX_ADDRESS_BYTES * 0.99)  # with its leading space: just over the mark
MANY = ", ".join(f"p{n}@x.org" for n in range(MAX_ADDRESSES))


@pytest.mark.parametrize("name", ["From", "To", "Cc", "Bcc"])
@pytest.mark.parametrize(
    ("value", "capped"),
    [(LONG, True), (LONG[:-1], False), (MANY, True), (MANY.rpartition(",")[0], False)],
    ids=["long", "just-short-enough", "many", "one-fewer"],
)
def test_addresses_capped_names_each_address_field(name: str, value: str, capped: bool) -> None:
    block = read_block(f"{name}: {value}\r\n\r\n".encode())
    assert block.addresses_capped() is capped
