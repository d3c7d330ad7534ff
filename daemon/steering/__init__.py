"""Steering Kithkin by replying to its summary.

A message is a reply to a summary only if it comes from one of the owner's addresses AND
carries the secret token of a summary sent in the last 30 days: in In-Reply-To/References
(the summary's Message-ID holds the token) or in the Subject (the prefilled links put
`[token]` there). A forged From alone does nothing: the token is 128 random bits that only
ever went to the owner. Only then is the body fetched (BODY.PEEK, read-only) and read.

    tokens.py    the tokens, and the first looks at headers (pure)
    policy.py    which messages are taken for replies (date, Authentication-Results)
    commands.py  the commands applied, recorded by contact id
    journal.py   the recorded replies in words

Each reply is recorded by its message key in the same transaction as its effects, so it is
applied once, whatever folders it shows up in and however often the service restarts.
May import: core, store, config, book, parsers; never the summary or the mail session.
"""

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
