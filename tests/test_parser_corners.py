"""Corners of the parsers that mutation testing found no test for: the ASCII form of an
address whose local part holds an "@", a vCard N with a family name only, and a Google
label marked "*" without a space."""

from __future__ import annotations

import pytest

from kithkin.parsers.addresses import ascii_address
from kithkin.parsers.contacts import ContactRecord, parse_csv, parse_vcards


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("ann@bücher.example", "ann@xn--bcher-kva.example"),
        ("ann@Bücher.example", "ann@xn--bcher-kva.example"),  # UTS 46 maps case first
        ('"a@b"@bücher.example', '"a@b"@xn--bcher-kva.example'),  # the domain: after the last @
        ("ann@example.org", "ann@example.org"),
        ("ann@bü_cher.example", "ann@bü_cher.example"),  # no IDNA form: kept as it is
    ],
)
def test_ascii_address(address: str, expected: str) -> None:
    assert ascii_address(address) == expected


def test_a_vcard_n_with_the_family_name_only_is_that_name() -> None:
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lovelace\r\nEMAIL:ada@example.org\r\nEND:VCARD\r\n"
    assert parse_vcards(card) == ([ContactRecord("Lovelace", ("ada@example.org",), line=1)], [])


def test_a_google_label_marked_with_a_star_and_no_space_keeps_its_name() -> None:
    text = "Name,E-mail 1 - Value,Labels\nAda,ada@example.org,*Friends ::: * starred\n"
    records, problems = parse_csv(text)
    assert problems == []
    assert [record.tags for record in records] == [("Friends",)]
