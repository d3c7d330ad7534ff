"""What the analysis finds, as records: the cadence in use and why, and who is fading,
waiting for a reply, not answering, or has a birthday near."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kithkin.daemon.core.records import Contact
from kithkin.daemon.core.wording import as_long_as, duration, every


@dataclass(frozen=True)
class Cadence:
    """The rhythm in use for one person, and where it comes from (core/rhythm.py)."""

    days: int  # the typical gap; or the `--every` the owner set; or the configured default
    source: str  # "set", "learned" or "default"
    overdue: int = 0  # fading starts past this many days; 0: at `days` (set and default)
    exchanges: float = 0.0  # days with contact in the window, weighted by audience
    since: date | None = None  # the first day of contact in the window
    gaps: int = 0  # the gaps it was learned from

    @property
    def overdue_days(self) -> int:
        return self.overdue or self.days

    def why(self, days_since: int) -> str:
        """Why this person is fading, in plain words."""
        if self.source == "set":
            return f"You set every {self.days} days; it has been {days_since} days."
        if self.source == "learned":
            return (
                f"You are usually in touch {every(self.days)}; "
                f"it has been {as_long_as(days_since, self.days)}."
            )
        return (
            f"It has been {duration(days_since)}; Kithkin reminds you {every(self.days)} "
            "until it knows your rhythm."
        )

    def fading_after(self, fading_ratio: float = 1.0) -> int:
        """The first whole number of days without contact that counts as fading: `[analysis]
        fading_ratio` times the overdue gap (core/analysis.py `fading_of`)."""
        return max(1, math.ceil(round(fading_ratio * self.overdue_days, 6)))

    def describe(self, fading_ratio: float = 1.0) -> str:
        """The rhythm with its figures, for `kithkin show`."""
        after = self.fading_after(fading_ratio)
        if self.source == "set":
            fading = "" if after == self.days else f", fading after {after} days"
            return f"set by you: every {self.days} days{fading}"
        if self.source == "learned":
            since = f" since {self.since:%Y-%m}" if self.since else ""
            return (
                f"usually {every(self.days)}, fading after {after} days without "
                f"contact (learned from {self.gaps} gaps{since})"
            )
        fading = "" if after == self.days else f", fading after {after} days"
        return f"default: {every(self.days)}{fading} (too little history to learn from)"


@dataclass(frozen=True)
class Fading:
    contact: Contact
    last_interaction: str  # ISO 8601 UTC
    last_kind: str
    last_direction: str | None
    days_since: int
    cadence: Cadence
    overdue_ratio: float  # days_since / the overdue gap
    closeness: float
    last_subject: str | None

    def why(self) -> str:
        return self.cadence.why(self.days_since)

    def as_json(self) -> dict[str, Any]:
        return {
            "contact": self.contact.name,
            "last_interaction": self.last_interaction,
            "days_since": self.days_since,
            "cadence_days": self.cadence.days,
            "cadence_source": self.cadence.source,
            "overdue_days": self.cadence.overdue_days,
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
