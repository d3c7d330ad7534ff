"""`parsers/text.py`: the one sanitiser, the one bytes -> text decoder, the charset allowlist;
and that no unclean string gets through the header parser or out of the command line."""

from __future__ import annotations

import base64
import codecs
import dataclasses
import encodings.aliases
import json
import pkgutil
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from helpers import CliResult, write_config
from hypothesis import given, settings
from hypothesis import strategies as st

from kithkin.daemon.core.records import Interaction
from kithkin.daemon.store import Store
from kithkin.parsers.contacts import parse_vcards
from kithkin.parsers.headers import MessageFacts, parse_headers
from kithkin.parsers.text import (
    TEXT_CHARSETS,
    charset_codec,
    clean_line,
    clean_text,
    decode_bytes,
    decode_file,
    is_clean,
)

# An oracle of its own, not the sanitiser's character classes: controls (C0, C1), surrogates,
# line and paragraph separators, and the bidi formatting characters.
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def unsafe_characters(text: str, allowed: str = "") -> set[str]:
    return {
        char
        for char in text
        if char not in allowed
        and (unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in BIDI)
    }


# --- (a) the sanitiser, case by case ---------------------------------------------------------

LINES = [
    pytest.param("plain text", "plain text", id="plain ASCII unchanged"),
    pytest.param("Grüße aus Köln ✔", "Grüße aus Köln ✔", id="plain non-ASCII unchanged"),
    pytest.param("  a  b\t\tc  ", "a b c", id="tabs and runs of space"),
    pytest.param("a\r\nb\rc\nd", "a b c d", id="CRLF, CR, LF"),
    pytest.param("a\x00b", "a b", id="NUL"),
    pytest.param("a\x07b\x08c\x7fd", "a b c d", id="BEL, BS, DEL"),
    pytest.param("a\x0bb\x0cc", "a b c", id="VT, FF"),
    pytest.param("\x1b[31mred\x1b[0m text", "red text", id="CSI colour"),
    pytest.param("a\x1b[1;31;48;5;196mb", "ab", id="CSI colour with parameters"),
    pytest.param("x\x1b[2J\x1b[Hy", "xy", id="CSI clear screen, cursor home"),
    pytest.param("x\x1b[10A\x1b[3;4fy\x1b[Kz", "xyz", id="CSI cursor moves, erase line"),
    pytest.param("x\x1b[?25ly", "xy", id="CSI private mode (hide cursor)"),
    pytest.param("a\x1b]0;pwned\x07b", "ab", id="OSC title set, BEL"),
    pytest.param("a\x1b]2;pwned\x1b\\b", "ab", id="OSC title set, ST"),
    pytest.param("a\x1b]8;;http://x.example\x07link\x1b]8;;\x07b", "alinkb", id="OSC 8 hyperlink"),
    pytest.param("a\x1b]0;unterminated", "a", id="OSC unterminated"),
    pytest.param("a\x1bcb", "ab", id="ESC c: full reset"),
    pytest.param("a\x1b(Bb\x1b7c", "abc", id="ESC ( B charset, ESC 7 save cursor"),
    pytest.param("a\x1b", "a", id="lone ESC at the end"),
    pytest.param("a\x9b31mb", "ab", id="8-bit CSI U+009B"),
    pytest.param("a\x9b2Jb", "ab", id="8-bit CSI clear screen"),
    pytest.param("a\x85b", "a b", id="NEL U+0085"),
    pytest.param("a\x80b\x9fc\x9dd", "a b c d", id="other C1 controls"),
    pytest.param("a\u2028b\u2029c", "a b c", id="line and paragraph separators"),
    pytest.param("abc\u202egnp.exe\u202c", "abcgnp.exe", id="RLO ... PDF"),
    pytest.param("\u202aa\u202bb\u202dc", "abc", id="LRE, RLE, LRO"),
    pytest.param(
        "\u2066a\u2069 \u2067b\u2069 \u2068c\u2069", "a b c", id="isolates LRI RLI FSI PDI"
    ),
    pytest.param("a\u200eb\u200fc\u061cd", "abcd", id="LRM, RLM, ALM"),
    pytest.param("\ufeffBOM", "BOM", id="BOM / zero-width no-break space"),
    pytest.param("a \u202e b", "a b", id="override between spaces"),
    pytest.param("a\ud800b", "a\ufffdb", id="lone high surrogate"),
    pytest.param("a\udc00b", "a\ufffdb", id="lone low surrogate"),
    pytest.param("\udcff", "\ufffd", id="surrogateescape byte"),
    pytest.param("a\ud83d\ude00b", "a\U0001f600b", id="surrogate pair joined"),
    pytest.param("a\u00a0b\u3000c", "a b c", id="Unicode spaces"),
    pytest.param("\u200d\U0001f468\u200d\U0001f469", "\u200d\U0001f468\u200d\U0001f469", id="ZWJ"),
    pytest.param("", "", id="empty"),
    pytest.param(" \x1b[0m \u202e ", "", id="nothing left"),
]


