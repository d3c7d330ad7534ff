"""The journal of replies in words. A record is {"format": 2, "done": [...],
"not_understood": [...]}; each done item names its contact by id: {"action": "snooze",
"contact_id": 3, "until": "2027-01-15"}, "mute" and "unmute", {"action": "every", ...,
"days": 14}, {"action": "call" | "meeting", ..., "date": "2026-11-20"}, {"action": "note",
..., "note_id": 12}. A line not understood keeps its text and the ids of every contact it
could be about: {"line", "reason", "contact_ids"}, or for an ambiguous name {"line",
"ambiguous": "Ad", "candidates": [1, 2], "contact_ids"}, or for a name that finds nobody
{"line", "unknown": "Lina", "suggestions": [4], "contact_ids"}. Names are put in only when shown,
so `contacts forget` can drop all of it by id (store/replies.py)."""

from __future__ import annotations

from typing import Any

from kithkin.daemon import book
from kithkin.daemon.core.records import Contact
from kithkin.daemon.store import Store
from kithkin.daemon.store.replies import FORGOTTEN

RECORD_FORMAT = 2


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
    contacts = {contact.id: contact for contact in store.contacts.all()}
    return {
        "applied": [_describe(store, item, contacts) for item in record.get("done", [])],
        "not_understood": [
            [item["line"], _reason(item, contacts)] for item in record.get("not_understood", [])
        ],
    }


def _describe(store: Store, item: dict[str, Any], contacts: dict[int, Contact]) -> str:
    contact_id = item.get("contact_id")
    contact = contacts.get(contact_id) if contact_id is not None else None
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
        text = store.notes.text(item["note_id"]) if "note_id" in item else None
        return f"noted for {name}: {text}" if text is not None else f"noted for {name}"
    return f"{action} {name}"


def _reason(item: dict[str, Any], contacts: dict[int, Contact]) -> str:
    if "ambiguous" in item:
        named = [contacts[i] for i in item.get("candidates", []) if i in contacts]
        return book.ambiguous_message(str(item["ambiguous"]), named)
    if "unknown" in item:
        named = [contacts[i] for i in item.get("suggestions", []) if i in contacts]
        return book.unknown_message(str(item["unknown"]), named)
    return str(item.get("reason") or "")
