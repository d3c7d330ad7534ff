"""Waiting for your reply: their newest direct message that nothing of yours answered,
whatever they posted to large threads after it (store/history.py `unanswered`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_analysis import AS_OF, SETTINGS, Book

from kithkin.daemon.core.records import Interaction
from kithkin.daemon.summary.inputs import report_for


@pytest.fixture
def book(tmp_path: Path):
    opened = Book(tmp_path / "k.db")
    yield opened
    opened.store.close()


def waiting(book: Book) -> list[tuple[str, int, str | None]]:
    report = report_for(book.store, AS_OF, SETTINGS)
    return [(a.contact.name, a.days_waiting, a.subject) for a in report.awaiting_reply]


def test_a_post_to_a_large_thread_does_not_hide_a_question(book: Book) -> None:
    ada = book.person("Ada")
    book.mail(ada, 20, "out")
    book.mail(ada, 10, "in", subject="Can you help?")
    book.mail(ada, 5, "in", audience=30, subject="party for the whole team")
    book.mail(ada, 2, "in", audience=12, subject="Re: party")
    assert waiting(book) == [("Ada", 10, "Can you help?")]


def test_what_answers_it_and_what_does_not(book: Book) -> None:
    group = book.person("Group")  # your mail to 40 people is no answer to a direct question
    book.mail(group, 10, "in", subject="question")
    book.mail(group, 5, "out", audience=40)
    replied = book.person("Replied")
    book.mail(replied, 10, "in", subject="question")
    book.mail(replied, 5, "out", audience=3)  # reply-all to a small group answers it
    called = book.person("Called")
    book.mail(called, 10, "in", subject="question")
    book.mail(called, 5, "in", kind="meeting")
    noted = book.person("Not Direct")
    book.mail(noted, 10, "in", audience=4, subject="to four people")
    newer = book.person("Asked Again")
    book.mail(newer, 30, "in", subject="first")
    book.mail(newer, 20, "out")
    book.mail(newer, 8, "in", subject="second")
    assert waiting(book) == [("Group", 10, "question"), ("Asked Again", 8, "second")]


def test_the_newest_direct_message_counts_and_as_of_is_respected(book: Book) -> None:
    ada = book.person("Ada")
    book.mail(ada, 12, "in", subject="older")
    book.mail(ada, 6, "in", subject="newer")
    book.mail(ada, 1, "out")  # after the as-of day below: not yet an answer
    assert waiting(book) == []
    report = report_for(book.store, AS_OF.replace(day=AS_OF.day - 2), SETTINGS)
    assert [(a.days_waiting, a.subject) for a in report.awaiting_reply] == [(4, "newer")]


def test_a_call_logged_for_a_day_answers_that_days_mail_whatever_its_hour(book: Book) -> None:
    """A call or meeting is logged by the day (stored at noon UTC); mail that came later
    that day is answered by it, and mail of the next day is not."""

    def at(days_ago: int, hour: int) -> datetime:
        day = AS_OF - timedelta(days=days_ago)
        return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)

    def incoming(contact: int, when: datetime, subject: str) -> None:
        with book.store.atomic():
            book.store.interactions.add([Interaction(
                contact_id=contact, direction="in", date=when, message_key=f"<{subject}@t>",
                message_id=f"{subject}@t", subject=subject, audience=1, kind="email")])  # fmt: skip

    late = book.person("Late")
    incoming(late, at(5, 18), "evening question")
    book.mail(late, 5, "in", kind="call")  # the same day, stored at noon
    nextday = book.person("Next Day")
    book.mail(nextday, 5, "in", kind="call")
    incoming(nextday, at(4, 1), "after midnight")
    assert waiting(book) == [("Next Day", 4, "after midnight")]