@pytest.mark.parametrize(("raw", "expected"), LINES)
def test_clean_line(raw: str, expected: str) -> None:
    assert clean_line(raw) == expected
    assert is_clean(expected) and not unsafe_characters(expected)


TEXTS = [
    pytest.param("a\r\nb\rc\nd", "a\nb\nc\nd", id="every line break is LF"),
    pytest.param("a\x1b[31mb\nc\x1b]0;t\x07d", "ab\ncd", id="sequences removed"),
    pytest.param("  a\t b  \n\n c ", "a b\n\nc", id="spaces collapsed per line, blank kept"),
    pytest.param("a\x00b\x85c\u2028d", "a b c d", id="controls and separators are spaces"),
    pytest.param("x\u202ey\u2066z", "xyz", id="bidi removed"),
    pytest.param("a\ud800\nb\ud83d\ude00", "a\ufffd\nb\U0001f600", id="surrogates"),
]


@pytest.mark.parametrize(("raw", "expected"), TEXTS)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected
    assert is_clean(expected)


@pytest.mark.parametrize(
    "text",
    ["a\x1b", "a\x9b", "a\x00", "a\r", "a\t", "a\x85", "a\u2028", "a\u202e", "a\u2066",
     "a\u200f", "a\ufeff", "a\ud800"],
)  # fmt: skip
def test_is_clean_refuses_each_unsafe_character(text: str) -> None:
    assert not is_clean(text)
    assert is_clean(clean_line(text)) and is_clean(clean_text(text))


def test_is_clean_allows_line_breaks_only_as_lf() -> None:
    assert is_clean("a\nb") and not is_clean("a\r\nb")


# --- (b) the sanitiser, for any text ---------------------------------------------------------

UNSAFE = (
    "\x00\x07\x08\t\n\x0b\x0c\r\x1b\x7f\x80\x85\x9b\x9c\x9d\xa0\u061c\u200b\u200d\u200e\u200f"
    "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff\ud800\udc00"
    "\udfff\ud83d\ude00"
)
TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from([*UNSAFE, "[", "]", ";", "0", "m", "J", "a", " ", "é"])),
    st.lists(st.sampled_from([*UNSAFE, "\x1b[", "\x1b]", "\x1b\\", "31m", " ", "é", "x"])).map(
        "".join
    ),
)


@settings(max_examples=500, deadline=None)
@given(TEXT)
def test_any_text_comes_out_clean(text: str) -> None:
    line = clean_line(text)
    assert is_clean(line) and not unsafe_characters(line)
    assert line == line.strip() and "  " not in line
    assert clean_line(line) == line
    multi = clean_text(text)
    assert is_clean(multi) and not unsafe_characters(multi, allowed="\n")
    assert clean_text(multi) == multi


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_printable_text_takes_the_fast_path_to_the_same_result(text: str) -> None:
    if text.isprintable():
        assert clean_line(text) == " ".join(text.split())


