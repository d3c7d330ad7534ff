"""One card read from a source: its key, and the fields Kithkin applies from it.

The key is what keeps a card the same card across edits and file renames: its UID; a card
without one is keyed by its file name in a vdir (the n-th UID-less card of a file by the name
and n), and by its first address in a single file. A UID longer than MAX_UID characters is
keyed by its SHA-256.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from kithkin.parsers.contacts import ContactRecord, Problem

MAX_UID = 255


@dataclass(frozen=True)
class Card:
    key: str
    file: str  # the name of the file it was read from
    record: ContactRecord

    def fields(self) -> dict[str, Any]:
        return card_fields(self.record)


def card_fields(record: ContactRecord) -> dict[str, Any]:
    """What a card says, as far as Kithkin applies it (stored as JSON: lists, not tuples)."""
    return {
        "name": record.name,
        "emails": list(record.emails),
        "nickname": record.nickname,
        "birthday": record.birthday,
        "tags": list(record.tags),
        "note": record.note,
    }


def uid_key(uid: str) -> str:
    if len(uid) > MAX_UID:
        return "uid-sha256:" + hashlib.sha256(uid.encode("utf-8", "replace")).hexdigest()
    return "uid:" + uid


def keyed_cards(records: list[ContactRecord], file: str, *, vdir: bool) -> list[Card]:
    """The records of one file, each with its key."""
    cards = []
    uidless = 0
    for record in records:
        if record.uid:
            key = uid_key(record.uid)
        elif vdir:
            uidless += 1
            key = f"file:{file}" if uidless == 1 else f"file:{file}#{uidless}"
        else:
            key = "email:" + record.emails[0]
        cards.append(Card(key, file, record))
    return cards


def skipped_keys(problems: list[Problem]) -> set[str]:
    """The keys of cards that were left out for a problem but had a UID: what their
    contacts had is kept rather than taken as removed."""
    return {uid_key(problem.uid) for problem in problems if problem.skipped and problem.uid}
