"""The owner's commands ("snooze Ada 3w") applied to the contact book, each result recorded
by contact id (see journal.py): one line that cannot be applied is reported, never poisons
the rest of the reply or the batch."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kithkin.daemon import book
from kithkin.daemon.core.dates import add_days, parse_date, parse_days, parse_duration
from kithkin.daemon.core.records import Contact
from kithkin.daemon.errors import KithkinError, UsageError
from kithkin.daemon.steering.journal import RECORD_FORMAT
from kithkin.daemon.store import Store
from kithkin.parsers.addresses import normalise_address
from kithkin.parsers.replies import VERBS, Command, parse_command


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
    owners = store.contacts.address_book()
    names = [(contact.id, contact.name.casefold()) for contact in store.contacts.all()]
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
        store.contacts.set_attention(contact.id, snoozed_until=until.isoformat())
        return {"action": "snooze", "contact_id": contact.id, "until": until.isoformat()}
    if command.verb in ("mute", "unmute"):
        contact = _resolve(store, words)
        muted = command.verb == "mute"
        store.contacts.set_attention(
            contact.id, muted=muted, snoozed_until=False if muted else None
        )
        return {"action": command.verb, "contact_id": contact.id}
    if command.verb == "every":
        days = parse_days(_last(words, "a cadence like 14d or 3w"))
        contact = _resolve(store, words[:-1])
        store.contacts.update(contact.id, every_days=days, now=now)
        return {"action": "every", "contact_id": contact.id, "days": days}
    if command.verb in ("called", "met"):
        when, name = day, words
        if len(words) > 1 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", words[-1]):
            when, name = parse_date(words[-1]), words[:-1]
        contact = _resolve(store, name)
        kind = "call" if command.verb == "called" else "meeting"
        book.log_manual(store, contact, kind, when, note=None)
        return {"action": kind, "contact_id": contact.id, "date": when.isoformat()}
    contact, text = _split_note(store, words)
    note_id = store.notes.add(contact.id, text, day, now)
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
        candidates = book.name_matches(store.contacts.all(), query)
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
    names = {contact.name.casefold(): contact for contact in store.contacts.all()}
    for length in range(len(words) - 1, 0, -1):
        contact = names.get(" ".join(words[:length]).casefold())
        if contact is not None:
            return contact, " ".join(words[length:])
    if len(words) < 2:
        raise UsageError("note needs a name and some text")
    return _resolve_query(store, words[0]), " ".join(words[1:])