# --- charsets and decoding -------------------------------------------------------------------

NOT_CHARSETS = {
    # module name in `encodings`: why it is not honoured as a charset label
    "base64_codec": "bytes-to-bytes transform",
    "bz2_codec": "bytes-to-bytes transform",
    "hex_codec": "bytes-to-bytes transform",
    "quopri_codec": "bytes-to-bytes transform",
    "uu_codec": "bytes-to-bytes transform",
    "zlib_codec": "bytes-to-bytes transform",
    "rot_13": "str-to-str transform",
    "unicode_escape": "Python escape syntax: spells ESC or a lone surrogate in ASCII",
    "raw_unicode_escape": "Python escape syntax: spells ESC or a lone surrogate in ASCII",
    "punycode": "IDN label transform, any code point from ASCII",
    "idna": "domain-name transform",
    "undefined": "always fails",
    "charmap": "needs a mapping passed in",
    "mbcs": "Windows' current ANSI code page: differs by machine",
    "oem": "Windows' current OEM code page: differs by machine",
}


def test_every_stdlib_codec_is_either_a_charset_or_refused_for_a_reason() -> None:
    """A new codec in a new Python fails this test until someone decides about it."""
    modules = {m.name for m in pkgutil.iter_modules(encodings.__path__)} - {"aliases"}
    assert modules == TEXT_CHARSETS | set(NOT_CHARSETS)
    assert not TEXT_CHARSETS & set(NOT_CHARSETS)


@pytest.mark.parametrize("name", sorted(TEXT_CHARSETS))
def test_every_allowed_charset_is_a_text_codec_here(name: str) -> None:
    info = codecs.lookup(name)
    assert info._is_text_encoding  # type: ignore[attr-defined]
    assert isinstance(b"".decode(name), str)
    assert charset_codec(name) in TEXT_CHARSETS


LABELS = [
    pytest.param("UTF-8", "utf_8", id="utf-8"),
    pytest.param(' "utf8" ', "utf_8", id="quoted, spaced"),
    pytest.param("US-ASCII", "ascii", id="us-ascii"),
    pytest.param("iso-8859-1", "cp1252", id="latin-1 read as windows-1252"),
    pytest.param("ISO_8859-1:1987", "cp1252", id="latin-1, another spelling"),
    pytest.param("windows-1252", "cp1252", id="windows-1252"),
    pytest.param("iso-8859-15", "iso8859_15", id="latin-9"),
    pytest.param("Shift_JIS", "shift_jis", id="shift-jis"),
    pytest.param("x-sjis", "shift_jis", id="x-sjis"),
    pytest.param("gb2312", "gb18030", id="gb2312 read as gb18030"),
    pytest.param("ks_c_5601-1987", "cp949", id="Outlook's Korean"),
    pytest.param("unicode-1-1-utf-7", "utf_7", id="old UTF-7 label"),
    pytest.param("utf-7", "utf_7", id="utf-7 is a real charset"),
    pytest.param("cp65001", "utf_8", id="cp65001"),
    pytest.param("utf_32_be", "utf_32_be", id="utf-32be"),
    pytest.param("x-unknown", None, id="unknown"),
    pytest.param("x-user-defined", None, id="WHATWG's x-user-defined: unknown here"),
    pytest.param("", None, id="empty"),
    pytest.param("utf-8*lang", None, id="RFC 2231 language is not part of a label"),
]


@pytest.mark.parametrize(("label", "codec"), LABELS)
def test_charset_codec(label: str, codec: str | None) -> None:
    assert charset_codec(label) == codec


# Every spelling of a codec that is not a charset, as mail could carry it.
NOT_CHARSET_LABELS = sorted(
    {
        *NOT_CHARSETS,
        *(alias for alias, name in encodings.aliases.aliases.items() if name in NOT_CHARSETS),
        "unicode-escape", "raw-unicode-escape", "rot13", "ROT-13", "hex", "base64", "BASE64",
        "zlib", "zip", "bz2", "uu", "quopri", "quoted-printable", "punycode", "IDNA",
        "undefined", "mbcs", "ansi", "dbcs", "oem", "charmap",
    }
)  # fmt: skip


