"""`parsers/addresses.py`: one canonical form per address. Each table reads as the spec."""

from __future__ import annotations

import pytest

from kithkin.parsers.addresses import ascii_address, normalise_address, normalise_domain

ACUTE = "\u0301"  # COMBINING ACUTE ACCENT: "e" + ACUTE is "é" decomposed (NFD)
RING = "\u030a"  # COMBINING RING ABOVE
DIAERESIS = "\u0308"  # COMBINING DIAERESIS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ann@example.org", "ann@example.org"),
        ("Ann@Example.ORG", "ann@example.org"),
        ("ANN@EXAMPLE.ORG", "ann@example.org"),
        ("ÅNGSTRÖM@x.org", "ångström@x.org"),
        ("Straße@x.org", "strasse@x.org"),  # case-folded, not only lowercased
        ("STRASSE@x.org", "strasse@x.org"),
    ],
)
def test_case_is_folded(raw: str, expected: str) -> None:
    assert normalise_address(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<ann@example.org>", "ann@example.org"),
        ("  <ann@example.org>  ", "ann@example.org"),
        ("<  ann@example.org  >", "ann@example.org"),
        ("\tann@example.org\n", "ann@example.org"),
        ("ann@example.org>", "ann@example.org"),
        ("mailto:ann@example.org", "ann@example.org"),
        ("MAILTO:<Ann@x.org>", "ann@x.org"),
    ],
)
def test_brackets_whitespace_and_mailto_around_it_are_dropped(raw: str, expected: str) -> None:
    assert normalise_address(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ann@bücher.example", "ann@bücher.example"),
        ("ann@BÜCHER.example", "ann@bücher.example"),
        ("ann@xn--bcher-kva.example", "ann@bücher.example"),  # punycode back to Unicode
        ("ann@XN--BCHER-KVA.EXAMPLE", "ann@bücher.example"),
        ("ann@xn--caf-dma.example", "ann@café.example"),
        ("ann@faß.example", "ann@faß.example"),  # IDNA 2008 keeps ß (IDNA 2003: fass)
        ("ann@xn--fa-hia.example", "ann@faß.example"),
        ("ann@ｅｘａｍｐｌｅ.org", "ann@example.org"),  # UTS 46 maps fullwidth letters
        ("ann@xn--zz.example", "ann@xn--zz.example"),  # bad punycode: kept, lowercased
        ("ann@[127.0.0.1]", "ann@[127.0.0.1]"),  # an address literal
        ("Ann@[IPv6:::1]", "ann@[ipv6:::1]"),
        ("ann@localhost", "ann@localhost"),
    ],
)
def test_domains_are_lowercase_unicode_by_idna_2008(raw: str, expected: str) -> None:
    assert normalise_address(raw) == expected


@pytest.mark.parametrize(
    ("decomposed", "precomposed", "expected"),
    [
        (f"re{ACUTE}my@x.org", "rémy@x.org", "rémy@x.org"),
        (f"RE{ACUTE}MY@x.org", "RÉMY@x.org", "rémy@x.org"),
        (f"A{RING}ngstro{DIAERESIS}m@x.org", "Ångström@x.org", "ångström@x.org"),
        (f"ann@cafe{ACUTE}.example", "ann@café.example", "ann@café.example"),
        (f"ann@CAFE{ACUTE}.example", "ann@CAFÉ.example", "ann@café.example"),
        # `_` is no IDNA character: this label is kept as written, lowercased and NFC
        (f"ann@cafe{ACUTE}_bar.example", "ann@café_bar.example", "ann@café_bar.example"),
        (f"re{ACUTE}my@cafe{ACUTE}.example", "rémy@café.example", "rémy@café.example"),
        (f'"re{ACUTE}my smith"@x.org', '"rémy smith"@x.org', '"rémy smith"@x.org'),
    ],
    ids=["local", "local-upper", "local-two", "domain", "domain-upper", "domain-not-idna",
         "both", "quoted-local"],
)  # fmt: skip
def test_a_combining_accent_and_a_precomposed_one_are_one_address(
    decomposed: str, precomposed: str, expected: str
) -> None:
    assert decomposed != precomposed
    assert normalise_address(decomposed) == expected
    assert normalise_address(precomposed) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"ann"@x.org', "ann@x.org"),  # quotes nobody needs are dropped
        ('"Ann"@X.org', "ann@x.org"),
        ('"ann smith"@x.org', '"ann smith"@x.org'),  # a local part that needs them keeps them
        ('"Ann Smith"@X.org', '"ann smith"@x.org'),
        ('"a,b"@x.org', '"a,b"@x.org'),
        ('"a@b"@x.org', '"a@b"@x.org'),  # the last @ separates the domain
    ],
)
def test_quoted_local_parts(raw: str, expected: str) -> None:
    assert normalise_address(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ann@example.org.", "ann@example.org"),  # the root's dot
        ("ann@example.org..", "ann@example.org"),
        ("ann.@x.org", "ann.@x.org"),  # a dot in the local part is the mailbox's business
        ("ann@example..org", None),
        ("ann@.example.org", None),
        ("ann@.", None),
    ],
)
def test_dots(raw: str, expected: str | None) -> None:
    assert normalise_address(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "ann",
        "@x.org",
        "ann@",
        "ann@@x.org",
        "a@b@c.org",
        "<>",
        "mailto:",
        "mailto:ann",
        "Ann <ann@x.org>",  # a display name and an address: not one address
        "ann<x>@y.org",
        "ann smith@x.org",
        "ann @x.org",
        "ann@ x.org",
        "ann@exa mple.org",
        "a,b@x.org",
        "a;b@x.org",
        "a:b@x.org",
        "a(b)@x.org",
        "a[b]@x.org",
        "a\\b@x.org",
        'a"b@x.org',
    ],
)
def test_garbage_is_none(raw: str) -> None:
    assert normalise_address(raw) is None


def test_length_is_not_checked_here() -> None:
    """The header reader drops entries over 512 characters before they get here
    (`headers.address_list`); contact files hold what the owner typed."""
    local = "a" * 300
    assert normalise_address(f"{local.upper()}@X.org") == f"{local}@x.org"
    assert normalise_address(f"ann@{'b' * 100}.org") == f"ann@{'b' * 100}.org"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.ORG.", "example.org"),
        ("  x.org ", "x.org"),
        ("xn--bcher-kva.example", "bücher.example"),
        (f"cafe{ACUTE}.example", "café.example"),
        ("[1.2.3.4]", "[1.2.3.4]"),
        ("", None),
        (".", None),
        ("a..b", None),
    ],
)
def test_normalise_domain(raw: str, expected: str | None) -> None:
    assert normalise_domain(raw) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("ann@example.org", "ann@example.org"),
        ("ann@bücher.example", "ann@xn--bcher-kva.example"),
        ("rémy@café.example", "rémy@xn--caf-dma.example"),  # the local part stays as it is
        ("ann@faß.example", "ann@xn--fa-hia.example"),
        ("ann@[127.0.0.1]", "ann@[127.0.0.1]"),
        (f"a@{'ü' * 70}.example", f"a@{'ü' * 70}.example"),  # no valid IDNA: unchanged
    ],
)
def test_ascii_address(address: str, expected: str) -> None:
    assert ascii_address(address) == expected


@pytest.mark.parametrize(
    "address", ["ann@bücher.example", "rémy@café.example", "ann@faß.example", "ann@x.org"]
)
def test_ascii_address_normalises_back_to_the_same_address(address: str) -> None:
    assert normalise_address(address) == address
    assert normalise_address(ascii_address(address)) == address
