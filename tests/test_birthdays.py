"""Birthdays: the lead time (`[analysis] birthday_days`, per person `--remind`), the day
itself, and a weekly summary that never lets one slip between two Mondays."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from test_analysis import AS_OF, SETTINGS, Book, _at

from kithkin.daemon.core.digest import NEXT_SUMMARY_DAYS
from kithkin.daemon.summary.inputs import report_for


@pytest.fixture
def book(tmp_path: Path):
    opened = Book(tmp_path / "k.db")
    yield opened
    opened.store.close()


def born_in(days: int) -> str:
    return (AS_OF + timedelta(days=days)).strftime("--%m-%d")


def shown(book: Book, *, weekly: bool) -> list[tuple[str, int]]:
    look_ahead = NEXT_SUMMARY_DAYS if weekly else 0
    report = report_for(book.store, AS_OF, SETTINGS, look_ahead=look_ahead)
    return [(item.contact.name, item.in_days) for item in report.birthdays]


def remind(book: Book, contact: int, days: int | None) -> None:
    with book.store.atomic():
        book.store.contacts.update(contact, remind_days=days, now=_at(AS_OF))


@pytest.mark.parametrize(
    ("in_days", "lead", "report", "summary"),
    [
        (10, None, True, True),  # within the default 14 days
        (15, None, False, False),
        (10, 3, False, False),  # their own lead: 3 days
        (3, 3, True, True),
        (5, 3, False, True),  # past the next Monday: this summary is the last chance
        (7, 3, False, False),  # next Monday is the day itself
        (0, 0, True, True),  # `--remind 0d`: the day itself
        (4, 0, False, True),  # ... in the weekly summary, the week of it
        (20, 30, True, True),
    ],
)
def test_the_lead_time(book: Book, in_days: int, lead: int | None, report: bool,
                       summary: bool) -> None:  # fmt: skip
    ada = book.person("Ada", birthday=born_in(in_days))
    remind(book, ada, lead)
    assert shown(book, weekly=False) == ([("Ada", in_days)] if report else [])
    assert shown(book, weekly=True) == ([("Ada", in_days)] if summary else [])


def test_remind_from_the_command_line(run_cli, tmp_path: Path) -> None:
    def cli(*args: str):
        return run_cli("--config", str(config), *args)

    config = tmp_path / "c.toml"
    store = tmp_path / "k.db"
    config.write_text(f'[me]\naddresses = ["me@home.example"]\n[store]\npath = "{store}"\n')
    assert cli("contacts", "add", "Ada Lovelace", "--email", "ada@example.org",
               "--birthday", born_in(5)).exit_code == 0  # fmt: skip
    edited = cli("contacts", "edit", "ada", "--remind", "3d")
    assert edited.exit_code == 0, edited.stderr
    assert "remind 3d before" in edited.stdout
    listed = json.loads(cli("contacts", "list", "--json").stdout)
    assert listed[0]["remind_days"] == 3
    report = json.loads(cli("report", "--json", "--as-of", AS_OF.isoformat()).stdout)
    assert report["birthdays"] == []  # 5 days away, reminded 3 days before
    out = tmp_path / "preview"
    assert cli("summary", "--preview", str(out), "--as-of", AS_OF.isoformat()).exit_code == 0
    assert "Birthday on Saturday 28 November, in 5 days." in (out / "summary.txt").read_text()
    assert "on the day" in cli("contacts", "edit", "ada", "--remind", "0d").stdout
    assert cli("contacts", "edit", "ada", "--no-remind").exit_code == 0
    assert "remind_days" not in json.loads(cli("contacts", "list", "--json").stdout)[0]
    for bad, message in ((("--remind", "2y"), "at most a year"),
                         (("--remind", "soon"), "not a duration"),
                         (("--remind", "3d", "--no-remind"), "not both")):  # fmt: skip
        result = cli("contacts", "edit", "ada", *bad)
        assert result.exit_code == 2 and message in result.stderr, (bad, result.stderr)
    page = json.loads(cli("show", "ada", "--json").stdout)
    assert page["remind_days"] is None
