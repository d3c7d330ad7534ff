"""Who is fading, who waits for a reply, who never answers, whose birthday is near.

Everything is computed "as of" a date passed in, from aggregates the store computes in SQL,
so a report for a given date is the same whenever it is run.

Cadence: the contact's own `every` if the owner set one. Otherwise it is learned from the
last two years: the span between the first and last day with contact, divided by the number
of such days (minus one), each day weighted by how personal its mail was (a message to at
most three people counts fully, a message to N > 3 people counts 3/N; a day counts at most
once). With fewer than three weighted days of history the configured default applies. The
result is clamped to 7-365 days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from kithkin.daemon.config import AnalysisConfig
from kithkin.daemon.dates import EPOCH, day_number
from kithkin.daemon.store import Contact, Store

WINDOW_DAYS = 730
MIN_HISTORY = 3.0
CADENCE_BOUNDS = (7, 365)


def from_day_number(number: int) -> date:
    return EPOCH + timedelta(days=number)


@dataclass(frozen=True)
class Cadence:
    days: int
    source: str  # "set", "learned" or "default"
    exchanges: float = 0.0  # weighted days with contact in the window
    since: date | None = None

    def why(self) -> str:
        if self.source == "set":
            return f"set by you: every {self.days} days"
        if self.source == "learned" and self.since:
            return (
                f"learned: usually {every(self.days)}, from {round(self.exchanges)} "
                f"exchanges since {self.since:%Y-%m}"
            )
        return f"default: {every(self.days)} (too little history to learn from)"


@dataclass(frozen=True)
class Fading:
    contact: Contact
    last_interaction: str  # ISO 8601 UTC
    last_kind: str
    last_direction: str | None
    days_since: int
    cadence: Cadence
    overdue_ratio: float
    closeness: float
    last_subject: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "contact": self.contact.name,
            "last_interaction": self.last_interaction,
            "days_since": self.days_since,
            "cadence_days": self.cadence.days,
            "cadence_source": self.cadence.source,
            "overdue_ratio": round(self.overdue_ratio, 2),
        }


@dataclass(frozen=True)
class Awaiting:
    contact: Contact
    last_interaction: str
    days_waiting: int
    subject: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "contact": self.contact.name,
            "last_interaction": self.last_interaction,
            "days_waiting": self.days_waiting,
            "subject": self.subject,
        }


@dataclass(frozen=True)
class OneSided:
    contact: Contact
    unanswered: int
    first_unanswered: str
    last_interaction: str

    def as_json(self) -> dict[str, Any]:
        return {
            "contact": self.contact.name,
            "unanswered": self.unanswered,
            "first_unanswered": self.first_unanswered,
            "last_interaction": self.last_interaction,
        }


@dataclass(frozen=True)
class Birthday:
    contact: Contact
    birthday: str
    on: date
    in_days: int
    turning: int | None

    def as_json(self) -> dict[str, Any]:
        return {
            "contact": self.contact.name,
            "birthday": self.birthday,
            "date": self.on.isoformat(),
            "in_days": self.in_days,
            "turning": self.turning,
        }


@dataclass(frozen=True)
class Report:
    as_of: date
    fading: list[Fading] = field(default_factory=list)
    awaiting_reply: list[Awaiting] = field(default_factory=list)
    one_sided: list[OneSided] = field(default_factory=list)
    birthdays: list[Birthday] = field(default_factory=list)
    never_in_touch: list[Contact] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.fading or self.awaiting_reply or self.one_sided or self.birthdays)

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "fading": [item.as_json() for item in self.fading],
            "awaiting_reply": [item.as_json() for item in self.awaiting_reply],
            "one_sided": [item.as_json() for item in self.one_sided],
            "birthdays": [item.as_json() for item in self.birthdays],
            "never_in_touch": [contact.name for contact in self.never_in_touch],
        }


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


def analyse(store: Store, as_of: date, settings: AnalysisConfig) -> Report:
    today = day_number(as_of)
    people = {contact.id: contact for contact in store.contacts()}
    stats = store.history_stats(today - WINDOW_DAYS, today)
    latest = store.latest_interactions(today)
    subjects = store.latest_subjects(today)
    runs = store.unanswered_runs(today, settings.one_sided_count)
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
            and last["audience"] <= 3
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


# --- words for durations ------------------------------------------------------------------


def duration(days: int) -> str:
    """7 -> "1 week", 45 -> "6 weeks", 120 -> "4 months", 800 -> "2 years"."""
    if days < 14:
        return _plural(days, "day")
    if days < 60:
        return _plural(round(days / 7), "week")
    if days < 365:
        return _plural(round(days / 30.4), "month")
    return _plural(round(days / 365), "year")


def every(days: int) -> str:
    text = duration(days)
    return "every " + (text.removeprefix("1 "))


def ago(days: int) -> str:
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    return f"{duration(days)} ago"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
