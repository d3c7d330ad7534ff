"""Steering Kithkin by replying to its summary, and what the summary shows besides the report.

A message is a reply to a summary only if it comes from one of the owner's addresses AND
carries the secret token of a summary sent in the last 30 days: in In-Reply-To/References
(the summary's Message-ID holds the token) or in the Subject (the prefilled links put
`[token]` there). A forged From alone does nothing: the token is 128 random bits that only
ever went to the owner. Only then is the body fetched (BODY.PEEK, read-only) and read.

Each reply is recorded by its message key in the same transaction as its effects, so it is
applied once, whatever folders it shows up in and however often the service restarts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from kithkin.daemon import contacts as book
from kithkin.daemon.dates import add_days, local_date, parse_date, parse_days, parse_duration
from kithkin.daemon.errors import KithkinError, UsageError
from kithkin.daemon.store import Contact, NewInteraction, Store
from kithkin.daemon.summary import MESSAGE_ID_DOMAIN, SummaryExtras
from kithkin.parsers.headers import HeaderBlock, MessageFacts
from kithkin.parsers.replies import HELP, VERBS, Command, command_lines, parse_command, reply_text

TOKEN_VALID_DAYS = 30
_SUMMARY_ID = re.compile(r"summary\.([0-9a-f]{32})@" + re.escape(MESSAGE_ID_DOMAIN), re.IGNORECASE)
_SUBJECT_TOKEN = re.compile(r"\[([0-9a-f]{32})\]", re.IGNORECASE)
_LOOKS_LIKE_REPLY = re.compile(r"^\s*(re|aw|sv|antw|vs)\s*:.*\bkithkin\b", re.IGNORECASE)


def tokens_in(facts: MessageFacts) -> list[str]:
    """Every summary token a message refers to, from its headers."""
    found = []
    for reference in (*facts.in_reply_to, *facts.references):
        match = _SUMMARY_ID.search(reference)
        if match:
            found.append(match.group(1).lower())
    found += [token.lower() for token in _SUBJECT_TOKEN.findall(facts.subject)]
    return list(dict.fromkeys(found))


def owner_to_owner(message: HeaderBlock | MessageFacts, me: frozenset[str]) -> bool:
    """From the owner and to the owner only: what a reply to a summary always is. (Mail
    from the owner to anyone else is never read as one, so nothing of it is recorded.)"""
    recipients = message.to + message.cc + message.bcc
    return (
        bool(message.from_)
        and bool(recipients)
        and all(mailbox.address in me for mailbox in (*message.from_, *recipients))
    )


def may_be_summary_reply(block: HeaderBlock, me: frozenset[str]) -> bool:
    """A cheap first look at an undecoded block: owner to owner, and something in its
    references or subject that could be a summary's token (or is still encoded)."""
    if not owner_to_owner(block, me):
        return False
    subject = block.raw("subject")
    text = (block.raw("in-reply-to") + block.raw("references") + subject).lower()
    return "kithkin" in text or "=?" in subject or bool(_SUBJECT_TOKEN.search(subject))


def looks_like_summary_reply(facts: MessageFacts, me: frozenset[str]) -> bool:
    """Worth a look: from the owner, and it refers to a summary or is a "Re: ...Kithkin...".

    Kithkin's own summaries (with the X-Kithkin-Summary header) are not replies.
    """
    if facts.kithkin_summary or not owner_to_owner(facts, me):
        return False
    return bool(tokens_in(facts)) or bool(_LOOKS_LIKE_REPLY.search(facts.subject))


def valid_token(facts: MessageFacts, store: Store, now: datetime) -> str | None:
    known = store.summary_tokens_since(now - timedelta(days=TOKEN_VALID_DAYS))
    return next((token for token in tokens_in(facts) if token in known), None)


@dataclass
class ReplyOutcome:
    applied: list[str] = field(default_factory=list)
    not_understood: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"applied": self.applied, "not_understood": [list(p) for p in self.not_understood]}


def ignored(reason: str) -> dict[str, Any]:
    return {"applied": [], "not_understood": [], "ignored": reason}


def handle_reply(
    store: Store,
    facts: MessageFacts,
    raw_body: bytes | None,
    token: str | None,
    *,
    now: datetime,
    zone: tzinfo,
) -> dict[str, Any]:
    """Apply one reply's commands (caller holds the transaction) and record it. Returns the
    recorded results. Dates in commands ("called Ada", "snooze Ada 3w") count from the day
    the reply was written, in the owner's time zone."""
    if token is None:
        results = ignored("looked like a reply to a summary but carried no valid token")
    else:
        text = reply_text(raw_body or b"")
        day = local_date(facts.date or now, zone)
        results = apply_commands(store, command_lines(text), day=day, now=now).as_json()
    store.record_reply(facts.message_key, token, facts.date or now, results, now)
    return results


