"""What the analysis finds, as records: the cadence in use and why, and who is fading,
waiting for a reply, not answering, or has a birthday near."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kithkin.daemon.core.records import Contact
from kithkin.daemon.core.wording import every


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