@pytest.mark.parametrize("label", NOT_CHARSET_LABELS)
def test_a_codec_that_is_not_a_charset_is_no_charset(label: str) -> None:
    assert charset_codec(label) is None


PAYLOADS = [
    b"caf\xc3\xa9",  # UTF-8
    b"caf\xe9",  # Latin-1
    b"\\x1b[31mred\\u202e\\ud800",  # what unicode_escape would turn into ESC, RLO, a surrogate
    b"+2D0-x",  # what UTF-7 would turn into a lone surrogate
    b"x\x81y\x93",  # undefined and defined windows-1252 bytes
    b"aGVsbG8=",  # base64 of "hello": what base64_codec would decode
    b"uryyb",  # rot13 of "hello"
    b"xn--bcher-kva",  # punycode
    b"x\x9c\xcbH\xcd\xc9\xc9\x07\x00\x06,\x02\x15",  # zlib of "hello"
]


def q_word(label: str, payload: bytes) -> bytes:
    return b"=?" + label.encode() + b"?q?" + b"".join(b"=%02X" % byte for byte in payload) + b"?="


def b_word(label: str, payload: bytes) -> bytes:
    return b"=?" + label.encode() + b"?b?" + base64.b64encode(payload) + b"?="


def subject(value: bytes) -> str:
    return parse_headers(b"Subject: " + value + b"\r\n\r\n").subject


@pytest.mark.parametrize("label", NOT_CHARSET_LABELS)
@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_a_non_charset_label_falls_back_exactly_like_an_unknown_one(
    label: str, payload: bytes
) -> None:
    """(d): the same decoded text as label `x-unknown`, in Q and B words, raw bytes and vCard."""
    for word in (q_word, b_word):
        assert subject(word(label, payload)) == subject(word("x-unknown", payload))
    assert decode_bytes(payload, label) == decode_bytes(payload, "x-unknown")
    raw = b"Content-Type: text/plain; charset=" + label.encode() + b"\r\nSubject: " + payload
    unknown = b"Content-Type: text/plain; charset=x-unknown\r\nSubject: " + payload
    assert parse_headers(raw).subject == parse_headers(unknown).subject
    escapes = "".join(f"={byte:02X}" for byte in payload)
    card = "BEGIN:VCARD\r\nFN;CHARSET={};QUOTED-PRINTABLE:{}\r\nEMAIL:a@b.example\r\nEND:VCARD\r\n"
    assert parse_vcards(card.format(label, escapes)) == parse_vcards(
        card.format("x-unknown", escapes)
    )


def test_a_codec_registered_by_another_package_is_not_reachable() -> None:
    calls: list[str] = []

    def evil(data: bytes, errors: str = "strict") -> tuple[str, int]:
        calls.append("decode")
        return "\x1b]0;pwned\x07\ud800", len(data)

    def search(name: str) -> codecs.CodecInfo | None:
        if name in ("x_kithkin_evil", "x-kithkin-evil"):
            return codecs.CodecInfo(name="utf-8", encode=codecs.utf_8_encode, decode=evil)
        return None

    codecs.register(search)
    try:
        assert codecs.lookup("x-kithkin-evil").decode is evil  # Python itself would use it
        assert charset_codec("x-kithkin-evil") is None
        payload = b"caf\xc3\xa9"
        assert subject(q_word("x-kithkin-evil", payload)) == "café"
        assert decode_bytes(payload, "x-kithkin-evil") == "café"
        assert not calls
    finally:
        codecs.unregister(search)


