"""Names, durations and days in the lines of a reply to the summary: found exactly as on the
command line (one resolution, book.ContactFinder), recorded by contact id, and shown with
the names people have now. A real store; the last test goes through Dovecot and a sync."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from test_replies import Owner

from kithkin.daemon import book
from kithkin.daemon.core.digest import digest
from kithkin.daemon.core.findings import Birthday, Report
from kithkin.daemon.steering.commands import apply_commands
from kithkin.daemon.steering.journal import shown_reply
from kithkin.daemon.store import Store
from kithkin.daemon.summary.entries import entry_context

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
DAY = date(2026, 11, 25)  # a Wednesday


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "kithkin.db") as store:
        for name, address, nickname in [
            ("José García", "jose@example.org", "Pepe"),
            ("Hans Ørsted", "hans@example.org", None),
            ("Lena Fischer", "lena@example.org", None),
            ("Ana Silva", "ana@home.example", None),
        ]:
            book.add_contact(store, name, [address], nickname=nickname, now=NOW)
        book.add_contact(store, "ANA SILVA", ["ana@work.example"], allow_duplicate=True, now=NOW)
        yield store


def apply(store: Store, *lines: str) -> dict:
    with store.atomic():
        record = apply_commands(store, list(lines), day=DAY, now=NOW).as_json()
    return record


def who(store: Store, address: str) -> int:
    owner = store.contacts.owner_of(address)
    assert owner is not None
    return owner


def test_names_in_reply_lines_fold_like_on_the_command_line(store: Store) -> None:
    record = apply(store, "mute jose", "every orsted 2mo", "snooze pepe 3w", "called lena -2d")
    assert [item["action"] for item in record["done"]] == ["mute", "every", "snooze", "call"]
    assert record["not_understood"] == []
    jose = store.contacts.get(who(store, "jose@example.org"))
    assert jose.muted and jose.snoozed_until == "2026-12-16"
    assert store.contacts.get(who(store, "hans@example.org")).every_days == 60
    rows = store.interactions.list(who(store, "lena@example.org"))
    assert [(row["kind"], row["date"][:10]) for row in rows] == [("call", "2026-11-23")]


@pytest.mark.parametrize(
    ("line", "day"),
    [("called Lena yesterday", "2026-11-24"), ("met Lena Fischer monday", "2026-11-23"),
     ("called lena fischer -1w", "2026-11-18"), ("met Lena 2026-11-02", "2026-11-02"),
     ("called Lena today", "2026-11-25"), ("called Lena", "2026-11-25")],
)  # fmt: skip
def test_the_day_of_a_call_in_a_reply(store: Store, line: str, day: str) -> None:
    record = apply(store, line)
    assert [item["date"] for item in record["done"]] == [day]


def test_a_reply_logs_nothing_in_the_future(store: Store) -> None:
    record = apply(store, "called Lena 2026-11-26")
    assert record["done"] == []
    assert record["not_understood"][0]["reason"] == (
        "2026-11-26 is in the future (today is 2026-11-25); a reply logs only what has happened"
    )


@pytest.mark.parametrize(
    ("line", "reason"),
    [("every Lena 6m", "not a duration in days: '6m' — months? use 6mo"),
     ("snooze Lena 3m", "not a duration in days: '3m' — months? use 3mo"),
     ("snooze Lena 12h", "too short: '12h'"), ("every Lena 90s", "too short: '90s'")],
)  # fmt: skip
def test_durations_in_a_reply_are_days_or_more(store: Store, line: str, reason: str) -> None:
    record = apply(store, line)
    assert record["done"] == []
    assert record["not_understood"][0]["reason"].startswith(reason)
    lena = store.contacts.get(who(store, "lena@example.org"))
    assert lena.snoozed_until is None and lena.every_days is None


def test_two_people_of_one_name_in_a_reply(store: Store) -> None:
    home, work = who(store, "ana@home.example"), who(store, "ana@work.example")
    record = apply(store, "mute Ana Silva", "mute ana@work.example", "note ana silva hello")
    assert record["done"] == [{"action": "mute", "contact_id": work}]
    first, second = record["not_understood"]
    assert (first["ambiguous"], first["candidates"]) == ("Ana Silva", [home, work])
    assert second["candidates"] == [home, work]  # the note's leading words name both
    shown = shown_reply(store, record)
    reason = (
        "'Ana Silva' matches several contacts: Ana Silva <ana@home.example>; "
        "ANA SILVA <ana@work.example>; use one of the addresses"
    )
    assert shown["not_understood"][0] == ["mute Ana Silva", reason]


def test_the_prefilled_snooze_finds_one_of_two_people_of_a_name(store: Store) -> None:
    work = store.contacts.get(who(store, "ana@work.example"))
    (entry,) = digest(Report(DAY, birthdays=[Birthday(work, "--11-25", DAY, 0, None)]), 7).shown
    link = entry_context(entry, owner="me@x.example", token="t", notes={}, steering=True)
    (body,) = parse_qs(urlsplit(link["snooze_link"]).query)["body"]
    assert body == "snooze ANA SILVA <ana@work.example> 3w"
    record = apply(store, body)
    assert record["done"] == [{"action": "snooze", "contact_id": work.id, "until": "2026-12-16"}]
    assert store.contacts.get(who(store, "ana@home.example")).snoozed_until is None


def test_an_unknown_name_in_a_reply_suggests_by_id(store: Store) -> None:
    lena = who(store, "lena@example.org")
    record = apply(store, "mute Lina", "mute Zed")
    lina, zed = record["not_understood"]
    assert (lina["unknown"], lina["suggestions"]) == ("Lina", [lena])
    assert lena in lina["contact_ids"]  # so forgetting her drops the line
    assert "Lena" not in str(lina)  # her name is not recorded, only her id
    assert zed["suggestions"] == []
    shown = shown_reply(store, record)["not_understood"]
    assert shown == [["mute Lina", "no contact 'Lina' — did you mean Lena Fischer?"],
                     ["mute Zed", "no contact 'Zed' (see `kithkin contacts list`)"]]  # fmt: skip
    with store.atomic():
        store.contacts.update(lena, name="Lena Weber", now=NOW)
    assert shown_reply(store, record)["not_understood"][0][1].endswith("did you mean Lena Weber?")


def test_forgetting_someone_drops_lines_that_name_them_folded(store: Store) -> None:
    with store.atomic():
        record = apply_commands(store, ["snooze jose 99999y", "mute orsted"], day=DAY, now=NOW)
        store.replies.record("key-1", None, NOW, record.as_json(), NOW)
    jose = store.contacts.get(who(store, "jose@example.org"))
    assert jose.id in record.not_understood[0]["contact_ids"]
    book.forget(store, jose)
    shown = shown_reply(store, store.replies.recent()[0])
    assert shown == {"applied": ["muted Hans Ørsted"], "not_understood": []}


def test_a_reply_through_a_sync_finds_names_and_suggests(dovecot, tmp_path, run_cli) -> None:
    owner = Owner(dovecot, tmp_path, run_cli)
    assert owner.cli("contacts", "add", "Adam Smith", "--email", "adam2@example.org").exit_code == 2
    assert owner.cli("contacts", "add", "Adam Smith", "--email", "adam2@example.org",
                     "--allow-duplicate").exit_code == 0  # fmt: skip
    owner.reply("mute bób\r\nevery Adam Smith 2w\r\nevery adam2@example.org 6m\r\n"
                "called adam2@example.org yesterday\r\nsnooze Adaa Lovelace 3w\r\n")  # fmt: skip
    assert owner.cli("sync", "-q").exit_code == 0
    assert owner.muted() == {"Bob"}
    reply = owner.status()["replies"][0]
    yesterday = (owner.day - timedelta(days=1)).isoformat()
    assert reply["applied"] == ["muted Bob", f"logged a call with Adam Smith on {yesterday}"]
    both = (
        "'Adam Smith' matches several contacts: Adam Smith <adam@example.org>; "
        "Adam Smith <adam2@example.org>; use one of the addresses"
    )
    assert reply["not_understood"] == [
        ["every Adam Smith 2w", both],
        ["every adam2@example.org 6m", "not a duration in days: '6m' — months? use 6mo"],
        ["snooze Adaa Lovelace 3w", "no contact 'Adaa Lovelace' — did you mean Ada Lovelace?"],
    ]  # fmt: skip
