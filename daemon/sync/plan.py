"""Planning a batch, purely: fetched headers + the address book -> the rows to log, the
owner's possible replies to a summary, and the messages to set aside. No I/O; the engine
fetches before and stores after. Mail of strangers is decoded no further than its addresses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from kithkin.daemon.core.matching import Sieve, addresses, involved, match, match_plain
from kithkin.daemon.core.records import Interaction
from kithkin.daemon.core.stored import StoredRow, stored_row
from kithkin.daemon.mail.records import FetchedHeader
from kithkin.daemon.steering.tokens import looks_like_summary_reply, may_be_summary_reply
from kithkin.daemon.sync.failures import caused_by_the_message
from kithkin.parsers.headers import MessageFacts, read_block
from kithkin.parsers.headers.plain import PLAIN_LIMIT, PlainBlock, read_plain

log = logging.getLogger("kithkin.sync")

MIGHT_BE_CAPPED = 4096  # shorter header sections hold no address list longer than is read
assert PLAIN_LIMIT <= MIGHT_BE_CAPPED  # so a plain block is never capped


@dataclass
class BatchPlan:
    """What one batch of fetched headers means, worked out without I/O."""

    rows: dict[int, list[Interaction]] = field(default_factory=dict)  # uid -> rows
    stored: dict[int, list[StoredRow]] = field(default_factory=dict)  # uid -> rows, packed
    # (the plain path plans its rows packed; `pack` packs the others)
    replies: list[tuple[int, MessageFacts]] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # to set aside: may involve a contact
    failed_strangers: int = 0  # failed, but surely involving no contact: nothing recorded
    unparseable: int = 0
    capped: int = 0  # messages whose address lists were longer than is read

    def add(self, other: BatchPlan) -> None:
        self.rows.update(other.rows)
        self.stored.update(other.stored)
        self.replies += other.replies
        self.failed += other.failed
        self.failed_strangers += other.failed_strangers
        self.unparseable += other.unparseable
        self.capped += other.capped

    def pack(self) -> BatchPlan:
        """The rows in their stored form (`stored`), as the planning child sends them. A
        message whose rows cannot be put so stays in `rows`, to be refused when stored."""
        for uid, per in list(self.rows.items()):
            try:
                self.stored[uid] = [stored_row(row) for row in per]
            except Exception as exc:
                if not caused_by_the_message(exc):
                    raise
                continue
            del self.rows[uid]
        return self

    def stored_rows(self) -> dict[int, list[StoredRow]]:
        """uid -> its rows as the store takes them, in the order of UIDs (whichever path
        planned them, and however the batch was split)."""
        rows = {uid: [stored_row(row) for row in per] for uid, per in self.rows.items()}
        return dict(sorted({**self.stored, **rows}.items()))


def plan_batch(
    batch: Iterable[FetchedHeader],
    book: Mapping[str, int],
    me: frozenset[str],
    *,
    replies: bool,
    sieve: Sieve | None = None,
    fault: Callable[[str, int], None] | None = None,
) -> BatchPlan:
    """Fetched headers + address book -> rows to log, reply candidates, messages to set aside.
    `sieve`: the book's `Sieve`, when the caller plans many batches against one book."""
    plan = BatchPlan()
    sieve = sieve or Sieve.of(book, me)
    for fetched in batch:
        try:
            if fault is not None:
                fault("plan", fetched.uid)
            block = read_plain(fetched.header) if fetched.header is not None else None
            if block is not None:
                if not sieve.concerns(block, replies=replies):
                    continue  # surely a stranger's: not decoded at all
                if not (replies and sieve.owner_to_owner(block)):  # no reply to a summary
                    _plan_plain(plan, fetched, block, sieve, book, me)
                    continue
            _plan_message(plan, fetched, book, me, replies=replies)
        except Exception as exc:
            if not caused_by_the_message(exc):
                raise
            log.debug("UID %s: could not be processed", fetched.uid, exc_info=True)
            if _surely_no_contact(fetched, book, me):
                plan.failed_strangers += 1
            else:
                plan.failed.append(fetched.uid)
    return plan


def _plan_message(
    plan: BatchPlan,
    fetched: FetchedHeader,
    book: Mapping[str, int],
    me: frozenset[str],
    *,
    replies: bool,
) -> None:
    if fetched.header is None:
        plan.unparseable += 1
        return
    block = read_block(fetched.header)
    if fetched.cut or (len(fetched.header) > MIGHT_BE_CAPPED and block.addresses_capped()):
        plan.capped += 1
    maybe_reply = replies and may_be_summary_reply(block, me)
    _, contacts = involved(
        addresses(block.from_), addresses(block.to + block.cc + block.bcc), book, me
    )
    if not contacts and not maybe_reply:
        return  # a stranger's mail: not decoded any further, nothing kept
    facts = block.facts(fetched.internaldate)
    if facts.date is None:
        plan.unparseable += 1
        return
    rows = match(facts, book, me)
    if rows:
        plan.rows[fetched.uid] = rows
    if maybe_reply and looks_like_summary_reply(facts, me):
        plan.replies.append((fetched.uid, facts))


def _plan_plain(
    plan: BatchPlan,
    fetched: FetchedHeader,
    block: PlainBlock,
    sieve: Sieve,
    book: Mapping[str, int],
    me: frozenset[str],
) -> None:
    """`_plan_message` for a plain block that cannot be a reply to a summary, on the
    addresses read off its bytes. (It is at most PLAIN_LIMIT bytes, so never capped.)"""
    if fetched.cut:
        plan.capped += 1
    if not sieve.involves_contact(block):
        return
    rows = match_plain(block, fetched.internaldate, book, me)
    if rows is None:
        plan.unparseable += 1
    elif rows:
        plan.stored[fetched.uid] = rows


def _surely_no_contact(fetched: FetchedHeader, book: Mapping[str, int], me: frozenset[str]) -> bool:
    """For a message that failed: do its addresses show it concerns nobody we keep?"""
    try:
        block = read_block(fetched.header or b"")
        senders = addresses(block.from_)
        recipients = addresses(block.to + block.cc + block.bcc)
        return not involved(senders, recipients, book, me)[1] and not (senders & me)
    except Exception:  # noqa: BLE001 - unknown: treat it as possibly a contact's
        return False