DECODED = [
    pytest.param(b"plain", None, False, "plain", id="ASCII"),
    pytest.param("Grüße".encode(), None, False, "Grüße", id="UTF-8"),
    pytest.param(b"caf\xe9 \x93q\x94 \x80", None, False, "café “q” €", id="windows-1252"),
    pytest.param(b"a\x81b\x93", None, False, "a\x81b“", id="undefined 1252 byte alone"),
    pytest.param("Grüße Jü".encode()[:-1], None, False, "Grüße J", id="UTF-8 cut at the end"),
    pytest.param(b"caf\xc3", None, False, "cafÃ", id="cut, but nothing proves UTF-8"),
    pytest.param("Привет".encode("koi8-r"), "koi8-r", False, "Привет", id="declared charset"),
    pytest.param("Grüße".encode(), "iso-8859-1", False, "GrÃ¼ÃŸe", id="declaration wins"),
    pytest.param("Grüße".encode(), "iso-8859-1", True, "Grüße", id="a hint loses to UTF-8"),
    pytest.param(b"caf\xe9", "iso-8859-1", True, "café", id="hint used"),
    pytest.param("café".encode(), "us-ascii", False, "café", id="mislabelled: UTF-8"),
    pytest.param("x".encode("utf-16"), "utf-16", False, "x", id="UTF-16 with its BOM"),
    pytest.param(b"+2D3eAA-", "utf-7", False, "\U0001f600", id="UTF-7 pair"),
    pytest.param(b"+2D0-", "utf-7", False, "\ud83d", id="UTF-7 lone surrogate: repaired later"),
]


@pytest.mark.parametrize(("data", "charset", "prefer_utf8", "expected"), DECODED)
def test_decode_bytes(data: bytes, charset: str | None, prefer_utf8: bool, expected: str) -> None:
    assert decode_bytes(data, charset, prefer_utf8=prefer_utf8) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=200), st.sampled_from(["", "utf-8", "utf-7", "utf-16", "x"]), st.booleans()
)
def test_decode_bytes_never_raises(data: bytes, charset: str, prefer_utf8: bool) -> None:
    assert isinstance(decode_bytes(data, charset or None, prefer_utf8=prefer_utf8), str)


FILES = [
    pytest.param(b"\xef\xbb\xbfGr\xc3\xbc\xc3\x9fe", "Grüße", id="UTF-8 BOM"),
    pytest.param(b"\xef\xbb\xbfa\xffb", "a\ufffdb", id="UTF-8 BOM, a damaged byte"),
    pytest.param("Grüße".encode("utf-16"), "Grüße", id="UTF-16 BOM"),
    pytest.param(codecs.BOM_UTF16_BE + "ab".encode("utf-16-be"), "ab", id="UTF-16 BE BOM"),
    pytest.param("ab".encode("utf-16")[:-1], "a\ufffd", id="UTF-16 BOM, truncated"),
    pytest.param(b"caf\xe9", "café", id="no BOM: decode_bytes"),
    pytest.param(b"", "", id="empty"),
]


@pytest.mark.parametrize(("data", "expected"), FILES)
def test_decode_file(data: bytes, expected: str) -> None:
    assert decode_file(data) == expected


# --- (c) the header parser, for any bytes and any charset label ------------------------------


