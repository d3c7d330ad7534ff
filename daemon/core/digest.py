"""The weekly summary's list: each person once, with every reason that applies, ordered by
what to do, the most useful action first, and capped.

Order: a birthday within `NEVER_CUT_DAYS` (send wishes; never cut), someone waiting for
your reply (reply), a birthday before the next summary (send wishes), someone fading
(write), a later birthday (send wishes), someone not answering you (write). A person is
placed by the first of these that applies; everything else that applies is said with it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from kithkin.daemon.core.findings import Awaiting, Birthday, Fading, OneSided, Report
from kithkin.daemon.core.records import Contact

NEVER_CUT_DAYS = 3  # a birthday this close is always shown, whatever the cap
NEXT_SUMMARY_DAYS = 7


@dataclass(frozen=True)
class Entry:
    """One person in the summary, with every reason that applies to them."""

    contact: Contact
    birthday: Birthday | None = None
    waiting: Awaiting | None = None
    fading: Fading | None = None
    one_sided: OneSided | None = None

    @property
    def tier(self) -> int:
        """Where the person goes: the first reason that applies (see the module)."""
        if self.birthday and self.birthday.in_days <= NEVER_CUT_DAYS:
            return 0
        if self.waiting:
            return 1
        if self.birthday and self.birthday.in_days < NEXT_SUMMARY_DAYS:
            return 2
        if self.fading:
            return 3
        if self.birthday:
            return 4
        return 5

    @property
    def action(self) -> str:
        """The most useful thing to do: "wishes", "reply" or "write"."""
        return {0: "wishes", 1: "reply", 2: "wishes", 4: "wishes"}.get(self.tier, "write")

    def order(self) -> tuple[int, float, float, str, int]:
        """Sort key: tier, then the soonest birthday, the longest wait, the most overdue (and
        closest), or the most messages unanswered."""
        tier, first, second = self.tier, 0.0, 0.0
        if tier in (0, 2, 4) and self.birthday:
            first = self.birthday.in_days
        elif tier == 1 and self.waiting:
            first = -self.waiting.days_waiting
        elif tier == 3 and self.fading:
            first, second = -self.fading.overdue_ratio, -self.fading.closeness
        elif self.one_sided:
            first = -self.one_sided.unanswered
        return (tier, first, second, self.contact.name.casefold(), self.contact.id)


@dataclass(frozen=True)
class Digest:
    shown: list[Entry]
    more: int  # people left out by the cap (`kithkin report` lists them)
    actions: dict[str, int]  # action -> how many people, shown or not

    @property
    def total(self) -> int:
        return len(self.shown) + self.more


def digest(report: Report, max_people: int) -> Digest:
    """Everyone the report names, once each, in order, at most `max_people` of them (and
    every birthday within NEVER_CUT_DAYS besides)."""
    people: dict[int, Contact] = {}
    for contact in [
        *(item.contact for item in report.birthdays),
        *(item.contact for item in report.awaiting_reply),
        *(item.contact for item in report.fading),
        *(item.contact for item in report.one_sided),
    ]:
        people.setdefault(contact.id, contact)
    birthdays = {item.contact.id: item for item in report.birthdays}
    waiting = {item.contact.id: item for item in report.awaiting_reply}
    fading = {item.contact.id: item for item in report.fading}
    quiet = {item.contact.id: item for item in report.one_sided}
    entries = sorted(
        (
            Entry(contact, birthdays.get(key), waiting.get(key), fading.get(key), quiet.get(key))
            for key, contact in people.items()
        ),
        key=Entry.order,
    )
    keep = max(max_people, sum(1 for entry in entries if entry.tier == 0))
    actions = Counter(entry.action for entry in entries)
    return Digest(entries[:keep], max(0, len(entries) - keep), dict(actions))
