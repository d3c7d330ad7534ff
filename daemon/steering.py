"""Steering Kithkin by replying to its summary, and what the summary shows besides the report.

A message is a reply to a summary only if it comes from one of the owner's addresses AND
carries the secret token of a summary sent in the last 30 days: in In-Reply-To/References
(the summary's Message-ID holds the token) or in the Subject (the prefilled links put
`[token]` there). A forged From alone does nothing: the token is 128 random bits that only
ever went to the owner. Only then is the body fetched (BODY.PEEK, read-only) and read.

A reply must also be dated after that summary was made (an older message carrying a token is
a replay), and, with `[summary] reply_authserv_id`, carry an Authentication-Results field of
the owner's own receiving server saying DKIM or SPF passed for the owner's domain. A message
that fails any of this leaves nothing behind but a count.

Each reply is recorded by its message key in the same transaction as its effects, so it is
applied once, whatever folders it shows up in and however often the service restarts. The
record names contacts by id only; names are put in when it is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from kithkin.daemon import contacts as book
from kithkin.daemon.config import Config
from kithkin.daemon.dates import add_days, local_date, parse_date, parse_days, parse_duration
from kithkin.daemon.errors import KithkinError, UsageError
from kithkin.daemon.store import Contact, NewInteraction, Store
from kithkin.daemon.summary import MESSAGE_ID_DOMAIN, SummaryExtras
from kithkin.parsers import authresults
from kithkin.parsers.addresses import normalise_address
from kithkin.parsers.headers import HeaderBlock, MessageFacts
from kithkin.parsers.replies import HELP, VERBS, Command, command_lines, parse_command, reply_text
from kithkin.parsers.text import clean_line, clean_text

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


# --- which messages are taken for replies ---------------------------------------------------

IGNORED = {  # why a message that looked like a reply was not taken for one -> status wording
    "no_valid_token": "without a valid token",
    "before_summary": "dated before its summary",
    "unauthenticated": "failing the Authentication-Results check",
}
_IGNORED_COUNTER = "replies.ignored."


@dataclass(frozen=True)
class ReplyPolicy:
    """What a reply must pass besides sender, token and date. With `authserv_ids` (the
    owner's receiving servers), an Authentication-Results field written by one of them saying
    DKIM or SPF passed for one of `domains` (the owner's); with none, no such check."""

    authserv_ids: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()


UNCHECKED = ReplyPolicy()


def reply_policy(config: Config) -> ReplyPolicy:
    """`[summary] reply_authserv_id` and the domains of `[me] addresses`."""
    return ReplyPolicy(
        frozenset(config.summary.reply_authserv_ids),
        frozenset(address.rpartition("@")[2] for address in config.me),
    )


def refusal(
    store: Store,
    facts: MessageFacts,
    raw_message: bytes | None,
    token: str | None,
    policy: ReplyPolicy,
) -> str | None:
    """Why a message that looks like a reply is not taken for one (a key of IGNORED), or
    None. A reply must carry a valid token, be dated after the summary whose token it carries
    was made (an older message with a token is a replay), and pass the policy."""
    if token is None:
        return "no_valid_token"
    made = store.summary_created_at(token)
    if made is None or facts.date is None or facts.date <= made:
        return "before_summary"
    if policy.authserv_ids and not authresults.passes_for(
        authresults.fields(raw_message or b""), policy.authserv_ids, policy.domains
    ):
        return "unauthenticated"
    return None


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
        store.increment_meta(_IGNORED_COUNTER + reason)
        return {"ignored": reason}
    text = clean_text(reply_text(raw_body or b""))
    lines = [line for line in map(clean_line, command_lines(text)) if line]
    day = local_date(facts.date or now, zone)
    results = apply_commands(store, lines, day=day, now=now).as_json()
    store.record_reply(facts.message_key, token, facts.date or now, results, now)
    return results


def ignored_counts(store: Store) -> dict[str, int]:
    """How many messages were not taken for replies, by reason (all that is kept of them)."""
    return {reason: int(store.get_meta(_IGNORED_COUNTER + reason) or 0) for reason in IGNORED}


def describe_ignored(counts: dict[str, int]) -> str | None:
    parts = [f"{count} {IGNORED[reason]}" for reason, count in counts.items() if count]
    if not parts:
        return None
    return "Messages not taken for replies to a summary: " + ", ".join(parts)


# --- applying commands, recorded by contact id ----------------------------------------------
# A record: {"format": 2, "done": [...], "not_understood": [...]}. Each done item names its
# contact by id: {"action": "snooze", "contact_id": 3, "until": "2027-01-15"}, "mute" and
# "unmute", {"action": "every", ..., "days": 14}, {"action": "call" | "meeting", ...,
# "date": "2026-11-20"}, {"action": "note", ..., "note_id": 12}. A line not understood keeps
# its text and the ids of every contact it could be about: {"line", "reason", "contact_ids"},
# or for an ambiguous name {"line", "ambiguous": "Ad", "candidates": [1, 2], "contact_ids"}.
# Names are put in only when shown, so `contacts forget` can drop all of it by id.

RECORD_FORMAT = 2
FORGOTTEN = "(about a forgotten contact)"


@dataclass
class ReplyOutcome:
    done: list[dict[str, Any]] = field(default_factory=list)
    not_understood: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"format": RECORD_FORMAT, "done": self.done, "not_understood": self.not_understood}


class AmbiguousName(UsageError):
    def __init__(self, query: str, candidates: list[Contact]) -> None:
        super().__init__(f"{query!r} matches several contacts")
        self.query = query
        self.ids = [contact.id for contact in candidates]


def apply_commands(store: Store, lines: list[str], *, day: date, now: datetime) -> ReplyOutcome:
    outcome = ReplyOutcome()
    for line in lines:
        command = parse_command(line)
        if command is None:
            reason = "not a command (" + ", ".join(VERBS) + ")"
            outcome.not_understood.append(_not_understood(store, line, reason))
            continue
        try:
            outcome.done.append(_apply(store, command, day, now))
        except AmbiguousName as exc:
            outcome.not_understood.append(_not_understood(store, line, None, exc))
        except KithkinError as exc:
            outcome.not_understood.append(_not_understood(store, line, str(exc)))
        except (ValueError, OverflowError) as exc:  # one line of input never poisons a batch
            outcome.not_understood.append(_not_understood(store, line, f"cannot be applied: {exc}"))
    return outcome


def _not_understood(
    store: Store, line: str, reason: str | None, ambiguous: AmbiguousName | None = None
) -> dict[str, Any]:
    ids = mentioned(store, line)
    if ambiguous is None:
        return {"line": line, "reason": reason, "contact_ids": sorted(ids)}
    return {
        "line": line,
        "ambiguous": ambiguous.query,
        "candidates": ambiguous.ids,
        "contact_ids": sorted(ids | set(ambiguous.ids)),
    }


def mentioned(store: Store, line: str) -> set[int]:
    """Every contact a line could be about: one of their addresses is in it, or a word of it
    begins their name or a word of their name (what a name prefix resolves by). More rather
    than fewer: forgetting any of them drops the line."""
    words = line.split()
    if words and words[0].lower().rstrip(":") in VERBS:
        words = words[1:]
    owners = store.address_book()
    names = [(contact.id, contact.name.casefold()) for contact in store.contacts()]
    found: set[int] = set()
    for raw in words:
        word = raw.strip("\"'<>()[]{},;:.!?")
        address = normalise_address(word) if "@" in word else None
        if address in owners:
            found.add(owners[address])
        folded = word.casefold()
        if folded:
            found.update(
                contact_id
                for contact_id, name in names
                if name.startswith(folded) or any(part.startswith(folded) for part in name.split())
            )
    return found


def _apply(store: Store, command: Command, day: date, now: datetime) -> dict[str, Any]:
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
        return {"action": "snooze", "contact_id": contact.id, "until": until.isoformat()}
    if command.verb in ("mute", "unmute"):
        contact = _resolve(store, words)
        muted = command.verb == "mute"
        store.set_attention(contact.id, muted=muted, snoozed_until=False if muted else None)
        return {"action": command.verb, "contact_id": contact.id}
    if command.verb == "every":
        days = parse_days(_last(words, "a cadence like 14d or 3w"))
        contact = _resolve(store, words[:-1])
        store.update_contact(contact.id, every_days=days, now=now)
        return {"action": "every", "contact_id": contact.id, "days": days}
    if command.verb in ("called", "met"):
        when, name = day, words
        if len(words) > 1 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", words[-1]):
            when, name = parse_date(words[-1]), words[:-1]
        contact = _resolve(store, name)
        kind = "call" if command.verb == "called" else "meeting"
        log_manual(store, contact, kind, when, note=None)
        return {"action": kind, "contact_id": contact.id, "date": when.isoformat()}
    contact, text = _split_note(store, words)
    note_id = store.add_note(contact.id, text, day, now)
    return {"action": "note", "contact_id": contact.id, "note_id": note_id}


def _last(words: list[str], what: str) -> str:
    if len(words) < 2:
        raise UsageError(f"needs a name and {what}")
    return words[-1]


def _resolve(store: Store, words: list[str]) -> Contact:
    if not words:
        raise UsageError("needs a name")
    return _resolve_query(store, " ".join(words).strip('"'))


def _resolve_query(store: Store, query: str) -> Contact:
    """`resolve_contact`, with an ambiguous name raised as AmbiguousName (which contacts)."""
    try:
        return book.resolve_contact(store, query)
    except UsageError:
        candidates = book.name_matches(store.contacts(), query)
        if len(candidates) > 1:
            raise AmbiguousName(query, candidates) from None
        raise


def _split_note(store: Store, words: list[str]) -> tuple[Contact, str]:
    """`note Ada Lovelace new job` -> (Ada Lovelace, "new job"): the longest leading words
    that are exactly a contact's name, else a quoted name, else one word naming one contact."""
    text = " ".join(words)
    quoted = re.match(r'^"([^"]+)"\s+(.+)$', text)
    if quoted:
        return _resolve_query(store, quoted.group(1)), quoted.group(2).strip()
    names = {contact.name.casefold(): contact for contact in store.contacts()}
    for length in range(len(words) - 1, 0, -1):
        contact = names.get(" ".join(words[:length]).casefold())
        if contact is not None:
            return contact, " ".join(words[length:])
    if len(words) < 2:
        raise UsageError("note needs a name and some text")
    return _resolve_query(store, words[0]), " ".join(words[1:])


# --- showing what replies did: names put in now --------------------------------------------


def shown_reply(store: Store, record: dict[str, Any]) -> dict[str, Any]:
    """A recorded reply in words, with the names contacts have now: {"applied": [text],
    "not_understood": [[line, reason]]} (and "ignored" for a record of an earlier version
    that has it). Records of earlier versions are text already."""
    if record.get("format") != RECORD_FORMAT:
        shown = {
            "applied": list(record.get("applied", [])),
            "not_understood": [list(item) for item in record.get("not_understood", [])],
        }
        if record.get("ignored"):
            shown["ignored"] = record["ignored"]
        return shown
    contacts = {contact.id: contact for contact in store.contacts()}
    return {
        "applied": [_describe(store, item, contacts) for item in record.get("done", [])],
        "not_understood": [
            [item["line"], _reason(item, contacts)] for item in record.get("not_understood", [])
        ],
    }


def _describe(store: Store, item: dict[str, Any], contacts: dict[int, Contact]) -> str:
    contact = contacts.get(item.get("contact_id"))
    if contact is None:
        return FORGOTTEN
    name, action = contact.name, item.get("action")
    if action == "snooze":
        return f"snoozed {name} until {item['until']}"
    if action in ("mute", "unmute"):
        return f"{action}d {name}"
    if action == "every":
        return f"every {item['days']} days with {name}"
    if action in ("call", "meeting"):
        return f"logged a {action} with {name} on {item['date']}"
    if action == "note":
        notes = store.notes(contact.id)
        text = next((note["text"] for note in notes if note["id"] == item.get("note_id")), None)
        return f"noted for {name}: {text}" if text is not None else f"noted for {name}"
    return f"{action} {name}"


def _reason(item: dict[str, Any], contacts: dict[int, Contact]) -> str:
    if "ambiguous" not in item:
        return str(item.get("reason") or "")
    named = [contacts[i] for i in item.get("candidates", []) if i in contacts]
    listed = "; ".join(f"{c.name} <{c.emails[0]}>" for c in named[:10])
    more = f" and {len(named) - 10} more" if len(named) > 10 else ""
    return (
        f"{item['ambiguous']!r} matches several contacts: {listed}{more}; "
        "use the full name or an address"
    )


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
        shown = shown_reply(store, reply)
        applied += shown["applied"]
        not_understood += [(line, reason) for line, reason in shown["not_understood"]]
        if shown.get("ignored"):
            not_understood.append(("(a message from your address)", shown["ignored"]))
    return SummaryExtras(
        applied=applied,
        not_understood=not_understood,
        commands=list(HELP),
        notes=store.latest_notes(as_of),
        reply_keys=[reply["message_key"] for reply in replies],
        set_aside=store.unreported_set_aside(),
    )