def apply_commands(store: Store, lines: list[str], *, day: date, now: datetime) -> ReplyOutcome:
    outcome = ReplyOutcome()
    for line in lines:
        command = parse_command(line)
        if command is None:
            outcome.not_understood.append((line, "not a command (" + ", ".join(VERBS) + ")"))
            continue
        try:
            outcome.applied.append(_apply(store, command, day, now))
        except KithkinError as exc:
            outcome.not_understood.append((line, str(exc)))
        except (ValueError, OverflowError) as exc:  # one line of input never poisons a batch
            outcome.not_understood.append((line, f"cannot be applied: {exc}"))
    return outcome


def _apply(store: Store, command: Command, day: date, now: datetime) -> str:
    words = list(command.words)
    if not words:
        raise UsageError(f"{command.verb} needs a name")
    if command.verb == "snooze":
        if len(words) >= 3 and words[-2].lower() == "until":
            until = parse_date(words[-1])
            name = words[:-2]
        else:
            until = add_days(
                day, parse_duration(_last(words, "a duration like 3w or 'until DATE'"))
            )
            name = words[:-1]
        contact = _resolve(store, name)
        store.set_attention(contact.id, snoozed_until=until.isoformat())
        return f"snoozed {contact.name} until {until.isoformat()}"
    if command.verb in ("mute", "unmute"):
        contact = _resolve(store, words)
        muted = command.verb == "mute"
        store.set_attention(contact.id, muted=muted, snoozed_until=False if muted else None)
        return f"{command.verb}d {contact.name}"
    if command.verb == "every":
        days = parse_days(_last(words, "a cadence like 14d or 3w"))
        contact = _resolve(store, words[:-1])
        store.update_contact(contact.id, every_days=days, now=now)
        return f"every {days} days with {contact.name}"
    if command.verb in ("called", "met"):
        when, name = day, words
        if len(words) > 1 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", words[-1]):
            when, name = parse_date(words[-1]), words[:-1]
        contact = _resolve(store, name)
        kind = "call" if command.verb == "called" else "meeting"
        log_manual(store, contact, kind, when, note=None)
        return f"logged a {kind} with {contact.name} on {when.isoformat()}"
    contact, text = _split_note(store, words)
    store.add_note(contact.id, text, day, now)
    return f"noted for {contact.name}: {text}"


def _last(words: list[str], what: str) -> str:
    if len(words) < 2:
        raise UsageError(f"needs a name and {what}")
    return words[-1]


def _resolve(store: Store, words: list[str]) -> Contact:
    if not words:
        raise UsageError("needs a name")
    return book.resolve_contact(store, " ".join(words).strip('"'))


def _split_note(store: Store, words: list[str]) -> tuple[Contact, str]:
    """`note Ada Lovelace new job` -> (Ada Lovelace, "new job"): the longest leading words
    that are exactly a contact's name, else a quoted name, else one word naming one contact."""
    text = " ".join(words)
    quoted = re.match(r'^"([^"]+)"\s+(.+)$', text)
    if quoted:
        return book.resolve_contact(store, quoted.group(1)), quoted.group(2).strip()
    names = {contact.name.casefold(): contact for contact in store.contacts()}
    for length in range(len(words) - 1, 0, -1):
        contact = names.get(" ".join(words[:length]).casefold())
        if contact is not None:
            return contact, " ".join(words[length:])
    if len(words) < 2:
        raise UsageError("note needs a name and some text")
    return book.resolve_contact(store, words[0]), " ".join(words[1:])


def log_manual(store: Store, contact: Contact, kind: str, day: date, note: str | None) -> None:
    """A call, meeting or other interaction logged by hand; it counts like a 1:1 email."""
    moment = datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)
    with store.atomic():
        store.add_interactions(
            [NewInteraction(contact.id, None, moment, None, None, None, 1, kind, note)]
        )


def summary_extras(store: Store, as_of: date) -> SummaryExtras:
    """Results of replies since the last summary, the command reminder, and latest notes."""
    replies = store.unreported_replies()
    applied: list[str] = []
    not_understood: list[tuple[str, str]] = []
    for reply in replies:
        applied += reply.get("applied", [])
        not_understood += [tuple(item) for item in reply.get("not_understood", [])]
        if reply.get("ignored"):
            not_understood.append(("(a message from your address)", reply["ignored"]))
    return SummaryExtras(
        applied=applied,
        not_understood=not_understood,
        commands=list(HELP),
        notes=store.latest_notes(as_of),
        reply_keys=[reply["message_key"] for reply in replies],
    )
