"""One reply to a summary handled: its commands applied and the reply recorded."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from kithkin.daemon.core.dates import local_date
from kithkin.daemon.steering.commands import apply_commands
from kithkin.daemon.steering.policy import UNCHECKED, ReplyPolicy, count_ignored, refusal
from kithkin.daemon.store import Store
from kithkin.parsers.headers import MessageFacts
from kithkin.parsers.replies import command_lines, reply_text
from kithkin.parsers.text import clean_line, clean_text


def handle_reply(
    store: Store,
    facts: MessageFacts,
    raw_body: bytes | None,
    token: str | None,
    *,
    now: datetime,
    zone: tzinfo,
    policy: ReplyPolicy = UNCHECKED,
) -> dict[str, Any]:
    """Apply one reply's commands (caller holds the transaction) and record it; returns the
    record. `raw_body` is the whole fetched message, header section included.

    A message not taken for a reply (see `refusal`) leaves nothing but a count: no record,
    not even of having been seen, so a copy that passes (the same reply arriving in INBOX
    with the receiving server's Authentication-Results) still counts; returns {"ignored":
    reason}. Dates in commands ("called Ada", "snooze Ada 3w") count from the day the reply
    was written, in the owner's time zone."""
    reason = refusal(store, facts, raw_body, token, policy)
    if reason is not None:
        count_ignored(store, reason)
        return {"ignored": reason}
    text = clean_text(reply_text(raw_body or b""))
    lines = [line for line in map(clean_line, command_lines(text)) if line]
    day = local_date(facts.date or now, zone)
    results = apply_commands(store, lines, day=day, now=now).as_json()
    store.replies.record(facts.message_key, token, facts.date or now, results, now)
    return results
