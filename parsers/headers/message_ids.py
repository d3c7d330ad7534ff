"""Message-ID, In-Reply-To, References and List-Id values -> bare ids (no `<>`, no spaces).

A References can list thousands of ids; only its first and the last `_MAX_REFERENCES` are
kept (threading needs the root and the recent ones), and at most `_MAX_IN_REPLY_TO` ids of
an In-Reply-To.
"""

from __future__ import annotations

import re

from kithkin.parsers.text import clean_line

_MAX_REFERENCES = 50  # References keeps its first id plus this many from the end
_MAX_IN_REPLY_TO = 50

_BRACKETED = re.compile(r"<([^<>]*)>")
_OPEN_BRACKET = re.compile(r"<([^<>]*)>?")


def message_id(text: str) -> str | None:
    """The first `<id>` (its closing bracket may be missing), else the whole value."""
    match = _OPEN_BRACKET.search(text)
    value = match.group(1) if match else text
    return _squeeze(value).strip("<>") or None


def in_reply_to(text: str) -> tuple[str, ...]:
    return _id_list(text)[:_MAX_IN_REPLY_TO]


def references(text: str) -> tuple[str, ...]:
    """The first id and the last `_MAX_REFERENCES`, order kept."""
    ids = _id_list(text)
    if len(ids) <= _MAX_REFERENCES + 1:
        return ids
    return ids[:1] + ids[-_MAX_REFERENCES:]


def list_id(text: str) -> str | None:
    """`Friends <friends.lists.example>` -> `friends.lists.example`; else the whole value."""
    match = _BRACKETED.search(text)
    value = _squeeze(match.group(1)) if match else clean_line(text)
    return value or None


def _id_list(text: str) -> tuple[str, ...]:
    """Bracketed ids in order, each once; bare `x@y` words when nothing is bracketed."""
    found = _BRACKETED.findall(text) if "<" in text else [w for w in text.split() if "@" in w]
    seen: dict[str, None] = {}
    for candidate in found:
        identifier = _squeeze(candidate).strip("<>")
        if identifier:
            seen.setdefault(identifier, None)
    return tuple(seen)


def _squeeze(text: str) -> str:
    """Clean, with every space removed (ids are one token)."""
    if text.isprintable() and " " not in text:
        return text
    return clean_line(text).replace(" ", "")
