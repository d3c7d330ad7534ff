"""What each person's entry in the summary says: the action first, every reason in plain
words, their latest note, and the links. The templates only lay these out.

Every string that came from outside (names, addresses, subjects, notes) goes through
`one_line` here, once; the HTML template autoescapes on top of that.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from kithkin.daemon.core.digest import Entry
from kithkin.daemon.core.findings import Awaiting, Birthday, OneSided
from kithkin.daemon.core.wording import duration
from kithkin.daemon.summary.environment import mailto
from kithkin.parsers.text import clean_line

_SCHEME = re.compile(r"\b([a-z][a-z0-9+.-]*:)//", re.IGNORECASE)
ACTIONS = {"reply": "Reply", "write": "Write", "wishes": "Send wishes"}


def one_line(text: str | None) -> str:
    """Text from other people's mail, made safe to show: `clean_line` (control characters such
    as CR, LF and NUL become spaces; escape sequences and bidi overrides go), and `scheme://`
    gets an invisible word joiner so no mail client turns it into a link (the summary's only
    links are mailto:)."""
    return _SCHEME.sub(lambda m: m.group(1) + "\u2060//", clean_line(text or ""))


def entry_context(
    entry: Entry,
    *,
    owner: str,
    token: str,
    notes: dict[int, tuple[str, str]],
    steering: bool,
) -> dict[str, Any]:
    contact = entry.contact
    name = one_line(contact.name)
    address = one_line(contact.emails[0]) if contact.emails else ""
    note = notes.get(contact.id)
    action = entry.action
    subject = None
    if action == "reply" and entry.waiting and entry.waiting.subject:
        subject = "Re: " + one_line(entry.waiting.subject).removeprefix("Re: ")
    elif action == "wishes":
        subject = "Happy birthday!"
    return {
        "name": name,
        "first_name": name.split(" ")[0],
        "address": address,
        "action": action,
        "action_label": ACTIONS[action],
        "action_href": mailto(address, subject),
        "lines": reasons(entry),
        "note": one_line(note[1]) if note else "",
        "note_date": one_line(note[0]) if note else "",
        # A reply to the owner, token in the subject, the person's snooze prefilled (with
        # their address: two people may share a name).
        "snooze_link": mailto(owner, f"Re: Kithkin [{token}]", f"snooze {name} <{address}> 3w")
        if steering
        else None,
    }


def reasons(entry: Entry) -> list[str]:
    """Every reason that applies, the one that placed the person first."""
    said: dict[str, str] = {}
    if entry.birthday:
        said["wishes"] = birthday_line(entry.birthday)
    if entry.waiting:
        said["reply"] = waiting_line(entry.waiting)
    if entry.fading:
        said["write"] = one_line(entry.fading.why())
        if not entry.waiting and entry.fading.last_subject:
            said["subject"] = f"Last subject: \u201c{one_line(entry.fading.last_subject)}\u201d"
    if entry.one_sided:
        said["quiet"] = quiet_line(entry.one_sided)
    first = said.pop(entry.action, None)
    return ([first] if first else []) + list(said.values())


def birthday_line(birthday: Birthday) -> str:
    turning = f" (turns {birthday.turning})" if birthday.turning else ""
    if birthday.in_days == 0:
        return f"Birthday today{turning}!"
    when = birthday.on.strftime("%A %-d %B")
    if birthday.in_days == 1:
        return f"Birthday tomorrow, {when}{turning}."
    return f"Birthday on {when}{turning}, in {duration(birthday.in_days)}."


def waiting_line(waiting: Awaiting) -> str:
    wait = f"Waiting for your reply for {duration(waiting.days_waiting)}"
    if waiting.subject:
        return f"{wait}: \u201c{one_line(waiting.subject)}\u201d"
    return wait + "."


def quiet_line(quiet: OneSided) -> str:
    count = quiet.unanswered
    since = _day(quiet.first_unanswered[:10])
    return f"Your last {count} messages since {since} got no reply."


def _day(text: str) -> str:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return one_line(text)
    return day.strftime("%-d %B %Y")
