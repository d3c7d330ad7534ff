"""Durations and days as people type them: a cadence is days, weeks, months or years (`5m`
is refused with "months? use 5mo"), and `--date` reads today, yesterday, -3d, -2w, weekdays
and YYYY-MM-DD, counted from the injected clock in the owner's time zone."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kithkin.daemon.config import load_config
from kithkin.daemon.core.dates import parse_days, parse_lead
from kithkin.daemon.core.when import is_day, parse_day
from kithkin.daemon.errors import UsageError


@pytest.mark.parametrize(
    ("typed", "days"),
    [("30d", 30), ("1 day", 1), ("14", 14), ("3w", 21), ("2 weeks", 14), ("2mo", 60),
     ("1month", 30), ("6 months", 180), ("1y", 365), ("2 years", 730), ("1YEAR", 365),
     ("3W", 21)],
)  # fmt: skip
def test_cadence_units(typed: str, days: int) -> None:
    assert parse_days(typed) == days


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("5m", "not a duration in days: '5m' — months? use 5mo"),
        ("6 m", "not a duration in days: '6 m' — months? use 6mo"),
        ("5min", "too short: '5min' (this counts in days or more: 30d, 3w, 2mo, 1y)"),
        ("5h", "too short: '5h'"),
        ("90s", "too short: '90s'"),
        ("2 hours", "too short: '2 hours'"),
        ("often", "not a duration: 'often' (use e.g. 30d, 3w, 2mo, 1y)"),
        ("3q", "not a duration: '3q'"),
        ("0d", "duration must be positive: '0d'"),
        ("101y", "duration too long: '101y' (at most 100 years)"),
        ("9" * 50, "not a duration: '" + "9" * 39 + "…'"),  # quoted back cut short
    ],
)
def test_what_a_cadence_cannot_be(typed: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_days(typed)
    assert str(caught.value).startswith(message)


def test_a_lead_time_follows_the_same_units() -> None:
    assert (parse_lead("0d"), parse_lead("2w"), parse_lead("1mo")) == (0, 14, 30)
    with pytest.raises(UsageError, match="months\\? use 1mo"):
        parse_lead("1m")
    with pytest.raises(UsageError, match="at most a year"):
        parse_lead("13mo")


def test_poll_interval_keeps_m_for_minutes(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[daemon]\npoll_interval = "5m"\n')
    assert load_config(config).daemon.poll_interval == 300
    config.write_text('[daemon]\npoll_interval = "5min"\n')
    with pytest.raises(Exception, match="poll_interval") as caught:
        load_config(config)
    assert "\n" not in str(caught.value)


def test_every_and_remind_on_the_command_line(run_cli) -> None:
    added = run_cli("contacts", "add", "Ada", "--email", "ada@example.org", "--every", "2mo")
    assert added.exit_code == 0, added.stderr
    assert json.loads(run_cli("contacts", "list", "--json").stdout)[0]["every_days"] == 60
    for args in (["--every", "6m"], ["--remind", "1m"]):
        result = run_cli("contacts", "edit", "Ada", *args)
        assert result.exit_code == 2
        hint = f"months? use {args[1][:-1]}mo"
        assert result.stderr.splitlines() == [
            f"kithkin: error: not a duration in days: '{args[1]}' — {hint}"
        ]
    short = run_cli("contacts", "add", "Bob", "--email", "bob@example.org", "--every", "12h")
    assert short.exit_code == 2 and "too short: '12h'" in short.stderr
    assert "2mo" in run_cli("contacts", "add", "--help").stdout


# --- days ---------------------------------------------------------------------------------------

WEDNESDAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("today", WEDNESDAY),
        ("Today", WEDNESDAY),
        ("yesterday", date(2026, 11, 24)),
        ("-3d", date(2026, 11, 22)),
        ("-0d", WEDNESDAY),
        ("-2w", date(2026, 11, 11)),
        ("- 1 w", date(2026, 11, 18)),
        ("monday", date(2026, 11, 23)),
        ("tuesday", date(2026, 11, 24)),
        ("wednesday", WEDNESDAY),  # the latest Wednesday up to today: today
        ("Thursday", date(2026, 11, 19)),
        ("sunday", date(2026, 11, 22)),
        ("sat", date(2026, 11, 21)),
        ("thurs", date(2026, 11, 19)),
        ("2026-11-20", date(2026, 11, 20)),
        ("1970-01-01", date(1970, 1, 1)),
    ],
)
def test_the_days_people_type(typed: str, day: date) -> None:
    assert parse_day(typed, WEDNESDAY) == day


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("3d", "not a date: '3d' — 3d ago? use -3d"),
        ("+2w", "not a date: '+2w' — 2w ago? use -2w"),
        ("someday", "not a date: 'someday' (use YYYY-MM-DD, today, yesterday, -3d, -2w or a"),
        ("2026-02-30", "not a date: '2026-02-30' (use YYYY-MM-DD)"),
        ("1969-12-31", "not a date Kithkin can use: '1969-12-31' (1970 or later)"),
        ("-999999d", "not a date Kithkin can use: '-999999d' (1970 or later)"),
        ("2026-11-26", "2026-11-26 is in the future (today is 2026-11-25); --future allows it"),
        ("tomorrow", "not a date: 'tomorrow'"),
    ],
)
def test_days_that_are_refused(typed: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_day(typed, WEDNESDAY)
    assert str(caught.value).startswith(message)


def test_a_future_day_when_asked_for() -> None:
    assert parse_day("2027-01-15", WEDNESDAY, future=True) == date(2027, 1, 15)


@pytest.mark.parametrize(
    ("word", "expected"),
    [("yesterday", True), ("Monday", True), ("-3d", True), ("2026-11-20", True),
     ("2026-99-99", True), ("sun", False), ("Sat", False), ("Smith", False), ("3d", False)],
)  # fmt: skip
def test_which_last_words_of_a_reply_line_are_days(word: str, expected: bool) -> None:
    assert is_day(word) is expected


@pytest.fixture
def auckland(run_cli, kithkin_home: Path):
    """The owner lives in Auckland (UTC+13 in November); the clock says 2026-11-24 20:00 UTC,
    which is Wednesday 2026-11-25 09:00 there."""
    config = kithkin_home / "config" / "kithkin" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[summary]\ntimezone = "Pacific/Auckland"\n')
    now = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)

    def run(*args: str):
        return run_cli(*args, now=now)

    assert run("contacts", "add", "Ada Lovelace", "--email", "ada@example.org").exit_code == 0
    return run


def logged(cli) -> list[str]:
    rows = json.loads(cli("interactions", "--json").stdout)
    return [row["date"][:10] for row in rows]


@pytest.mark.parametrize(
    ("args", "day"),
    [([], "2026-11-25"), (["--date", "today"], "2026-11-25"),
     (["--date", "yesterday"], "2026-11-24"), (["--date", "-3d"], "2026-11-22"),
     (["--date", "-2w"], "2026-11-11"), (["--date", "monday"], "2026-11-23"),
     (["--date", "wednesday"], "2026-11-25"), (["--date", "2026-11-02"], "2026-11-02")],
)  # fmt: skip
def test_log_dates_count_from_the_clock_in_the_owners_zone(auckland, args, day) -> None:
    result = auckland("log", "ada", *args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Logged a call with Ada Lovelace on {day}.\n"
    assert logged(auckland) == [day]


def test_a_day_after_today_is_refused_unless_future(auckland) -> None:
    refused = auckland("log", "ada", "--date", "2026-11-26")
    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == [
        "kithkin: error: 2026-11-26 is in the future (today is 2026-11-25); add --future to use it"
    ]
    assert logged(auckland) == []
    allowed = auckland("log", "ada", "--date", "2026-11-26", "--future")
    assert allowed.exit_code == 0, allowed.stderr
    assert logged(auckland) == ["2026-11-26"]


def test_note_dates_read_the_same_forms(auckland) -> None:
    assert auckland("note", "ada", "back from Lisbon", "--date", "-1w").exit_code == 0
    refused = auckland("note", "ada", "a plan", "--date", "2026-12-01")
    assert refused.exit_code == 2 and "is in the future" in refused.stderr
    assert auckland("note", "ada", "a plan", "--date", "2026-12-01", "--future").exit_code == 0
    page = json.loads(auckland("show", "ada", "--json", "--as-of", "2026-12-31").stdout)
    assert page["notes"] == [{"date": "2026-12-01", "text": "a plan"},
                             {"date": "2026-11-18", "text": "back from Lisbon"}]  # fmt: skip
