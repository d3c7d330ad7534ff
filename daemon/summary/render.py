"""The weekly summary: a report rendered through the templates into one email to the owner.

Headers are fixed strings built here, never copied from incoming mail: text that came from
other people's mail (subjects) only ever goes into the body, autoescaped in HTML and with
control characters removed in plain text. So nothing from outside can add a header.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from kithkin.daemon.core.digest import Digest, digest
from kithkin.daemon.core.findings import Report
from kithkin.daemon.steering.tokens import summary_message_id
from kithkin.daemon.summary.entries import entry_context, one_line
from kithkin.daemon.summary.environment import environment
from kithkin.daemon.summary.extras import SummaryExtras
from kithkin.daemon.summary.legacy import legacy_context
from kithkin.parsers.addresses import ascii_address

__all__ = ["SUMMARY_HEADER", "RenderedSummary", "build_message", "one_line", "render_summary"]

SUMMARY_HEADER = "X-Kithkin-Summary"


@dataclass(frozen=True)
class RenderedSummary:
    subject: str
    text: str
    html: str
    token: str
    empty: bool


def summary_subject(people: Digest) -> str:
    """Counts only, by what to do: the subject shows on lock screens and in lists."""
    if not people.total:
        return "Kithkin: all good this week"
    reply, write, wishes = (people.actions.get(key, 0) for key in ("reply", "write", "wishes"))
    parts = []
    if reply:
        parts.append(f"{reply} waiting for your reply")
    if write:
        parts.append(f"{write} {'person' if write == 1 else 'people'} to write to")
    if wishes:
        parts.append(f"{wishes} birthday{'s' if wishes != 1 else ''}")
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
    people = digest(report, max_people)
    context = summary_context(report, people, owner=owner, token=token, extras=extras)
    legacy = legacy_context(
        report,
        owner=owner,
        max_people=max_people,
        token=token,
        notes=extras.notes,
        steering=bool(extras.commands),
    )
    context.update(legacy)
    env = environment(template_dir)
    return RenderedSummary(
        subject=summary_subject(people),
        text=env.get_template("summary.txt.j2").render(context),
        html=env.get_template("summary.html.j2").render(context),
        token=token,
        empty=report.is_empty,
    )


def summary_context(
    report: Report, people: Digest, *, owner: str, token: str, extras: SummaryExtras
) -> dict[str, Any]:
    steering = bool(extras.commands)
    entries = [
        entry_context(entry, owner=owner, token=token, notes=extras.notes, steering=steering)
        for entry in people.shown
    ]
    return {
        "owner": owner,
        "as_of": report.as_of,
        "token": token,
        "empty": report.is_empty,
        "people": entries,
        "more": people.more,
        "total": people.total,
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
