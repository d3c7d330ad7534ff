"""`text.printable`, the sanitiser for output already laid out (the CLI's log lines and
tracebacks), as a table: what it keeps (spaces, indentation, line breaks) and what it makes
safe exactly as `clean_text` does (controls, escapes, bidi marks, lone surrogates)."""

from __future__ import annotations

import pytest

from kithkin.parsers.text import clean_text, is_clean, printable

SURROGATE_PAIR = "\ud83d\ude00"  # U+1F600 as UTF-16 halves, as UTF-7 can decode it

PRINTABLE = [
    ("plain  text", "plain  text"),  # printable: returned as it is
    ("  indented", "  indented"),
    ("trailing  ", "trailing  "),
    ("a  b\n  c", "a  b\n  c"),  # a line break: spaces and indentation still kept
    ("a\r\nb", "a\nb"),
    ("a\rb", "a\nb"),
    ("a\r\r\nb", "a\n\nb"),
    ("a\tb", "a b"),
    ("a\x00b", "a b"),
    ("a\x7fb", "a b"),
    ("a\x85b", "a b"),  # C1 NEL
    ("a\u2028b", "a b"),  # LINE SEPARATOR
    ("\x1b[31mred\x1b[0m", "red"),  # escape sequences removed whole
    ("\x1b]0;title\x07x", "x"),
    ("x\x9b31my", "xy"),  # the 8-bit CSI
    ("a\u202eb", "ab"),  # RIGHT-TO-LEFT OVERRIDE
    ("a\ufeffb", "ab"),
    ("a\ud800b", "a\ufffdb"),  # a lone surrogate
    (SURROGATE_PAIR, "\U0001f600"),  # a pair is joined
    ("col1\tcol2\n\x1b[1mbold\x1b[0m\r\n", "col1 col2\nbold\n"),
]


@pytest.mark.parametrize(("raw", "expected"), PRINTABLE)
def test_printable(raw: str, expected: str) -> None:
    assert printable(raw) == expected
    assert is_clean(printable(raw))


@pytest.mark.parametrize("raw", [raw for raw, _ in PRINTABLE])
def test_printable_keeps_the_layout_that_clean_text_collapses(raw: str) -> None:
    """Line by line, `printable` and `clean_text` differ only in runs of spaces."""
    kept = printable(raw).split("\n")
    collapsed = clean_text(raw).split("\n")
    assert [" ".join(line.split()) for line in kept] == collapsed
