"""The summary's list (core/digest.py): each person once, ordered by what to do, capped."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kithkin.daemon.core.digest import digest
from kithkin.daemon.core.findings import Awaiting, Birthday, Cadence, Fading, OneSided, Report
from kithkin.daemon.core.records import Contact
from kithkin.daemon.summary.entries import entry_context

AS_OF = date(2026, 11, 23)


def person(n: int, name: str | None = None) -> Contact:
    return Contact(n, name or f"Person {n}", (f"p{n}@example.org",))


def birthday(contact: Contact, in_days: int) -> Birthday:
    return Birthday(contact, "--12-01", AS_OF + timedelta(days=in_days), in_days, None)


def waiting(contact: Contact, days: int = 8) -> Awaiting:
    return Awaiting(contact, "2026-11-15T10:00:00Z", days, "Can you help?")


def fading(contact: Contact, ratio: float = 2.0, closeness: float = 5.0) -> Fading:
    cadence = Cadence(21, "learned", 32)
    days = round(ratio * 32)
    return Fading(contact, "2026-10-01T10:00:00Z", "email", "out", days, cadence, ratio,
                  closeness, "lunch?")  # fmt: skip


def quiet(contact: Contact) -> OneSided:
    return OneSided(contact, 3, "2026-10-01T10:00:00Z", "2026-11-01T10:00:00Z")


def names(report: Report, max_people: int = 7) -> list[str]:
    return [entry.contact.name for entry in digest(report, max_people).shown]


def test_each_person_once_with_every_reason() -> None:
    ada = person(1, "Ada")
    report = Report(AS_OF, fading=[fading(ada)], awaiting_reply=[waiting(ada)],
                    one_sided=[quiet(ada)], birthdays=[birthday(ada, 10)])  # fmt: skip
    (entry,) = digest(report, 7).shown
    assert (entry.fading, entry.waiting, entry.one_sided, entry.birthday) == (
        report.fading[0], report.awaiting_reply[0], report.one_sided[0], report.birthdays[0]
    )  # fmt: skip
    assert entry.action == "reply"
    lines = entry_context(entry, owner="me@x.example", token="t", notes={}, steering=False)
    assert lines["lines"] == [
        "Waiting for your reply for 8 days: \u201cCan you help?\u201d",
        "Birthday on Thursday 3 December, in 10 days.",  # said with it, not a second entry
        "You are usually in touch every 3 weeks; it has been 2 months.",
        "Your last 3 messages since 1 October 2026 got no reply.",
    ]
    assert lines["action_label"] == "Reply"
    assert lines["action_href"] == "mailto:p1@example.org?subject=Re%3A%20Can%20you%20help%3F"


def test_ordered_by_what_to_do() -> None:
    people = [person(n) for n in range(1, 8)]
    report = Report(
        AS_OF,
        birthdays=[birthday(people[0], 12), birthday(people[1], 5), birthday(people[2], 2)],
        awaiting_reply=[waiting(people[3], 4), waiting(people[4], 9)],
        fading=[fading(people[5], 1.5), fading(people[6], 3.0), fading(people[1], 9.0)],
        one_sided=[quiet(person(8))],
    )
    assert names(report, 10) == [
        "Person 3",  # birthday in 2 days: send wishes first
        "Person 5", "Person 4",  # waiting for your reply, the longest wait first
        "Person 2",  # birthday before the next summary (and fading too)
        "Person 7", "Person 6",  # fading, the most overdue first
        "Person 1",  # a birthday in 12 days: next week's summary mentions it again
        "Person 8",  # not answering you
    ]  # fmt: skip
    actions = [entry.action for entry in digest(report, 10).shown]
    assert actions == ["wishes", "reply", "reply", "wishes", "write", "write", "wishes", "write"]


def test_fading_ties_go_to_the_closer_person() -> None:
    report = Report(AS_OF, fading=[fading(person(1), 2.0, 3.0), fading(person(2), 2.0, 9.0)])
    assert names(report) == ["Person 2", "Person 1"]


def test_the_cap_covers_everything() -> None:
    report = Report(
        AS_OF,
        awaiting_reply=[waiting(person(n)) for n in range(1, 4)],
        fading=[fading(person(n)) for n in range(4, 9)],
        birthdays=[birthday(person(9), 10)],
    )
    result = digest(report, 4)
    assert (len(result.shown), result.more, result.total) == (4, 5, 9)
    assert result.actions == {"reply": 3, "write": 5, "wishes": 1}  # counted, shown or not


@pytest.mark.parametrize("in_days", [0, 1, 3])
def test_birthdays_within_three_days_are_never_cut(in_days: int) -> None:
    soon = [birthday(person(n), in_days) for n in range(1, 4)]
    report = Report(AS_OF, birthdays=[*soon, birthday(person(4), 4)],
                    awaiting_reply=[waiting(person(5))])  # fmt: skip
    result = digest(report, 1)
    assert names(report, 1) == ["Person 1", "Person 2", "Person 3"]
    assert result.more == 2


def test_a_birthday_four_days_away_can_be_cut() -> None:
    report = Report(AS_OF, birthdays=[birthday(person(1), 4)], awaiting_reply=[waiting(person(2))])
    assert names(report, 1) == ["Person 2"]


def test_entry_wording_for_birthdays() -> None:
    ada = person(1, "Ada Lovelace")
    today = Birthday(ada, "1990-11-23", AS_OF, 0, 36)
    tomorrow = Birthday(ada, "--11-24", AS_OF + timedelta(days=1), 1, None)
    for item, line in (
        (today, "Birthday today (turns 36)!"),
        (tomorrow, "Birthday tomorrow, Tuesday 24 November."),
    ):
        (entry,) = digest(Report(AS_OF, birthdays=[item]), 7).shown
        shown = entry_context(entry, owner="me@x.example", token="t", notes={}, steering=True)
        assert shown["lines"] == [line]
        assert shown["action_label"] == "Send wishes"
        assert shown["action_href"] == "mailto:p1@example.org?subject=Happy%20birthday%21"
        assert shown["snooze_link"].startswith("mailto:me@x.example?subject=Re%3A%20Kithkin")
