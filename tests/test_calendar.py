"""Meetings from calendar files: .ics files and vdirs written here, read into a real store.

Every calendar is written by the test as a client would write it (icsbuilder.py); the
store is the real SQLite file, searched byte by byte where privacy is the point.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import ME
from icsbuilder import calendar, event, write_vdir

from kithkin.daemon import book
from kithkin.daemon.calendar.files import MAX_FILE_BYTES
from kithkin.daemon.calendar.reader import CalendarMemo, CalendarReport, read_calendars
from kithkin.daemon.config.calendar import CalendarConfig
from kithkin.daemon.core.audience import weight
from kithkin.daemon.core.dates import day_number
from kithkin.daemon.core.records import Interaction
from kithkin.daemon.store import Store

NOW = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
ADA, BOB = "ada@example.org", "bob@example.org"
LA = "America/Los_Angeles"


class Setup:
    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.store = Store.open(tmp_path / "kithkin.db")
        with self.store.atomic():
            self.ada = self.store.contacts.add("Ada", [ADA, "ada@work.example"], now=NOW)
            self.bob = self.store.contacts.add("Bob", [BOB], now=NOW)
        self.warnings: list[str] = []

    def read(
        self, *sources: Path, now: datetime = NOW, force: bool = False, **settings: Any
    ) -> CalendarReport:
        return read_calendars(
            self.store,
            CalendarConfig(sources=sources, **settings),
            [ME],
            BERLIN,
            now,
            force=force,
            warn=self.warnings.append,
        )

    def file(self, name: str, *events: str) -> Path:
        path = self.dir / name
        path.write_bytes(calendar(*events))
        return path

    def meetings(self, contact_id: int | None = None) -> list[dict[str, Any]]:
        rows = self.store.interactions.list(contact_id)
        return sorted((r for r in rows if r["kind"] == "meeting"), key=lambda r: r["date"])

    def dates(self, contact_id: int | None = None) -> list[str]:
        return [row["date"] for row in self.meetings(contact_id)]


@pytest.fixture
def s(tmp_path: Path):
    setup = Setup(tmp_path)
    yield setup
    setup.store.close()


def test_a_weekly_meeting_with_a_moved_occurrence_and_an_exdate(s: Setup) -> None:
    start = datetime(2026, 2, 23, 10, 0)  # Mondays, 10:00 in Los Angeles
    weekly = event(
        "weekly-1",
        start,
        tzid=LA,
        rrule="FREQ=WEEKLY;COUNT=8",
        attendees=[ADA],
        exdates=[datetime(2026, 3, 9, 10, 0)],
        summary="Weekly",
    )
    moved = event(
        "weekly-1",
        datetime(2026, 3, 18, 15, 0),
        tzid=LA,
        attendees=[ADA],
        recurrence_id=datetime(2026, 3, 16, 10, 0),
        summary="Weekly (moved)",
    )
    report = s.read(s.file("team.ics", weekly, moved))
    assert report.logged == 4
    assert s.dates(s.ada) == [
        "2026-02-23T18:00:00Z",  # PST: UTC-8
        "2026-03-02T18:00:00Z",
        # 9 March: the EXDATE; 16 March moved to Wednesday the 18th, 15:00 (PDT: UTC-7)
        "2026-03-18T22:00:00Z",
        "2026-03-23T17:00:00Z",
    ]
    assert [row["subject"] for row in s.meetings(s.ada)][2] == "Weekly (moved)"
    # 30 March and later have not started yet on 25 March
    later = s.read(s.file("team.ics", weekly, moved), now=datetime(2026, 4, 14, 12, 0, tzinfo=UTC))
    assert later.logged == 3  # 30 March, 6 and 13 April
    assert len(s.dates(s.ada)) == 7


def test_an_occurrence_moved_after_it_was_logged_is_not_logged_again(s: Setup) -> None:
    weekly = event(
        "w", datetime(2026, 3, 2, 9, 0, tzinfo=UTC), rrule="FREQ=WEEKLY;COUNT=3", attendees=[ADA]
    )
    s.read(s.file("w.ics", weekly))
    assert len(s.dates(s.ada)) == 3
    moved = event(
        "w",
        datetime(2026, 3, 4, 9, 0, tzinfo=UTC),
        attendees=[ADA],
        recurrence_id=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )
    assert s.read(s.file("w.ics", weekly, moved)).logged == 0  # the same occurrence
    assert s.dates(s.ada)[0] == "2026-03-02T09:00:00Z"  # as first logged


def test_an_occurrence_logs_once_it_has_started_though_the_file_never_changed(s: Setup) -> None:
    path = s.file("a.ics", event("soon", datetime(2026, 3, 26, 9, 0, tzinfo=UTC), attendees=[ADA]))
    assert s.read(path).logged == 0  # tomorrow
    assert not s.read(path, now=NOW + timedelta(hours=12)).sources[0].read  # not due yet
    after = s.read(path, now=datetime(2026, 3, 26, 9, 30, tzinfo=UTC))
    assert after.sources[0].read and after.logged == 1
    assert s.dates(s.ada) == ["2026-03-26T09:00:00Z"]


def test_late_evening_in_los_angeles_is_the_next_utc_day_as_the_store_counts_days(
    s: Setup,
) -> None:
    """23:30 in Los Angeles on 10 March 2026 is 06:30 UTC on the 11th: the store's days are
    UTC days (a mail sent then is on the 11th too), and the meeting lands on the 11th."""
    late = datetime(2026, 3, 10, 23, 30)
    named = event("la-named", late, tzid=LA, attendees=[ADA])  # with its VTIMEZONE
    s.read(s.file("la.ics", named))
    iana_only = s.dir / "iana.ics"  # a TZID with no VTIMEZONE: the IANA zone of that name
    iana_only.write_bytes(calendar(event("la-iana", late, tzid=LA, attendees=[BOB]), timezones=""))
    s.read(iana_only)
    assert s.dates(s.ada) == s.dates(s.bob) == ["2026-03-11T06:30:00Z"]
    day = s.store.history.days(
        day_number(date(2026, 3, 1)), day_number(date(2026, 3, 31)), [s.ada]
    )[s.ada]
    assert day.whole == [day_number(date(2026, 3, 11))]


def test_floating_times_are_in_the_owners_zone_and_utc_stays_utc(s: Setup) -> None:
    floating = event("floating", datetime(2026, 3, 10, 9, 0), attendees=[ADA])
    utc = event("utc", datetime(2026, 3, 12, 9, 0, tzinfo=UTC), attendees=[ADA])
    s.read(s.file("f.ics", floating, utc))
    assert s.dates(s.ada) == ["2026-03-10T08:00:00Z", "2026-03-12T09:00:00Z"]  # Berlin: UTC+1


def test_all_day_events_are_dated_like_what_is_logged_by_hand(s: Setup) -> None:
    s.read(s.file("d.ics", event("offsite", date(2026, 3, 10), attendees=[ADA])))
    book.log_manual(s.store, s.store.contacts.get(s.bob), "meeting", date(2026, 3, 10), None)
    by_hand = [r for r in s.store.interactions.list(s.bob) if r["kind"] == "meeting"]
    assert s.dates(s.ada) == [by_hand[0]["date"]] == ["2026-03-10T12:00:00Z"]
    assert s.store.history.days(0, 30000, [s.ada])[s.ada].whole == [day_number(date(2026, 3, 10))]


def test_who_was_there(s: Setup) -> None:
    day = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    s.read(
        s.file(
            "who.ics",
            event("declined", day, attendees=[(ADA, "DECLINED"), BOB]),
            event("you-declined", day, organizer=ADA, attendees=[(ME, "DECLINED"), BOB]),
            event("organised-by-ada", day + timedelta(days=1), organizer=ADA, attendees=[ME]),
            event("not-yours", day, organizer=ADA, attendees=[BOB]),  # a shared calendar
            event(
                "room",
                day + timedelta(days=2),
                attendees=[ADA, "room1@example.org"],
                extra="ATTENDEE;CUTYPE=ROOM:mailto:room2@example.org",
            ),
            event("cancelled", day, attendees=[ADA], status="CANCELLED"),
            event("delegated", day, attendees=[(ADA, "DELEGATED"), "carol@example.org"]),
        )
    )
    ada = {row["date"]: row for row in s.meetings(s.ada)}
    assert sorted(ada) == [
        "2026-03-03T10:00:00Z",  # she organised it, you were invited
        "2026-03-04T10:00:00Z",  # with a room: the room is a person only if not marked
    ]
    assert [row["date"] for row in s.meetings(s.bob)] == ["2026-03-02T10:00:00Z"]  # Ada declined
    assert ada["2026-03-04T10:00:00Z"]["audience"] == 2  # Ada and room1 (unmarked); not room2


def test_the_owners_alias_counts_as_the_owner(tmp_path: Path) -> None:
    s = Setup(tmp_path)
    day = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
    path = s.file(
        "alias.ics",
        event(
            "alias", day, organizer="me.alias@old-job.example", attendees=[ADA, "ada@work.example"]
        ),
    )
    read_calendars(
        s.store, CalendarConfig(sources=(path,)), [ME, "me.alias@old-job.example"], BERLIN, NOW
    )
    rows = s.meetings(s.ada)
    assert [(r["date"], r["audience"]) for r in rows] == [("2026-03-05T10:00:00Z", 1)]  # 1 Ada
    s.store.close()


def test_reading_again_logs_nothing_twice(s: Setup) -> None:
    weekly = event(
        "w", datetime(2026, 1, 5, 10, 0, tzinfo=UTC), rrule="FREQ=WEEKLY", attendees=[ADA, BOB]
    )
    team = s.file("team.ics", weekly)
    vdir = write_vdir(s.dir / "work", {"w": weekly})  # the same event in a second source
    first = s.read(team, vdir)
    assert first.logged == 2 * 12  # 12 Mondays from 5 January to 23 March, with Ada and Bob
    os.utime(team, ns=(1, 1))  # changed: read again
    again = s.read(team, vdir, force=True)
    assert [r.read for r in again.sources] == [True, True] and again.logged == 0
    assert len(s.meetings()) == 24
    unchanged = s.read(team, vdir)
    assert [r.read for r in unchanged.sources] == [False, False]


def test_events_without_a_uid_are_told_apart_by_title_and_start(s: Setup) -> None:
    day = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    lunch, call = (event("", day, attendees=[ADA], summary=title) for title in ("Lunch", "Call"))
    path = s.file("no-uid.ics", lunch.replace("UID:\n", ""), call.replace("UID:\n", ""))
    assert b"UID" not in path.read_bytes()
    assert s.read(path).logged == 2
    assert s.read(path, force=True).logged == 0


def test_with_a_memo_only_the_files_that_need_it_are_read_again(s: Setup) -> None:
    vdir = write_vdir(s.dir / "v", {"a": event("a", NOW - timedelta(days=1), attendees=[ADA])})
    (vdir / "broken.ics").write_bytes(b"nonsense")
    soon = event("soon", NOW + timedelta(hours=1), attendees=[BOB])
    write_vdir(vdir, {"soon": soon})
    memo = CalendarMemo()

    def read(now: datetime = NOW) -> CalendarReport:
        return read_calendars(
            s.store,
            CalendarConfig(sources=(vdir,)),
            [ME],
            BERLIN,
            now,
            warn=s.warnings.append,
            memo=memo,
        )

    assert read().logged == 1 and len(s.warnings) == 1
    write_vdir(vdir, {"b": event("b", NOW - timedelta(days=2), attendees=[ADA])})
    assert read().logged == 1 and len(s.warnings) == 1  # broken.ics: not read again
    assert read(NOW + timedelta(hours=2)).logged == 1  # soon.ics: its meeting has started
    assert s.dates(s.bob) == [(NOW + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert len(s.warnings) == 1
    with s.store.atomic():  # the contacts changed: every file is read again
        s.store.contacts.add("Carol", ["carol@example.org"], now=NOW)
    assert read().logged == 0 and len(s.warnings) == 2


def test_a_new_contact_gets_their_past_meetings(s: Setup) -> None:
    path = s.file(
        "c.ics",
        event("c", datetime(2026, 3, 1, 10, 0, tzinfo=UTC), attendees=["carol@example.org"]),
    )
    assert s.read(path).logged == 0
    assert not s.read(path).sources[0].read
    with s.store.atomic():
        carol = s.store.contacts.add("Carol", ["carol@example.org"], now=NOW)
    assert s.read(path).logged == 1
    assert s.dates(carol) == ["2026-03-01T10:00:00Z"]


def test_an_event_without_contacts_leaves_no_trace(s: Setup) -> None:
    day = datetime(2026, 3, 3, 19, 0, tzinfo=UTC)
    secret = event(
        "stranger-uid-7f3a",
        day,
        summary="Secret Stranger Birthday Party",
        organizer="host@strangers.example",
        attendees=[ME, "guest@strangers.example"],
    )
    ours = event("ours", day, summary="Lunch with Ada", attendees=[ADA])
    s.read(
        s.file("mixed.ics", secret, ours), write_vdir(s.dir / "vdir", {"stranger-uid-7f3a": secret})
    )
    assert [row["subject"] for row in s.meetings()] == ["Lunch with Ada"]
    files = [p for p in s.dir.iterdir() if p.name.startswith("kithkin.db")]
    assert any(p.name.endswith("-wal") for p in files)
    for path in files:
        data = path.read_bytes()
        for needle in ("Secret Stranger", "strangers.example", "stranger-uid-7f3a"):
            assert needle.encode() not in data, (needle, path.name)
            assert needle.encode("utf-16-le") not in data


def test_more_people_weigh_less(s: Setup) -> None:
    day = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    crowd = [f"p{i}@example.org" for i in range(9)]  # twelve in all, you included
    s.read(
        s.file(
            "w.ics",
            event("one-to-one", day, attendees=[ADA]),
            event("twelve", day, organizer=ME, attendees=[BOB, *crowd, ADA]),
            event(
                "crowded",
                day + timedelta(days=1),
                attendees=[BOB, *[f"q{i}@x.example" for i in range(100)]],
            ),
        ),
        max_attendees=100,
    )
    assert sorted(r["audience"] for r in s.meetings(s.ada)) == [1, 11]
    assert [r["audience"] for r in s.meetings(s.bob)] == [11]  # 101 others: too crowded
    bob_days = s.store.history.days(0, 30000, [s.bob])[s.bob]
    assert bob_days.weighted == pytest.approx(weight(11)) and weight(11) < 1


def test_a_small_meeting_answers_a_waiting_message_and_a_large_one_does_not(s: Setup) -> None:
    asked = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with s.store.atomic():
        s.store.interactions.add(
            [Interaction(s.ada, "in", asked, "<q@example.org>", "q@example.org", "Help?")]
        )
    last_day = day_number(NOW.date())
    assert s.ada in s.store.history.unanswered(last_day)
    crowd = [f"p{i}@example.org" for i in range(9)]
    s.read(s.file("big.ics", event("all", asked + timedelta(hours=3), attendees=[ADA, *crowd])))
    assert s.ada in s.store.history.unanswered(last_day)  # a meeting of ten: not an answer
    s.read(s.file("small.ics", event("1:1", asked + timedelta(days=1), attendees=[ADA])))
    assert s.ada not in s.store.history.unanswered(last_day)


def test_an_event_of_100000_attendees_is_nobodys_meeting(s: Setup) -> None:
    many = "".join(f"ATTENDEE:mailto:p{i}@crowd.example\n" for i in range(100_000))
    big = event("all-hands", datetime(2026, 3, 3, 10, 0, tzinfo=UTC), attendees=[ADA], extra=many)
    path = s.file(
        "big.ics", big, event("small", datetime(2026, 3, 4, 10, 0, tzinfo=UTC), attendees=[ADA])
    )
    assert path.stat().st_size < MAX_FILE_BYTES
    assert s.read(path).logged == 1
    assert s.dates(s.ada) == ["2026-03-04T10:00:00Z"]


def test_a_bad_file_is_one_warning_and_the_others_are_read(s: Setup) -> None:
    vdir = write_vdir(
        s.dir / "cal",
        {"good": event("good", datetime(2026, 3, 2, 9, 0, tzinfo=UTC), attendees=[ADA])},
    )
    (vdir / "garbage.ics").write_bytes(b"this is not a calendar\r\n\x00\xff")
    (vdir / "truncated.ics").write_bytes(calendar(event("t", NOW, attendees=[ADA]))[:200])
    (vdir / "huge.ics").write_bytes(b"BEGIN:VCALENDAR\r\n" + b"X" * MAX_FILE_BYTES)
    (vdir / "nested.ics").write_bytes(
        b"BEGIN:VCALENDAR\r\n" + b"BEGIN:X\r\n" * 50 + b"END:X\r\n" * 50 + b"END:VCALENDAR\r\n"
    )
    os.mkfifo(vdir / "fifo.ics")  # never opened for reading: it would block
    (vdir / ".hidden.ics").write_bytes(b"garbage")  # a temporary file: not read
    (vdir / "notes.txt").write_bytes(b"garbage")
    other = s.file(
        "other.ics", event("other", datetime(2026, 3, 3, 9, 0, tzinfo=UTC), attendees=[BOB])
    )
    missing = s.dir / "missing.ics"
    report = s.read(vdir, missing, other)
    assert s.dates(s.ada) == ["2026-03-02T09:00:00Z"] and s.dates(s.bob) == ["2026-03-03T09:00:00Z"]
    named = sorted(w.split(":")[0].rsplit("/", 1)[-1] for w in s.warnings)
    assert named == ["garbage.ics", "huge.ics", "missing.ics", "nested.ics", "truncated.ics"], (
        s.warnings
    )
    assert all("\n" not in w and len(w) < 300 for w in s.warnings)
    assert not any("this is not" in w for w in s.warnings)  # the file's text is never quoted
    assert [w.split(": ", 1)[1] for w in s.warnings if "huge.ics" in w] == [
        "is larger than 5 MB: not read"
    ]
    assert [r.unreadable for r in report.sources] == [4, 0, 0]
    assert report.sources[1].problem == "does not exist"


def test_rules_that_repeat_too_often_are_bounded(s: Setup) -> None:
    start = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)
    every = "".join  # readability
    events = [
        event("secondly", start, rrule="FREQ=SECONDLY", attendees=[ADA]),
        event("never", start, rrule="FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30,31", attendees=[ADA]),
        event(
            "since-year-1",
            datetime(1, 1, 1, 10, 0, tzinfo=UTC),
            rrule="FREQ=DAILY",
            attendees=[ADA],
        ),
        event("count", start, rrule="FREQ=DAILY;COUNT=100000000", attendees=[BOB]),
        event(
            "hourly-ish",
            start,
            rrule="FREQ=DAILY;BYHOUR=" + every(f"{h}," for h in range(24))[:-1],
            attendees=["carol@example.org", ADA],
        ),
    ]
    report = s.read(s.file("rules.ics", *events))
    ada = s.meetings(s.ada)
    assert len(ada) == 1000  # only the daily 24-a-day one, its 1,000 latest
    assert ada[-1]["date"] == "2026-03-25T12:00:00Z" and ada[0]["date"] > "2026-02-10"
    assert len(s.meetings(s.bob)) == (NOW.date() - start.date()).days + 1  # every day so far
    assert report.sources[0].left_out == 3
    assert len(s.warnings) == 1 and "3 events with your contacts left out" in s.warnings[0]


def test_a_time_zone_that_changes_every_second_refuses_the_file(s: Setup) -> None:
    zone = (
        "BEGIN:VTIMEZONE\nTZID:Busy\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
        "RRULE:FREQ=SECONDLY\nTZOFFSETFROM:+0000\nTZOFFSETTO:+0100\nEND:STANDARD\n"
        "END:VTIMEZONE\n"
    )
    bad = s.dir / "busy.ics"
    bad.write_bytes(
        calendar(
            event("b", datetime(2026, 3, 2, 9, 0), tzid="Busy", attendees=[ADA]), timezones=zone
        )
    )
    good = s.file("good.ics", event("g", datetime(2026, 3, 3, 9, 0, tzinfo=UTC), attendees=[ADA]))
    s.read(bad, good)
    assert s.dates(s.ada) == ["2026-03-03T09:00:00Z"]
    assert len(s.warnings) == 1 and "busy.ics" in s.warnings[0] and "time zone" in s.warnings[0]


def test_a_vdirsyncer_tree_of_calendars_is_read(s: Setup) -> None:
    root = s.dir / "calendars"
    write_vdir(
        root / "work", {"w1": event("w1", datetime(2026, 3, 2, 9, 0, tzinfo=UTC), attendees=[ADA])}
    )
    write_vdir(
        root / "home", {"h1": event("h1", datetime(2026, 3, 3, 9, 0, tzinfo=UTC), attendees=[BOB])}
    )
    (root / "home" / ".vdirsyncer").mkdir()  # state and hidden directories are not calendars
    report = s.read(root)
    assert report.sources[0].files == 2 and report.logged == 2
    write_vdir(
        root / "work", {"w2": event("w2", datetime(2026, 3, 4, 9, 0, tzinfo=UTC), attendees=[ADA])}
    )
    assert s.read(root).logged == 1  # a new file: read again


def test_the_subject_is_clean_and_bounded(s: Setup) -> None:
    title = "Lunch \x1b[31mred\x1b[0m \u202eevil " + "x" * 1000
    s.read(
        s.file(
            "t.ics",
            event("t", datetime(2026, 3, 2, 12, 0, tzinfo=UTC), attendees=[ADA], summary=title),
        )
    )
    subject = s.meetings(s.ada)[0]["subject"]
    assert subject.startswith("Lunch ") and "\x1b" not in subject and "\u202e" not in subject
    assert subject.isprintable() and len(subject) <= 200


def test_old_meetings_beyond_the_two_years_analysed_are_not_read(s: Setup) -> None:
    old = event("old", datetime(2023, 3, 1, 9, 0, tzinfo=UTC), attendees=[ADA])
    weekly = event(
        "since-2020", datetime(2020, 1, 6, 9, 0, tzinfo=UTC), rrule="FREQ=WEEKLY", attendees=[BOB]
    )
    s.read(s.file("old.ics", old, weekly))
    assert s.dates(s.ada) == []
    bob = s.dates(s.bob)
    assert bob[0] >= (NOW - timedelta(days=730)).strftime("%Y-%m-%d") and len(bob) in (104, 105)
