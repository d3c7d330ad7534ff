"""Who is fading, who waits for a reply, who never answers, whose birthday is near.

Pure: everything is computed "as of" a date passed in, from `AnalysisInputs` (the store's
aggregates, gathered by summary/inputs.py), so a report for a given date is the same whenever
it is run.

Fading: the rhythm is the contact's own `every` if the owner set one, else learned from the
gaps between days with contact (core/rhythm.py), else the configured default when there is
too little history. Fading when the days since you were last in touch, divided by the
overdue gap (the `every` itself when set, the default when there is too little history), are
at least `fading_ratio`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

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
from kithkin.daemon.core.rhythm import MIN_OVERDUE, WINDOW_DAYS, ContactDays, learn
from kithkin.daemon.core.thresholds import AnalysisConfig

__all__ = ["WINDOW_DAYS", "AnalysisConfig", "AnalysisInputs", "analyse", "cadence_for"]


@dataclass(frozen=True)
class AnalysisInputs:
    """What the analysis reads, for one day `as_of` (see summary/inputs.py)."""

    contacts: list[Contact]
    latest: dict[int, dict[str, Any]]  # id -> the newest interaction
    days: dict[int, ContactDays]  # id -> days with contact, for those who may be fading
    subjects: dict[int, str]  # id -> the newest email subject (of those in `days`)
    runs: dict[int, tuple[int, str, str]]  # id -> (count, first, last) unanswered
    unanswered: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> their message


def from_day_number(number: int) -> date:
    return EPOCH + timedelta(days=number)


def cadence_for(
    contact: Contact, days: ContactDays | None, today: int, default_days: int
) -> Cadence:
    """The rhythm in use: the owner's `every`, else the learned one, else the default."""
    if contact.every_days:
        return Cadence(contact.every_days, "set", exchanges=days.weighted if days else 0.0)
    if days is None:
        return Cadence(default_days, "default")
    learned = learn(days, today)
    since = from_day_number(learned.first_day) if learned.first_day is not None else None
    if learned.typical is None or learned.overdue is None:
        return Cadence(default_days, "default", 0, days.weighted, since, learned.gaps)
    return Cadence(learned.typical, "learned", learned.overdue, days.weighted, since, learned.gaps)


def may_be_fading(
    contact: Contact, last: dict[str, Any], today: int, settings: AnalysisConfig
) -> bool:
    """Could this contact be fading as of `today`? Those who cannot need no history read: a
    learned overdue gap is at least `MIN_OVERDUE` days."""
    shortest = contact.every_days or min(MIN_OVERDUE, settings.default_cadence_days)
    days_since: int = today - last["day"]
    return days_since >= settings.fading_ratio * shortest


def is_resting(contact: Contact, as_of: date) -> bool:
    """Muted, or snoozed until a date after `as_of`."""
    return contact.muted or bool(contact.snoozed_until and contact.snoozed_until > str(as_of))


def analyse(
    inputs: AnalysisInputs, as_of: date, settings: AnalysisConfig, *, look_ahead: int = 0
) -> Report:
    """The report as of `as_of`. `look_ahead`: days until the owner looks again (7 for the
    weekly summary), so that no birthday falls between two looks unmentioned."""
    today = day_number(as_of)
    report = Report(as_of=as_of)
    for contact in inputs.contacts:
        if is_resting(contact, as_of):
            continue
        birthday = upcoming_birthday(contact, as_of, settings, look_ahead)
        if birthday:
            report.birthdays.append(birthday)
        last = inputs.latest.get(contact.id)
        if last is None:
            report.never_in_touch.append(contact)
            continue
        fading = fading_of(contact, last, inputs, today, settings)
        if fading:
            report.fading.append(fading)
        waiting = inputs.unanswered.get(contact.id)
        if waiting and today - waiting["day"] > settings.awaiting_reply_days:
            report.awaiting_reply.append(
                Awaiting(contact, waiting["date"], today - waiting["day"], waiting["subject"])
            )
        if contact.id in inputs.runs:
            count, first, newest = inputs.runs[contact.id]
            report.one_sided.append(OneSided(contact, count, first, newest))
    report.fading.sort(key=lambda f: (-f.overdue_ratio, -f.closeness, f.contact.name))
    report.awaiting_reply.sort(key=lambda a: (-a.days_waiting, a.contact.name))
    report.one_sided.sort(key=lambda o: (-o.unanswered, o.contact.name))
    report.birthdays.sort(key=lambda b: (b.in_days, b.contact.name))
    report.never_in_touch.sort(key=lambda c: c.name)
    return report


def fading_of(
    contact: Contact,
    last: dict[str, Any],
    inputs: AnalysisInputs,
    today: int,
    settings: AnalysisConfig,
) -> Fading | None:
    if not may_be_fading(contact, last, today, settings):
        return None
    days = inputs.days.get(contact.id)
    cadence = cadence_for(contact, days, today, settings.default_cadence_days)
    days_since = today - last["day"]
    ratio = days_since / cadence.overdue_days
    if ratio < settings.fading_ratio:
        return None
    return Fading(
        contact=contact,
        last_interaction=last["date"],
        last_kind=last["kind"],
        last_direction=last["direction"],
        days_since=days_since,
        cadence=cadence,
        overdue_ratio=ratio,
        closeness=days.weighted if days else 0.0,
        last_subject=inputs.subjects.get(contact.id),
    )


def upcoming_birthday(
    contact: Contact, as_of: date, settings: AnalysisConfig, look_ahead: int
) -> Birthday | None:
    """Their birthday, if it is within their lead time (`--remind`, else `birthday_days`),
    or falls before the owner looks again."""
    if not contact.birthday:
        return None
    upcoming = next_birthday(contact.birthday, as_of)
    if upcoming is None:
        return None
    lead = contact.remind_days if contact.remind_days is not None else settings.birthday_days
    in_days = (upcoming - as_of).days
    if in_days > max(lead, look_ahead - 1):
        return None
    year = int(contact.birthday[:4]) if contact.birthday[:2] != "--" else None
    turning = upcoming.year - year if year else None
    return Birthday(contact, contact.birthday, upcoming, in_days, turning)


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
