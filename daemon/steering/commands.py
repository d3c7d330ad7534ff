"""The owner's commands ("snooze Ada 3w") applied to the contact book, each result recorded
by contact id (see journal.py): one line that cannot be applied is reported, never poisons
the rest of the reply or the batch."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from kithkin.daemon import book
from kithkin.daemon.core.dates import add_days, parse_date, parse_days
from kithkin.daemon.core.records import Contact
from kithkin.daemon.core.when import is_day, parse_day
from kithkin.daemon.errors import KithkinError, UsageError
from kithkin.daemon.steering.journal import RECORD_FORMAT
from kithkin.daemon.store import Store
from kithkin.parsers.replies import VERBS, Command, parse_command


@dataclass
class ReplyOutcome:
    done: list[dict[str, Any]] = field(default_factory=list)
    not_understood: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"format": RECORD_FORMAT, "done": self.done, "not_understood": self.not_understood}


def apply_commands(store: Store, lines: list[str], *, day: date, now: datetime) -> ReplyOutcome:
    """Apply each line; names are found as on the command line (book.ContactFinder), with
    one index of names for the whole reply."""
    outcome = ReplyOutcome()
    finder = book.ContactFinder(store)
    for line in lines:
        command = parse_command(line)
        if command is None:
            reason = "not a command (" + ", ".join(VERBS) + ")"
            outcome.not_understood.append(_not_understood(finder, line, {"reason": reason}))
            continue
        try:
            outcome.done.append(_apply(finder, command, day, now))
        except book.AmbiguousName as exc:
            ids = [contact.id for contact in exc.candidates]
            found = {"ambiguous": exc.query, "candidates": ids}
            outcome.not_understood.append(_not_understood(finder, line, found, ids))
        except book.UnknownName as exc:
            ids = [contact.id for contact in exc.suggestions]
            found = {"unknown": exc.query, "suggestions": ids}
            outcome.not_understood.append(_not_understood(finder, line, found, ids))
        except KithkinError as exc:
            outcome.not_understood.append(_not_understood(finder, line, {"reason": str(exc)}))
        except (ValueError, OverflowError) as exc:  # one line of input never poisons a batch
            found = {"reason": f"cannot be applied: {exc}"}
            outcome.not_understood.append(_not_understood(finder, line, found))
    return outcome


def _not_understood(
    finder: book.ContactFinder, line: str, why: dict[str, Any], ids: Iterable[int] = ()
) -> dict[str, Any]:
    """The record of a line not applied: why (a reason, or the query of an ambiguous or an
    unknown name with the ids of the candidates or suggestions), and the ids of every contact
    it could be about, those included."""
    return {"line": line, **why, "contact_ids": sorted(mentioned(finder, line) | set(ids))}


def mentioned(finder: book.ContactFinder, line: str) -> set[int]:
    """Every contact a line could be about: one of their addresses is in it, or a word of it
    begins their name, their nickname or a word of either (case and accents aside; what a
    name resolves by). More rather than fewer: forgetting any of them drops the line."""
    words = line.split()
    if words and words[0].lower().rstrip(":") in VERBS:
        words = words[1:]
    found: set[int] = set()
    for raw in words:
        word = raw.strip("\"'<>()[]{},;:.!?")
        owner = finder.owner_of(word)
        if owner is not None:
            found.add(owner)
        found |= finder.index.mentioned(word)
    return found


def _apply(
    finder: book.ContactFinder, command: Command, day: date, now: datetime
) -> dict[str, Any]:
    store = finder.store
    words = list(command.words)
    if not words:
        raise UsageError(f"{command.verb} needs a name")
    if command.verb == "snooze":
        if len(words) >= 3 and words[-2].lower() == "until":
            until = parse_date(words[-1])
            name = words[:-2]
        else:
            days = parse_days(_last(words, "a duration like 3w or 'until DATE'"))
            until = add_days(day, timedelta(days=days))
            name = words[:-1]
        contact = _resolve(finder, name)
        store.contacts.set_attention(contact.id, snoozed_until=until.isoformat())
        return {"action": "snooze", "contact_id": contact.id, "until": until.isoformat()}
    if command.verb in ("mute", "unmute"):
        contact = _resolve(finder, words)
        muted = command.verb == "mute"
        store.contacts.set_attention(
            contact.id, muted=muted, snoozed_until=False if muted else None
        )
        return {"action": command.verb, "contact_id": contact.id}
    if command.verb == "every":
        days = parse_days(_last(words, "a cadence like 14d or 3w"))
        contact = _resolve(finder, words[:-1])
        store.contacts.update(contact.id, every_days=days, now=now)
        return {"action": "every", "contact_id": contact.id, "days": days}
    if command.verb in ("called", "met"):
        when, name = day, words
        if len(words) > 1 and is_day(words[-1]) and not finder.index.exact(" ".join(words)):
            hint = "a reply logs only what has happened"
            when, name = parse_day(words[-1], day, future_hint=hint), words[:-1]
        contact = _resolve(finder, name)
        kind = "call" if command.verb == "called" else "meeting"
        book.log_manual(store, contact, kind, when, note=None)
        return {"action": kind, "contact_id": contact.id, "date": when.isoformat()}
    contact, text = _split_note(finder, words)
    note_id = store.notes.add(contact.id, text, day, now)
    return {"action": "note", "contact_id": contact.id, "note_id": note_id}


def _last(words: list[str], what: str) -> str:
    if len(words) < 2:
        raise UsageError(f"needs a name and {what}")
    return words[-1]


def _resolve(finder: book.ContactFinder, words: list[str]) -> Contact:
    if not words:
        raise UsageError("needs a name")
    return finder.resolve(" ".join(words).strip('"'))


def _split_note(finder: book.ContactFinder, words: list[str]) -> tuple[Contact, str]:
    """`note Ada Lovelace new job` -> (Ada Lovelace, "new job"): the longest leading words
    that are exactly a contact's name (or nickname), else a quoted name, else one word naming
    one contact. Leading words that are the name of several are ambiguous."""
    text = " ".join(words)
    quoted = re.match(r'^"([^"]+)"\s+(.+)$', text)
    if quoted:
        return finder.resolve(quoted.group(1)), quoted.group(2).strip()
    for length in range(len(words) - 1, 0, -1):
        lead = " ".join(words[:length])
        found = finder.index.exact(lead)
        if len(found) > 1:
            raise book.AmbiguousName(lead, found)
        if found:
            return finder.store.contacts.get(found[0].id), " ".join(words[length:])
    if len(words) < 2:
        raise UsageError("note needs a name and some text")
    return finder.resolve(words[0]), " ".join(words[1:])
