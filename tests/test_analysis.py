"""The analysis, with a real SQLite store and interactions placed on known days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from kithkin.daemon.config import AnalysisConfig
from kithkin.daemon.core.analysis import next_birthday
from kithkin.daemon.core.records import Interaction
from kithkin.daemon.core.wording import ago, duration, every
from kithkin.daemon.store import Store
from kithkin.daemon.summary.inputs import report_for as analyse

AS_OF = date(2026, 11, 23)
SETTINGS = AnalysisConfig()


class Book:
    """A store plus shorthand for logging mail on given days before AS_OF."""

    def __init__(self, path: Path) -> None:
        self.store = Store.open(path)
        self.serial = 0

    def person(self, name: str, **options) -> int:
        with self.store.atomic():
            return self.store.contacts.add(
                name, [f"{name.lower().replace(' ', '.')}@example.org"], now=_at(AS_OF), **options
            )

    def mail(self, contact: int, days_ago: int, direction: str, *, audience: int = 1,
             subject: str | None = None, kind: str = "email") -> None:  # fmt: skip
        self.serial += 1
        with self.store.atomic():
            self.store.interactions.add(
                [
                    Interaction(
                        contact_id=contact,
                        direction=direction if kind == "email" else None,
                        date=_at(AS_OF - timedelta(days=days_ago)),
                        message_key=f"<k{self.serial}@test>" if kind == "email" else None,
                        message_id=f"k{self.serial}@test",
                        subject=subject or f"message {self.serial}",
                        audience=audience,
                        kind=kind,
                    )
                ]
            )

    def every_days(self, contact: int, gap: int, *, first: int, last: int, **kw) -> None:
        """Mail every `gap` days, the newest `last` days ago, none before `first`, alternating."""
        for n, days_ago in enumerate(range(last, first + 1, gap)):
            self.mail(contact, days_ago, "in" if n % 2 else "out", **kw)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)


@pytest.fixture
def book(tmp_path: Path) -> Book:
    b = Book(tmp_path / "k.db")
    yield b
    b.store.close()


def names(items) -> list[str]:
    return [item.contact.name for item in items]


def test_cadence_is_learned_from_history_and_fading_is_overdue(book: Book) -> None:
    weekly = book.person("Weekly Friend")
    book.every_days(weekly, 7, first=400, last=28)  # weekly for a year, silent for 4 weeks
    fine = book.person("Still Fine")
    book.every_days(fine, 7, first=400, last=3)
    report = analyse(book.store, AS_OF, SETTINGS)
    assert names(report.fading) == ["Weekly Friend"]
    item = report.fading[0]
    assert item.cadence.source == "learned"
    assert (item.cadence.days, item.cadence.overdue_days) == (7, 11)  # typical, overdue
    assert item.days_since == 28
    assert item.overdue_ratio == pytest.approx(28 / 11)
    assert item.why() == "You are usually in touch every 7 days; it has been 4 weeks."


def test_a_cadence_the_owner_set_wins(book: Book) -> None:
    ann = book.person("Ann", every_days=30)
    book.every_days(ann, 7, first=400, last=20)
    report = analyse(book.store, AS_OF, SETTINGS)
    assert report.fading == []  # 20 days < 30
    json_item = analyse(book.store, AS_OF + timedelta(days=15), SETTINGS).fading[0].as_json()
    assert json_item == {
        "contact": "Ann",
        "last_interaction": "2026-11-03T12:00:00Z",
        "days_since": 35,
        "cadence_days": 30,
        "cadence_source": "set",
        "overdue_days": 30,
        "overdue_ratio": 1.17,
    }


def test_fading_is_ranked_by_ratio_then_closeness(book: Book) -> None:
    close = book.person("Close")
    book.every_days(close, 10, first=300, last=40)  # ratio 4.0, many exchanges
    distant = book.person("Distant")
    book.every_days(distant, 20, first=300, last=80)  # ratio 4.0, fewer exchanges
    worst = book.person("Worst")
    book.every_days(worst, 10, first=300, last=100)  # ratio 10
    report = analyse(book.store, AS_OF, SETTINGS)
    assert names(report.fading) == ["Worst", "Close", "Distant"]


def test_large_recipient_lists_count_little(book: Book) -> None:
    """Colleagues on a busy 40-person thread do not look like close friends."""
    friend = book.person("Friend")
    book.every_days(friend, 14, first=300, last=42)  # ratio 3
    colleague = book.person("Colleague")
    book.every_days(colleague, 3, first=300, last=42, audience=40)  # busy thread
    report = analyse(book.store, AS_OF, SETTINGS)
    # Unweighted, the colleague's 3-day rhythm would make them 14x overdue and first.
    assert names(report.fading) == ["Friend"]
    weighted = book.store.history.stats(0, 100_000)
    assert weighted[colleague][2] < 10 < weighted[friend][2]


def test_awaiting_reply_and_its_threshold(book: Book) -> None:
    waiting = book.person("Waiting")
    book.mail(waiting, 10, "out")
    book.mail(waiting, 5, "in", subject="Can you help?")
    fresh = book.person("Fresh")
    book.mail(fresh, 3, "in")  # exactly 3 days: not yet
    answered = book.person("Answered")
    book.mail(answered, 9, "in")
    book.mail(answered, 8, "out")
    crowd = book.person("Crowd")
    book.mail(crowd, 9, "in", audience=30)  # a message to 30 people awaits nobody's reply
    called = book.person("Called")
    book.mail(called, 9, "in")
    book.mail(called, 2, "in", kind="call")
    report = analyse(book.store, AS_OF, SETTINGS)
    assert [(a.contact.name, a.days_waiting, a.subject) for a in report.awaiting_reply] == [
        ("Waiting", 5, "Can you help?")
    ]
    assert report.awaiting_reply[0].as_json()["days_waiting"] == 5


def test_one_sided_needs_three_unanswered_personal_messages(book: Book) -> None:
    ignored = book.person("Ignored")
    book.mail(ignored, 60, "in")
    for days_ago in (40, 30, 20):
        book.mail(ignored, days_ago, "out")
    two = book.person("Two")
    book.mail(two, 30, "out")
    book.mail(two, 20, "out")
    answered = book.person("Answered")
    for days_ago in (40, 30, 20):
        book.mail(answered, days_ago, "out")
    book.mail(answered, 10, "in")
    report = analyse(book.store, AS_OF, SETTINGS)
    assert [(o.contact.name, o.unanswered) for o in report.one_sided] == [("Ignored", 3)]


@pytest.mark.parametrize(
    ("birthday", "as_of", "expected"),
    [
        ("1990-11-25", date(2026, 11, 23), date(2026, 11, 25)),
        ("--11-23", date(2026, 11, 23), date(2026, 11, 23)),
        ("--01-02", date(2026, 12, 30), date(2027, 1, 2)),
        ("2000-02-29", date(2027, 2, 20), date(2027, 2, 28)),
        ("2000-02-29", date(2028, 2, 20), date(2028, 2, 29)),
    ],
)
def test_next_birthday(birthday: str, as_of: date, expected: date) -> None:
    assert next_birthday(birthday, as_of) == expected


def test_birthdays_in_the_next_two_weeks(book: Book) -> None:
    book.person("Soon", birthday="1990-11-30")
    book.person("Today", birthday="--11-23")
    book.person("Later", birthday="1990-12-08")  # 15 days
    report = analyse(book.store, AS_OF, SETTINGS)
    assert [(b.contact.name, b.in_days, b.turning) for b in report.birthdays] == [
        ("Today", 0, None),
        ("Soon", 7, 36),
    ]


def test_snoozed_and_muted_people_are_left_out(book: Book) -> None:
    snoozed = book.person("Snoozed", birthday="--11-24")
    book.every_days(snoozed, 7, first=300, last=60)
    muted = book.person("Muted")
    book.every_days(muted, 7, first=300, last=60)
    woke = book.person("Woke")
    book.every_days(woke, 7, first=300, last=60)
    with book.store.atomic():
        book.store.contacts.set_attention(snoozed, snoozed_until="2026-12-01")
    with book.store.atomic():
        book.store.contacts.set_attention(muted, muted=True)
    with book.store.atomic():
        book.store.contacts.set_attention(
            woke, snoozed_until="2026-11-23"
        )  # until today: back today
    report = analyse(book.store, AS_OF, SETTINGS)
    assert names(report.fading) == ["Woke"]
    assert report.birthdays == []


def test_as_of_ignores_what_came_later(book: Book) -> None:
    ann = book.person("Ann")
    book.every_days(ann, 7, first=400, last=50)
    book.mail(ann, 1, "in")  # after the as-of date below
    earlier = AS_OF - timedelta(days=10)
    first = analyse(book.store, earlier, SETTINGS).as_json()
    book.mail(ann, 2, "out")
    assert analyse(book.store, earlier, SETTINGS).as_json() == first
    assert first["fading"][0]["days_since"] == 40


def test_people_never_in_touch_are_listed_apart(book: Book) -> None:
    book.person("New Friend")
    report = analyse(book.store, AS_OF, SETTINGS)
    assert report.fading == []
    assert [c.name for c in report.never_in_touch] == ["New Friend"]
    assert report.as_json()["never_in_touch"] == ["New Friend"]


@pytest.mark.parametrize(
    ("days", "words"),
    [(0, "today"), (1, "yesterday"), (5, "5 days ago"), (21, "3 weeks ago"),
     (70, "2 months ago"), (800, "2 years ago")],
)  # fmt: skip
def test_ago(days: int, words: str) -> None:
    assert ago(days) == words


def test_every_and_duration() -> None:
    assert (every(7), every(21), every(30), every(365)) == (
        "every 7 days", "every 3 weeks", "every 4 weeks", "every year",
    )  # fmt: skip
    assert duration(1) == "1 day"


def test_report_cli_json_shape(run_cli, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "k.db"}"\n')
    book = Book(tmp_path / "k.db")
    ann = book.person("Ann", birthday="--11-30")
    book.every_days(ann, 7, first=200, last=30)
    book.mail(ann, 5, "in", subject="news")
    book.store.close()
    result = run_cli("--config", str(config), "report", "--json", "--as-of", "2026-11-23")
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.stdout)
    assert set(data) == {"as_of", "fading", "awaiting_reply", "one_sided", "birthdays",
                         "never_in_touch"}  # fmt: skip
    assert data["awaiting_reply"][0]["contact"] == "Ann"
    assert data["awaiting_reply"][0]["days_waiting"] == 5
    assert data["birthdays"][0] == {
        "contact": "Ann", "birthday": "--11-30", "date": "2026-11-30", "in_days": 7,
        "turning": None,
    }  # fmt: skip
    text = run_cli("--config", str(config), "report", "--as-of", "2026-11-23")
    assert "Waiting for your reply:" in text.stdout and "Ann: 5 days" in text.stdout
    bad = run_cli("--config", str(config), "report", "--as-of", "23/11/2026")
    assert bad.exit_code == 2 and "not a date" in bad.stderr