def strings_in(value: Any) -> Iterator[str]:
    """Every string inside `value` (dataclasses, tuples, lists, dicts)."""
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from strings_in(getattr(value, field.name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(key)
            yield from strings_in(item)


def assert_all_clean(facts: MessageFacts) -> None:
    found = list(strings_in(facts))
    assert len(found) >= 2  # subject and raw_date at least
    for text in found:
        text.encode("utf-8")  # raises on a lone surrogate
        assert is_clean(text) and not unsafe_characters(text), repr(text)
    assert is_clean(facts.message_key)


TRICKY_LABELS = [
    "unicode_escape", "raw-unicode-escape", "rot13", "hex", "base64", "zlib", "uu", "punycode",
    "idna", "utf-7", "utf-16", "utf_32_be", "undefined", "mbcs", "cp65001", "x-user-defined", "",
    "utf-8*lang", "UTF-7", "utf-8", "iso-2022-jp", "x-unknown",
]  # fmt: skip
LABEL = st.one_of(
    st.sampled_from(TRICKY_LABELS),
    st.text(max_size=20),
    st.text(alphabet=st.characters(blacklist_characters="?*\r\n\t "), max_size=20),
)
PAYLOAD = st.one_of(
    st.binary(max_size=60),
    st.sampled_from(PAYLOADS),
    st.text(max_size=20).map(lambda text: text.encode("utf-7")),
    st.text(alphabet=st.sampled_from(UNSAFE + "ab"), max_size=20).map(
        lambda text: text.encode("unicode_escape")
    ),
)


def encoded_word(label: str, encoding: str, payload: bytes) -> bytes:
    if encoding == "Q":
        text = b"".join(b"=%02X" % byte for byte in payload)
    else:
        text = base64.b64encode(payload)
    head = b"=?" + label.encode("utf-8", "surrogatepass") + b"?" + encoding.encode() + b"?"
    return head + text + b"?="


@settings(max_examples=400, deadline=None)
@given(
    field=st.sampled_from([b"From", b"Subject", b"To"]),
    label=LABEL,
    encoding=st.sampled_from(["Q", "B", "q", "b"]),
    payload=PAYLOAD,
    raw=st.binary(max_size=80),
    before=st.sampled_from([b"", b"Ann ", b'"x" ', b"Re: "]),
    after=st.sampled_from([b"", b" <ann@example.org>", b" tail", b"\r\n =?utf-8?q?x?="]),
)
def test_any_header_value_and_any_label_parse_to_clean_facts(
    field: bytes, label: str, encoding: str, payload: bytes, raw: bytes, before: bytes, after: bytes
) -> None:
    word = encoded_word(label, encoding, payload)
    for value in (before + word + after, raw, raw + b" " + word):
        block = field + b": " + value + b"\r\nMessage-ID: <" + raw + b">\r\nDate: " + raw
        facts = parse_headers(block + b"\r\n\r\n", datetime(2025, 1, 1, tzinfo=UTC))
        assert_all_clean(facts)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_header_block_parses_to_clean_facts(raw: bytes) -> None:
    assert_all_clean(parse_headers(raw))


UTF16_PAIR = base64.b64encode("x\U0001f600".encode("utf-16"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(b"=?utf-7?q?+2D0-x?=", "\ufffdx", id="UTF-7 lone surrogate"),
        pytest.param(b"=?utf-7?q?+2D3eAA-?=", "\U0001f600", id="UTF-7 pair"),
        pytest.param(b"=?utf-16?b?" + UTF16_PAIR + b"?=", "x\U0001f600", id="UTF-16 pair"),
        pytest.param(b"=?unicode_escape?q?=5Cx1b[31m?=", "\\x1b[31m", id="unicode_escape"),
        pytest.param(b"=?utf-8?q?=E2=80=AEevil=E2=80=AC?=", "evil", id="encoded RLO"),
        pytest.param("a\u2066b\u2069".encode(), "ab", id="raw UTF-8 isolate"),
    ],
)
def test_subject_from_tricky_charsets(value: bytes, expected: str) -> None:
    assert subject(value) == expected


def test_ids_names_and_list_id_are_clean() -> None:
    facts = parse_headers(
        "From: \u202eAnn\x1b[31m <ann\u200e@example.org>\r\n"
        "Message-ID: <a\u202eb\x1b[0m@x.org>\r\n"
        "References: <r\u2028s@x.org>\r\n"
        "List-Id: Friends \u2066x\u2069\r\n"
        "X-Kithkin-Summary: \x9b2Jweek\r\n"
        "Date: Tue, 13 Sep 2022 15:01:02 +0000 \x1b]0;t\x07\r\n\r\n".encode()
    )
    assert [(m.name, m.address) for m in facts.from_] == [("Ann", "ann@example.org")]
    assert facts.message_id == "ab@x.org"
    assert facts.references == ("rs@x.org",)
    assert facts.list_id == "Friends x"
    assert facts.kithkin_summary == "week"
    assert facts.raw_date == "Tue, 13 Sep 2022 15:01:02 +0000"
    assert_all_clean(facts)


# --- contact files and the command line's input --------------------------------------------


def test_vcard_names_tags_and_addresses_are_clean() -> None:
    card = (
        "BEGIN:VCARD\r\nFN:Ada \\n\x1b[31mLove\u202elace\r\n"
        "CATEGORIES:fri\x1b]0;x\x07ends,\u2066,work\r\nEMAIL:ada\u200e@example.org\r\n"
        "END:VCARD\r\n"
    )
    records, problems = parse_vcards(card)
    assert problems == []
    assert [(r.name, r.emails, r.tags) for r in records] == [
        ("Ada Lovelace", ("ada@example.org",), ("friends", "work"))
    ]


def test_csv_cells_are_clean() -> None:
    from kithkin.parsers.contacts import parse_csv

    records, _ = parse_csv("Name,Email,Labels\n\x1b[1mAda\u202e Love,ada@example.org,a\x00b\n")
    assert [(r.name, r.emails, r.tags) for r in records] == [
        ("Ada Love", ("ada@example.org",), ("a b",))
    ]


# --- (e) stored text printed again -----------------------------------------------------------

DIRTY_NAME = "Ada \x1b[31mLove\x1b]0;pwned\x07lace\u202e \u2066x\u2069 \x9b2J\x85end"
DIRTY_SUBJECT = "Re: \x1b[2J\x1b[Hhi \u202egnp.exe\u202c\r\nBcc: x\u2028y"
DIRTY_NOTE = "call \x1b]8;;http://x.example\x07her\x1b]8;;\x07\u2029later\x00"
DIRTY_TAG = "fri\x1b[1mends\u202e"
AS_OF = "2026-11-23"


@pytest.fixture
def dirty_cli(tmp_path: Path, run_cli) -> Callable[..., CliResult]:
    """A store as an older version could have written it: unclean names, subjects, notes."""
    server = SimpleNamespace(host="127.0.0.1", port=9, username="me", password="x")
    config = write_config(tmp_path / "k", server)
    store = Store.open(tmp_path / "k" / "kithkin.db")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    try:
        with store.atomic():
            ada = store.contacts.add(
                DIRTY_NAME, ["ada@example.org"], tags=[DIRTY_TAG], birthday="--11-30", now=now
            )
        with store.atomic():
            store.contacts.add("Bob \x1b[5m\u202eBlink", ["bob@example.org"], now=now)
        rows = [
            Interaction(ada, "in", datetime(2026, 11, 10, 9, tzinfo=UTC), "<k1>", "m\u202e1@x",
                           DIRTY_SUBJECT),
            Interaction(ada, None, datetime(2026, 11, 5, 12, tzinfo=UTC), None, None, None, 1,
                           "call\x1b[0m", DIRTY_NOTE),
        ]  # fmt: skip
        with store.atomic():
            store.interactions.add(rows)
        with store.atomic():
            store.notes.add(ada, DIRTY_NOTE, date(2026, 11, 2), now)
    finally:
        store.close()

    def run(*args: str) -> CliResult:
        result = run_cli("--config", str(config), *args)
        assert result.exit_code == 0, result.output
        return result

    return run


def assert_printed_clean(result: CliResult) -> None:
    for stream in (result.stdout, result.stderr):
        assert is_clean(stream) and not unsafe_characters(stream, allowed="\n"), repr(stream)


COMMANDS = [
    pytest.param(("contacts", "list"), id="contacts list"),
    pytest.param(("interactions",), id="interactions"),
    pytest.param(("interactions", "ada@example.org"), id="interactions NAME"),
    pytest.param(("show", "ada@example.org", "--as-of", AS_OF), id="show"),
    pytest.param(("report", "--as-of", AS_OF), id="report"),
    pytest.param(("contacts", "edit", "ada@example.org", "--every", "30d"), id="contacts edit"),
    pytest.param(("contacts", "mute", "bob@example.org"), id="contacts mute"),
    pytest.param(("note", "ada@example.org", "x"), id="note"),
    pytest.param(("log", "ada@example.org", "--date", "2026-11-20"), id="log"),
]


@pytest.mark.parametrize("args", COMMANDS)
def test_stored_text_is_printed_clean(dirty_cli, args: tuple[str, ...]) -> None:
    result = dirty_cli(*args)
    assert_printed_clean(result)
    assert "Ada Lovelace" in result.stdout or "Bob Blink" in result.stdout


def test_the_text_survives_cleaning(dirty_cli) -> None:
    shown = dirty_cli("show", "ada@example.org", "--as-of", AS_OF).stdout
    assert "Ada Lovelace x end" in shown
    assert "subject:   Re: hi gnp.exe Bcc: x y" in shown
    assert "note 2026-11-02: call her later" in shown
    assert "tags:      friends" in shown
    report = dirty_cli("report", "--as-of", AS_OF).stdout
    assert 'Ada Lovelace x end: 13 days: "Re: hi gnp.exe Bcc: x y"' in report
    assert "Nothing logged yet with: Bob Blink" in report


JSON_COMMANDS = [
    pytest.param(("contacts", "list", "--json"), id="contacts list"),
    pytest.param(("interactions", "--json"), id="interactions"),
    pytest.param(("show", "ada@example.org", "--json", "--as-of", AS_OF), id="show"),
    pytest.param(("report", "--json", "--as-of", AS_OF), id="report"),
]


@pytest.mark.parametrize("args", JSON_COMMANDS)
def test_stored_text_is_printed_clean_as_json(dirty_cli, args: tuple[str, ...]) -> None:
    result = dirty_cli(*args)
    assert_printed_clean(result)
    strings = list(strings_in(json.loads(result.stdout)))
    assert any("Ada Lovelace" in text for text in strings)
    for text in strings:
        assert is_clean(text) and not unsafe_characters(text), repr(text)


def test_command_line_and_contact_file_input_is_stored_clean(tmp_path: Path, run_cli) -> None:
    server = SimpleNamespace(host="127.0.0.1", port=9, username="me", password="x")
    config = str(write_config(tmp_path / "k", server))
    card = tmp_path / "people\x1b]0;x\x07.vcf"
    card.write_bytes(
        b"BEGIN:VCARD\r\nFN;CHARSET=unicode_escape;QUOTED-PRINTABLE:Bob=5Cx1b[31m\r\n"
        b"EMAIL:bob@example.org\r\nCATEGORIES:a\x1b[1mb\r\nEND:VCARD\r\n"
    )
    for args in (
        ("contacts", "add", "Ada \x1b[31mLo\u202eve\udcff", "--email", "ada\u200e@example.org",
         "--tag", "x\x00y"),
        ("note", "ada", "a\x1b[2Jb", "\u2028c"),
        ("log", "ada", "--note", "c\u2066d\u2069\r\ne"),
        ("contacts", "import", str(card)),
    ):  # fmt: skip
        result = run_cli("--config", config, *args)
        assert result.exit_code == 0, result.output
        assert_printed_clean(result)
    conn = sqlite3.connect(tmp_path / "k" / "kithkin.db")
    try:
        stored = [
            value
            for table in ("contacts", "addresses", "contact_tags", "interactions", "notes")
            for row in conn.execute(f"SELECT * FROM {table}")
            for value in row
            if isinstance(value, str)
        ]
    finally:
        conn.close()
    assert "Ada Love\ufffd" in stored and "ada@example.org" in stored and "x y" in stored
    assert "ab c" in stored and "cd e" in stored and "ab" in stored
    assert "Bobx1b[31m" in stored  # unicode_escape is no charset; vCard unescapes "\\x"
    for text in stored:
        assert is_clean(text) and not unsafe_characters(text), repr(text)
