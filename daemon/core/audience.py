"""The audience rule, once: a message to at most three people is personal and counts fully;
a message to N > 3 people counts 3/N. It decides closeness (the learned cadence, the ranking),
who waits for a reply, and who does not answer.

The store's aggregates apply it in SQL: `SQL_WEIGHT` and `SQL_PERSONAL` are written from the
same constant here, and a test checks they agree with `weight` and `is_personal`."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import TypeVar

PERSONAL = 3  # at most this many recipients: a personal message
Spelling = TypeVar("Spelling", str, bytes)  # an address as text, or as its UTF-8 bytes


def audience(senders: AbstractSet[Spelling], recipients: AbstractSet[Spelling]) -> int:
    """How many people a message went to: its recipients, not counting its senders (the
    addresses as text, or as the UTF-8 bytes the plain path compares)."""
    return max(1, len(recipients - senders))


def weight(size: int) -> float:
    """How much one message to `size` people counts."""
    return min(1.0, PERSONAL / max(1, size))


def is_personal(size: int) -> bool:
    return size <= PERSONAL


SQL_WEIGHT = f"MIN(1.0, {PERSONAL}.0 / audience)"  # weight(audience), in SQL
SQL_PERSONAL = f"audience <= {PERSONAL}"  # is_personal(audience), in SQL
