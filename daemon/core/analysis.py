"""Who is fading, who waits for a reply, who never answers, whose birthday is near.

Pure: everything is computed "as of" a date passed in, from `AnalysisInputs` (the store's
aggregates, gathered by summary/inputs.py), so a report for a given date is the same whenever
it is run.

Cadence: the contact's own `every` if the owner set one. Otherwise it is learned from the
last two years: the span between the first and last day with contact, divided by the number
of such days (minus one), each day weighted by how personal its mail was (a message to at
most three people counts fully, a message to N > 3 people counts 3/N; a day counts at most
once). With fewer than three weighted days of history the configured default applies. The
result is clamped to 7-365 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from kithkin.daemon.core.audience import is_personal
from kithkin.daemon.core.dates import EPOCH, day_number
from kithkin.daemon.core.findings import (
    Awaiting,
    Birthday,
    Cadence,
    Fading,
    OneSided,
    Report,
)
from kithkin.daemon.core.records import Contact

WINDOW_DAYS = 730
MIN_HISTORY = 3.0
CADENCE_BOUNDS = (7, 365)


@dataclass(frozen=True)
class AnalysisConfig:
    """The thresholds of `[analysis]` (config/loading.py reads and checks them)."""

    default_cadence_days: int = 60
    fading_ratio: float = 1.0
    awaiting_reply_days: int = 3
    one_sided_count: int = 3
    birthday_days: int = 14


@dataclass(frozen=True)
class AnalysisInputs:
    """What the analysis reads, for one day `as_of` (see summary/inputs.py)."""

    contacts: list[Contact]
    stats: dict[int, tuple[int, int, float]]  # id -> (first day, last day, weighted days)
    latest: dict[int, dict[str, Any]]  # id -> the newest interaction
    subjects: dict[int, str]  # id -> the newest email subject
    runs: dict[int, tuple[int, str, str]]  # id -> (count, first, last) unanswered


def from_day_number(number: int) -> date:
    return EPOCH + timedelta(days=number)


def learn_cadence(
    contact: Contact, stats: tuple[int, int, float] | None, default_days: int
) -> Cadence:
    if contact.every_days:
        return Cadence(contact.every_days, "set")
    if stats is None:
        return Cadence(default_days, "default")
    first, last, weighted = stats
    if weighted < MIN_HISTORY or last <= first:
        return Cadence(default_days, "default", weighted, from_day_number(first))
    low, high = CADENCE_BOUNDS
    days = round((last - first) / (weighted - 1))
    return Cadence(min(high, max(low, days)), "learned", weighted, from_day_number(first))


def is_resting(contact: Contact, as_of: date) -> bool:
    """Muted, or snoozed until a date after `as_of`."""
    return contact.muted or bool(contact.snoozed_until and contact.snoozed_until > str(as_of))


def analyse(inputs: AnalysisInputs, as_of: date, settings: AnalysisConfig) -> Report:
    today = day_number(as_of)
    people = {contact.id: contact for contact in inputs.contacts}
    stats, latest, subjects, runs = inputs.stats, inputs.latest, inputs.subjects, inputs.runs
    report = Report(as_of=as_of)
    for contact_id, contact in people.items():
        if is_resting(contact, as_of):
            continue
        last = latest.get(contact_id)
        if last is None:
            report.never_in_touch.append(contact)
            continue
        days_since = today - last["day"]
        cadence = learn_cadence(contact, stats.get(contact_id), settings.default_cadence_days)
        ratio = days_since / cadence.days
        if ratio >= settings.fading_ratio:
            report.fading.append(
                Fading(
                    contact=contact,
                    last_interaction=last["date"],
                    last_kind=last["kind"],
                    last_direction=last["direction"],
                    days_since=days_since,
                    cadence=cadence,
                    overdue_ratio=ratio,
                    closeness=stats.get(contact_id, (0, 0, 0.0))[2],
                    last_subject=subjects.get(contact_id),
                )
            )
        if (
            last["direction"] == "in"
            and last["kind"] == "email"
            and is_personal(last["audience"])
            and days_since > settings.awaiting_reply_days
        ):
            report.awaiting_reply.append(
                Awaiting(contact, last["date"], days_since, last["subject"])
            )
        if contact_id in runs:
            count, first, newest = runs[contact_id]
            report.one_sided.append(OneSided(contact, count, first, newest))
    for contact in people.values():
        if not is_resting(contact, as_of) and contact.birthday:
            upcoming = next_birthday(contact.birthday, as_of)
            if upcoming and (upcoming - as_of).days <= settings.birthday_days:
                year = int(contact.birthday[:4]) if contact.birthday[:2] != "--" else None
                report.birthdays.append(
                    Birthday(
                        contact,
                        contact.birthday,
                        upcoming,
                        (upcoming - as_of).days,
                        upcoming.year - year if year else None,
                    )
                )
    report.fading.sort(key=lambda f: (-f.overdue_ratio, -f.closeness, f.contact.name))
    report.awaiting_reply.sort(key=lambda a: (-a.days_waiting, a.contact.name))
    report.one_sided.sort(key=lambda o: (-o.unanswered, o.contact.name))
    report.birthdays.sort(key=lambda b: (b.in_days, b.contact.name))
    report.never_in_touch.sort(key=lambda c: c.name)
    return report


def next_birthday(birthday: str, as_of: date) -> date | None:
    """The next occurrence on or after `as_of`; 29 February falls on the 28th in other years."""
    try:
        month, day = int(birthday[-5:-3]), int(birthday[-2:])
    except ValueError:
        return None
    for year in (as_of.year, as_of.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = date(year, month, day - 1)
        if candidate >= as_of:
            return candidate
    return None
