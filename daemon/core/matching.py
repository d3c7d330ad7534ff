"""Pure: the facts of one message plus the address book -> the interactions it makes.

A message is an interaction with contact C when C sent it to one of the owner's addresses
(`in`), or the owner sent it to C in To, Cc or Bcc (`out`). Mailing lists, automatic mail and
Kithkin's own summaries are never interactions. A message that involves no contact yields
nothing, and so leaves no trace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kithkin.daemon.core.audience import audience
from kithkin.daemon.core.records import Interaction
from kithkin.parsers.headers import Address, MessageFacts
from kithkin.parsers.headers.plain import PlainBlock, read_plain

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
    if senders & me:
        return "out", {book[address] for address in recipients - me if address in book}
    if recipients & me:
        return "in", {book[address] for address in senders if address in book}
    return "", set()


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
