"""The names the summary templates had before each person got one entry (`fading`,
`awaiting`, `one_sided`, `birthdays`, `more_fading`), still given to the templates so that
an owner's override written against them keeps working. The shipped templates use `people`.
"""

from __future__ import annotations

from typing import Any

from kithkin.daemon.core.findings import Report
from kithkin.daemon.core.records import Contact
from kithkin.daemon.summary.entries import one_line
from kithkin.daemon.summary.environment import mailto


def legacy_context(
    report: Report,
    *,
    owner: str,
    max_people: int,
    token: str,
    notes: dict[int, tuple[str, str]],
    steering: bool,
) -> dict[str, Any]:
    def person(contact: Contact) -> dict[str, Any]:
        name = one_line(contact.name)
        address = one_line(contact.emails[0]) if contact.emails else ""
        note = notes.get(contact.id)
        return {
            "name": name,
            "first_name": name.split(" ")[0],
            "address": address,
            "note": one_line(note[1]) if note else "",
            "note_date": one_line(note[0]) if note else "",
            "snooze_link": mailto(owner, f"Re: Kithkin [{token}]", f"snooze {name} <{address}> 3w")
            if steering
            else None,
        }

    fading = [
        {
            **person(item.contact),
            "days_since": item.days_since,
            "cadence_days": item.cadence.days,
            "why": one_line(item.why()),
            "last_subject": one_line(item.last_subject),
        }
        for item in report.fading[:max_people]
    ]
    return {
        "fading": fading,
        "more_fading": max(0, len(report.fading) - max_people),
        "awaiting": [
            {
                **person(item.contact),
                "days_waiting": item.days_waiting,
                "subject": one_line(item.subject),
            }
            for item in report.awaiting_reply
        ],
        "one_sided": [
            {
                **person(item.contact),
                "unanswered": item.unanswered,
                "since": one_line(item.first_unanswered[:10]),
            }
            for item in report.one_sided
        ],
        "birthdays": [
            {
                **person(item.contact),
                "on": item.on,
                "in_days": item.in_days,
                "turning": item.turning,
            }
            for item in report.birthdays
        ],
    }
