"""Pure: the facts of one message plus the address book -> the interactions it makes.

A message is an interaction with contact C when C sent it to one of the owner's addresses
(`in`), or the owner sent it to C in To, Cc or Bcc (`out`). Mailing lists, automatic mail and
Kithkin's own summaries are never interactions. A message that involves no contact yields
nothing, and so leaves no trace.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from kithkin.daemon.core.audience import Spelling, audience
from kithkin.daemon.core.records import Interaction
from kithkin.daemon.core.stored import StoredRow, stored_date
from kithkin.parsers.headers import Address, MessageFacts
from kithkin.parsers.headers.dates import as_utc, choose_date
from kithkin.parsers.headers.encoded_words import display_text
from kithkin.parsers.headers.facts import first_token
from kithkin.parsers.headers.message_ids import list_id, message_id
from kithkin.parsers.headers.plain import PlainBlock, read_plain
from kithkin.parsers.text import clean_line

BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})


def is_excluded(facts: MessageFacts) -> bool:
    """Lists, auto-replies, bulk mail and Kithkin's own summaries are not conversations."""
    return bool(
        facts.list_id
        or (facts.auto_submitted and facts.auto_submitted != "no")
        or (facts.precedence in BULK_PRECEDENCE)
        or facts.kithkin_summary
    )


def involved(
    senders: set[str], recipients: set[str], book: Mapping[str, int], me: frozenset[str]
) -> tuple[str, set[int]]:
    """(direction, contact ids) a message's addresses make; no ids when it is no interaction."""
    direction, named = addressed(senders, recipients, me)
    return direction, {book[address] for address in named if address in book}


def addressed(
    senders: AbstractSet[Spelling], recipients: AbstractSet[Spelling], me: AbstractSet[Spelling]
) -> tuple[str, AbstractSet[Spelling]]:
    """(direction, the addresses whose owners it is an interaction with, if contacts): what
    the owner sent goes "out" to its recipients, what reached the owner comes "in" from its
    senders; ("", nothing) otherwise. On addresses as text, or as their UTF-8 bytes."""
    if not me.isdisjoint(senders):
        return "out", recipients - me
    if not me.isdisjoint(recipients):
        return "in", senders
    return "", frozenset()


def addresses(named: tuple[Address, ...]) -> set[str]:
    return {address.address for address in named}


def match(facts: MessageFacts, book: Mapping[str, int], me: frozenset[str]) -> list[Interaction]:
    if facts.date is None or is_excluded(facts):
        return []
    senders = addresses(facts.from_)
    recipients = addresses(facts.recipients)
    direction, contact_ids = involved(senders, recipients, book, me)
    size = audience(senders, recipients)
    return [
        Interaction(
            contact_id=contact_id,
            direction=direction,
            date=facts.date,
            message_key=facts.message_key,
            message_id=facts.message_id,
            subject=facts.subject,
            audience=size,
        )
        for contact_id in sorted(contact_ids)
    ]


def match_plain(
    block: PlainBlock, internaldate: datetime | None, book: Mapping[str, int], me: frozenset[str]
) -> list[StoredRow] | None:
    """`match(block.facts(internaldate), book, me)`, in the rows' stored form (core/stored.py),
    reading only what that needs of the block (no display names, no threading ids) and
    comparing its addresses as the bytes they are; None when the message has no date at all
    (`facts.date is None`). tests/test_plan_plain.py holds the two to the same rows."""
    text, values = block.text, block.values
    raw_date = clean_line(text("date"))
    date, _ = choose_date(raw_date, as_utc(internaldate))
    if date is None:
        return None
    if (
        ("list-id" in values and list_id(text("list-id")))
        or ("auto-submitted" in values and first_token(text("auto-submitted")) not in (None, "no"))
        or ("precedence" in values and first_token(text("precedence")) in BULK_PRECEDENCE)
        or clean_line(text("x-kithkin-summary"))
    ):
        return []  # is_excluded
    senders, recipients = frozenset(block.from_), frozenset(block.recipients())
    direction, named = addressed(senders, recipients, _encoded(me))  # bytes: one spelling each
    contact_ids = {book[address] for address in map(_text, named) if address in book}
    if not contact_ids:
        return []
    identifier = message_id(text("message-id"))
    subject = display_text(text("subject"))
    if identifier:
        key = f"<{identifier}>"
    else:  # MessageFacts.message_key
        who = ",".join(address.decode("utf-8") for address in block.from_)
        digest = hashlib.sha256(f"{who}|{raw_date}|{subject}".encode("utf-8", "backslashreplace"))
        key = f"sha256:{digest.hexdigest()}"
    size = audience(senders, recipients)
    stored, day = stored_date(date)
    return [
        (contact_id, "email", direction, stored, day, key, identifier, subject, size, None,
         contact_id)
        for contact_id in sorted(contact_ids)
    ]  # fmt: skip


@lru_cache(maxsize=16)
def _encoded(me: frozenset[str]) -> frozenset[bytes]:
    return frozenset(address.encode("utf-8") for address in me)


def _text(address: bytes) -> str:
    return address.decode("utf-8")


@dataclass(frozen=True)
class Sieve:
    """The address book as bytes, to pass over a stranger's message before decoding it.

    On a plain block (`read_plain`: its addresses exactly as `read_block` reads them),
    `concerns` is False when the block names neither a contact nor the owner both as
    sender and recipient (as a reply to a summary is written): it is passed over.
    `may_concern(raw)` says the same of raw bytes, True for any block that is not plain.
    """

    book: frozenset[bytes]
    me: frozenset[bytes]

    @classmethod
    def of(cls, book: Iterable[str], me: Iterable[str]) -> Sieve:
        return cls(frozenset(a.encode("utf-8") for a in book),
                   frozenset(a.encode("utf-8") for a in me))  # fmt: skip

    def may_concern(self, raw: bytes, *, replies: bool) -> bool:
        block = read_plain(raw)
        return block is None or self.concerns(block, replies=replies)

    def concerns(self, block: PlainBlock, *, replies: bool) -> bool:
        senders, recipients = block.from_, block.recipients()
        if not self.book.isdisjoint(senders) or not self.book.isdisjoint(recipients):
            return True
        return replies and not self.me.isdisjoint(senders) and not self.me.isdisjoint(recipients)

    def involves_contact(self, block: PlainBlock) -> bool:
        """Whether `involved` finds a contact in the block's addresses."""
        me, book = self.me, self.book
        if not me.isdisjoint(block.from_):
            return any(address in book for address in block.recipients() if address not in me)
        if not me.isdisjoint(block.recipients()):
            return not book.isdisjoint(block.from_)
        return False

    def owner_to_owner(self, block: PlainBlock) -> bool:
        """`steering.tokens.owner_to_owner` of the block: from and to the owner only."""
        recipients = block.recipients()
        return bool(block.from_ and recipients) and self.me.issuperset(block.from_ + recipients)
