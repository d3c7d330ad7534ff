"""A raw header block -> the wanted fields' values as text, unfolded and bounded.

- **Our own splitter, not `email.parser`.** The block is cut at the first blank line,
  unfolded with two `bytes.replace` calls, decoded once (when it is valid UTF-8), split into
  lines, and only the fields in `HEADER_FIELDS` are kept (the first colon ends the name).
- **8-bit bytes are never dropped.** Each value is UTF-8 when valid, else decoded with the
  `charset=` of Content-Type when that is a known text charset, else windows-1252
  (`text.decode_bytes`).
  mail-parser silently drops such bytes (`café` -> `caf`), stdlib gives `caf` + U+FFFD.
- **Bounded work**: at most `_MAX_LINES` lines, `_MAX_VALUE` bytes of a text field,
  `MAX_ADDRESS_BYTES` per address field (occurrences combined), and only a window at each
  end of a long References.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import AnyStr

from kithkin.parsers.text import charset_codec, decode_bytes

HEADER_FIELDS: tuple[str, ...] = (
    "FROM",
    "TO",
    "CC",
    "BCC",
    "DATE",
    "MESSAGE-ID",
    "IN-REPLY-TO",
    "REFERENCES",
    "SUBJECT",
    "LIST-ID",
    "AUTO-SUBMITTED",
    "PRECEDENCE",
    "CONTENT-TYPE",
    "X-KITHKIN-SUMMARY",
)

MAX_ADDRESS_BYTES = 64 * 1024  # characters kept of an address field, occurrences combined
_MAX_LINES = 10_000  # header lines looked at (a real block has a few dozen at most)
_MAX_VALUE = 16 * 1024  # characters kept of a text field (bytes, before decoding non-UTF-8)
_REFERENCE_WINDOW = 16 * 1024  # kept at each end of a long References

_ADDRESS_FIELDS = frozenset({"to", "cc", "bcc"})


def _field_names() -> dict[str, str]:
    """Header name as written -> our key; the usual spellings skip a `.lower()` call."""
    names = {}
    for field in HEADER_FIELDS:
        key = field.lower()
        for spelling in (field, key, key.title(), key.title().replace("-Id", "-ID")):
            names[spelling] = key
    return names


_NAMES = _field_names()
_NAMES_BYTES = {name.encode("ascii"): key for name, key in _NAMES.items()}
_LIMITS = dict.fromkeys(("from", "to", "cc", "bcc"), MAX_ADDRESS_BYTES)


def split_fields(raw: bytes) -> dict[str, str]:
    """Wanted field (lowercase) -> its value as text (see `decode_bytes`), unfolded, not yet
    stripped.

    The whole block is decoded at once when it is valid UTF-8 (the usual case); otherwise
    each value is decoded on its own, with Content-Type's charset as a hint.
    """
    block = raw.replace(b"\r\n", b"\n")
    end = block.find(b"\n\n")
    if end >= 0:
        block = block[:end]
    if block.startswith(b"\n"):
        return {}
    block = block.replace(b"\n ", b" ").replace(b"\n\t", b"\t")
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        values = _collect(block.split(b"\n", _MAX_LINES), b":", _NAMES_BYTES, b",")
        if len(block) > _MAX_VALUE:
            values = {key: _cap(key, value, b" <> ") for key, value in values.items()}
        hint = charset_hint(values.get("content-type", b""))
        return {key: decode_bytes(value, hint, prefer_utf8=True) for key, value in values.items()}
    fields = _collect(text.split("\n", _MAX_LINES), ":", _NAMES, ",")
    if len(block) > _MAX_VALUE:
        fields = {key: _cap(key, value, " <> ") for key, value in fields.items()}
    return fields


def _collect(
    lines: list[AnyStr], colon: AnyStr, names: dict[AnyStr, str], comma: AnyStr
) -> dict[str, AnyStr]:
    """First occurrence of each wanted field; To/Cc/Bcc occurrences joined."""
    fields: dict[str, AnyStr] = {}
    repeated: dict[str, list[AnyStr]] = {}
    for line in lines[:_MAX_LINES]:
        name, separator, value = line.partition(colon)
        if not separator:
            continue
        key = names.get(name) or names.get(name.strip().lower())
        if key is None:
            continue
        if key not in fields:
            fields[key] = value
        elif key in _ADDRESS_FIELDS:
            repeated.setdefault(key, [fields[key]]).append(value)
    for key, values in repeated.items():
        fields[key] = comma.join(values[: MAX_ADDRESS_BYTES // 8])
    return fields


def _cap(key: str, value: AnyStr, cut: AnyStr) -> AnyStr:
    """Bound a long value; References keeps a window at each end (its first and last ids)."""
    if len(value) <= _MAX_VALUE:
        return value
    if key == "references":
        if len(value) <= 2 * _REFERENCE_WINDOW:
            return value
        return value[:_REFERENCE_WINDOW] + cut + value[-_REFERENCE_WINDOW:]
    return value[: _LIMITS.get(key, _MAX_VALUE)]


_CHARSET_PARAM = re.compile(rb"""charset\s*=\s*["']?\s*([^"';\s]+)""", re.IGNORECASE)


def charset_hint(content_type: bytes) -> str | None:
    """Content-Type's charset, if it can describe raw header bytes at all.

    Header names, colons and addresses are ASCII, so only an ASCII-compatible codec can be
    what 8-bit header bytes were written in; UTF-16, UTF-7 or EBCDIC labels there are mistakes.
    """
    match = _CHARSET_PARAM.search(content_type)
    if not match:
        return None
    codec = charset_codec(match.group(1).decode("ascii", "replace"))
    return codec if codec and _ascii_compatible(codec) else None


@lru_cache(maxsize=256)
def _ascii_compatible(codec: str) -> bool:
    sample = "From: <a@b.c>, x;=?Q?= [+~]"
    try:
        return sample.encode(codec) == sample.encode("ascii")
    except (UnicodeError, LookupError):
        return False
