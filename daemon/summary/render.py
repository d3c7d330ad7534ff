"""The weekly summary: a report rendered through the templates into one email to the owner.

Headers are fixed strings built here, never copied from incoming mail: text that came from
other people's mail (subjects) only ever goes into the body, autoescaped in HTML and with
control characters removed in plain text. So nothing from outside can add a header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from kithkin.daemon.core.findings import Report
from kithkin.daemon.core.records import Contact
from kithkin.daemon.steering.tokens import summary_message_id
from kithkin.daemon.summary.environment import environment, mailto
from kithkin.daemon.summary.extras import SummaryExtras
from kithkin.parsers.addresses import ascii_address
from kithkin.parsers.text import clean_line

SUMMARY_HEADER = "X-Kithkin-Summary"
_SCHEME = re.compile(r"\b([a-z][a-z0-9+.-]*:)//", re.IGNORECASE)


def one_line(text: str | None) -> str:
    """Text from other people's mail, made safe to show: `clean_line` (control characters such
    as CR, LF and NUL become spaces; escape sequences and bidi overrides go), and `scheme://`
    gets an invisible word joiner so no mail client turns it into a link (the summary's only
    links are mailto:)."""
    return _SCHEME.sub(lambda m: m.group(1) + "\u2060//", clean_line(text or ""))


@dataclass(frozen=True)
class RenderedSummary:
    subject: str
    text: str
    html: str
    token: str
    empty: bool


def summary_subject(report: Report) -> str:
    fading = len(report.fading)
    waiting = len(report.awaiting_reply)
    if report.is_empty:
        return "Kithkin: all good this week"
    parts = []
    if fading:
        parts.append(f"{fading} {'person' if fading == 1 else 'people'} to write to")
    if waiting:
        parts.append(f"{waiting} waiting for your reply")
    if not parts:
        parts.append("birthdays and more" if report.birthdays else "your week")
    return "Kithkin: " + ", ".join(parts)


def render_summary(
    report: Report,
    *,
    owner: str,
    max_people: int,
    token: str,
    extras: SummaryExtras | None = None,
    template_dir: Path | None = None,
) -> RenderedSummary:
    extras = extras or SummaryExtras()
    context = summary_context(
        report, owner=owner, max_people=max_people, token=token, extras=extras
    )
    env = environment(template_dir)
    return RenderedSummary(
        subject=summary_subject(report),
        text=env.get_template("summary.txt.j2").render(context),
        html=env.get_template("summary.html.j2").render(context),
        token=token,
        empty=report.is_empty,
    )


def summary_context(
    report: Report, *, owner: str, max_people: int, token: str, extras: SummaryExtras
) -> dict[str, Any]:
    def person(contact: Contact) -> dict[str, Any]:
        name = one_line(contact.name)
        note = extras.notes.get(contact.id)
        return {
            "name": name,
            "first_name": name.split(" ")[0],
            "address": one_line(contact.emails[0]),
            "note": one_line(note[1]) if note else "",
            "note_date": one_line(note[0]) if note else "",
            # A reply to the owner, token in the subject, the person's snooze prefilled.
            "snooze_link": mailto(owner, f"Re: Kithkin [{token}]", f"snooze {name} 3w")
            if extras.commands
            else None,
        }

    fading = []
    for item in report.fading[:max_people]:
        entry = person(item.contact)
        entry.update(
            days_since=item.days_since,
            cadence_days=item.cadence.days,
            why=one_line(item.cadence.why()),
            last_subject=one_line(item.last_subject),
        )
        fading.append(entry)
    awaiting = [
        {
            **person(item.contact),
            "days_waiting": item.days_waiting,
            "subject": one_line(item.subject),
        }
        for item in report.awaiting_reply
    ]
    one_sided = [
        {
            **person(item.contact),
            "unanswered": item.unanswered,
            "since": one_line(item.first_unanswered[:10]),
        }
        for item in report.one_sided
    ]
    birthdays = [
        {**person(item.contact), "on": item.on, "in_days": item.in_days, "turning": item.turning}
        for item in report.birthdays
    ]
    return {
        "owner": owner,
        "as_of": report.as_of,
        "token": token,
        "empty": report.is_empty,
        "fading": fading,
        "more_fading": max(0, len(report.fading) - max_people),
        "awaiting": awaiting,
        "one_sided": one_sided,
        "birthdays": birthdays,
        "applied": [one_line(line) for line in extras.applied],
        "not_understood": [(one_line(a), one_line(b)) for a, b in extras.not_understood],
        "commands": extras.commands,
        "set_aside": extras.set_aside,
    }


def build_message(rendered: RenderedSummary, *, owner: str, now: datetime) -> EmailMessage:
    """multipart/alternative, plain text first; every header a fixed string of ours."""
    address = ascii_address(owner)
    message = EmailMessage()
    message["From"] = f"Kithkin <{address}>"
    message["To"] = address
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = summary_message_id(rendered.token)
    message["Auto-Submitted"] = "auto-generated"
    message[SUMMARY_HEADER] = rendered.token
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def week_of(day: date) -> str:
    """ISO week label, e.g. "2026-W48": the unit a summary is sent once per."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
