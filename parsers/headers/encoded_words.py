"""RFC 2047 encoded words (`=?utf-8?q?Caf=C3=A9?=`) -> text, and display text made of them.

**Our own RFC 2047 decoder** (`binascii.a2b_qp` / `a2b_base64`): adjacent encoded words are
joined, bad base64 padding is repaired, unknown or mislabelled charsets fall back to UTF-8
and then windows-1252, and it never raises. Only real text charsets are honoured
(`text.charset_codec`): a label such as `unicode_escape` or `base64` counts as unknown.
"""

from __future__ import annotations

import binascii
import re

from kithkin.parsers.text import clean_line, decode_bytes

_ENCODED_WORD = re.compile(r"=\?([^?\s*]*)(?:\*[^?\s]*)?\?([QqBb])\?([^?\s]*)\?=")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words; never raises.

    Whitespace between two encoded words is dropped, and the bytes of adjacent words in one
    charset are decoded together (mailers split multi-byte characters across words).
    Something that only looks like an encoded word (`=?bogus`) is kept as written.
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    run = bytearray()  # bytes of adjacent encoded words in `run_charset`
    run_charset = ""
    position = 0
    for match in _ENCODED_WORD.finditer(text):
        gap = text[position : match.start()]
        position = match.end()
        charset = match.group(1).lower()
        joins = run and (not gap or gap.isspace())
        if run and not (joins and charset == run_charset):
            out.append(decode_bytes(bytes(run), run_charset))
            run.clear()
        if not joins:
            out.append(gap)
        run += _decode_payload(match.group(2), match.group(3))
        run_charset = charset
    if run:
        out.append(decode_bytes(bytes(run), run_charset))
    out.append(text[position:])
    return "".join(out)


def _decode_payload(encoding: str, payload: str) -> bytes:
    """The bytes of a Q or B payload; bad base64 padding and stray characters are repaired."""
    data = payload.encode("utf-8", "replace")
    if encoding in "Qq":
        return binascii.a2b_qp(data, header=True)
    data = _NOT_BASE64.sub(b"", data)
    extra = len(data) % 4
    if extra == 1:
        data = data[:-1]  # six bits cannot make a byte
    elif extra:
        data += b"=" * (4 - extra)
    try:
        return binascii.a2b_base64(data)
    except (binascii.Error, ValueError):
        return b""


def display_text(text: str) -> str:
    """A display name or subject as written -> decoded, cleaned text."""
    return clean_line(decode_words(text)) if "=?" in text else clean_line(text)
