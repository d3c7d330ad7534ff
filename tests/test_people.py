"""Beyond email: calls and meetings logged by hand, notes, and the page per person."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import ME, write_config
from mailbuilder import make_message
from servers import append

AS_OF = "2026-11-23"


@pytest.fixture
def cli(dovecot, tmp_path: Path, run_cli):
    config = write_config(tmp_path / "k", dovecot)

    def run(*args: str):
        return run_cli("--config", str(config), *args)

    assert run("contacts", "add", "Ada Lovelace", "--email", "ada@example.org").exit_code == 0
    assert run("contacts", "add", "Adam Smith", "--email", "adam@example.org").exit_code == 0
    run.server = dovecot
    return run


def report(cli) -> dict:
    result = cli("report", "--json", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def mail(cli, *, incoming: bool, when: datetime, subject: str = "hi") -> None:
    if incoming:
        raw = make_message(from_="ada@example.org", to=ME, subject=subject, date=when)
        append(cli.server, "INBOX", raw)
    else:
        raw = make_message(from_=ME, to="ada@example.org", subject=subject, date=when)
        append(cli.server, "Sent", raw)


def test_a_call_answers_a_waiting_message_exactly_as_an_email_would(cli) -> None:
    mail(cli, incoming=True, when=datetime(2026, 11, 10, 9, 0, tzinfo=UTC), subject="help?")
    assert cli("sync", "-q").exit_code == 0
    assert [a["contact"] for a in report(cli)["awaiting_reply"]] == ["Ada Lovelace"]
    assert cli("log", "ada l", "--date", "2026-11-12").exit_code == 0
    assert report(cli)["awaiting_reply"] == []


def test_manual_logs_change_fading_like_email(cli) -> None:
    for month in range(1, 10):  # monthly email until September: fading by late November
        mail(cli, incoming=month % 2 == 0, when=datetime(2026, month, 5, 9, 0, tzinfo=UTC))
    assert cli("sync", "-q").exit_code == 0
    fading = report(cli)["fading"]
    assert [f["contact"] for f in fading] == ["Ada Lovelace"]
    before = fading[0]
    assert cli("log", "Ada Lovelace", "--kind", "meeting", "--date", "2026-11-20").exit_code == 0
    assert report(cli)["fading"] == []
    # ...and exactly as an email on the same day would have done:
    assert cli("unlog", str(_manual_ids(cli)[0])).exit_code == 0
    assert report(cli)["fading"][0] == before
    mail(cli, incoming=False, when=datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    assert cli("sync", "-q").exit_code == 0
    assert report(cli)["fading"] == []


def _manual_ids(cli) -> list[int]:
    rows = json.loads(cli("interactions", "--json").stdout)
    return [row["id"] for row in rows if row["kind"] != "email"]


def test_one_sided_is_broken_by_a_call(cli) -> None:
    for day in (1, 8, 15):
        mail(cli, incoming=False, when=datetime(2026, 11, day, 9, 0, tzinfo=UTC))
    cli("sync", "-q")
    assert [o["contact"] for o in report(cli)["one_sided"]] == ["Ada Lovelace"]
    cli("log", "ada@example.org", "--kind", "call", "--date", "2026-11-16")
    assert report(cli)["one_sided"] == []


def test_log_rejects_ambiguous_and_unknown_names_listing_candidates(cli) -> None:
    ambiguous = cli("log", "ad")
    assert ambiguous.exit_code == 2
    assert "Ada Lovelace" in ambiguous.stderr and "Adam Smith" in ambiguous.stderr
    unknown = cli("log", "zed")
    assert unknown.exit_code == 2 and "no contact 'zed'" in unknown.stderr
    bad_date = cli("log", "Adam", "--date", "someday")
    assert bad_date.exit_code == 2 and "not a date" in bad_date.stderr


def test_interactions_lists_email_and_manual_entries_newest_first(cli) -> None:
    mail(cli, incoming=True, when=datetime(2026, 11, 1, 9, 0, tzinfo=UTC), subject="an email")
    cli("sync", "-q")
    cli("log", "Ada Lovelace", "--kind", "meeting", "--date", "2026-11-05", "--note", "coffee")
    cli("log", "Ada Lovelace", "--kind", "message", "--date", "2026-10-01")
    rows = json.loads(cli("interactions", "Ada Lovelace", "--json").stdout)
    assert [(r["kind"], r["date"][:10], r["subject"] or r["note"]) for r in rows] == [
        ("meeting", "2026-11-05", "coffee"),
        ("email", "2026-11-01", "an email"),
        ("message", "2026-10-01", None),
    ]
    text = cli("interactions", "Ada Lovelace").stdout
    assert "meeting" in text and "coffee" in text and f"#{rows[0]['id']}" in text


def test_synced_email_cannot_be_unlogged(cli) -> None:
    mail(cli, incoming=True, when=datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    cli("sync", "-q")
    (row,) = json.loads(cli("interactions", "--json").stdout)
    result = cli("unlog", str(row["id"]))
    assert result.exit_code == 2
    assert "synced email" in result.stderr
    assert len(json.loads(cli("interactions", "--json").stdout)) == 1


def test_notes_and_the_page_per_person(cli) -> None:
    for n, day in enumerate((3, 10, 17, 24)):
        mail(cli, incoming=n % 2 == 0, when=datetime(2026, 10, day, 9, 0, tzinfo=UTC),
             subject=f"topic {n}")  # fmt: skip
    forty = [f"p{n}@example.org" for n in range(39)] + ["ada@example.org"]
    when = datetime(2026, 10, 31, 9, 0, tzinfo=UTC)
    big = make_message(from_=ME, to=forty, subject="to forty people", date=when)
    append(cli.server, "Sent", big)
    cli("sync", "-q")
    cli("log", "Ada Lovelace", "--kind", "call", "--date", "2026-11-02")
    noted = cli("note", "Ada Lovelace", "kids:", "Ada", "and", "Tom", "--date", "2026-09-01")
    assert noted.exit_code == 0
    noted = cli("note", "Ada Lovelace", "new job at the museum", "--date", "2026-11-01")
    assert noted.exit_code == 0
    result = cli("show", "Ada Lovelace", "--json", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert page["emails"] == ["ada@example.org"]
    # Six days with contact, but the mail to forty people counts 3/40: 5.075 weighted.
    assert page["cadence"]["days_with_contact"] == 6
    assert page["cadence"]["weighted_exchanges"] == pytest.approx(5.1, abs=0.05)
    assert (page["cadence"]["source"], page["cadence"]["days"]) == ("learned", 7)
    assert page["cadence"]["overdue_days"] == 11  # gaps of 7, 7, 7 and 9 days
    assert page["cadence"]["why"] == (
        "usually every 7 days, fading after 11 days without contact (learned from 4 gaps "
        "since 2026-10)"
    )
    assert page["last_interaction"] == {"date": "2026-11-02T12:00:00Z", "days_ago": 21,
                                        "kind": "call", "direction": None}  # fmt: skip
    assert page["recent_subjects"][:2] == ["to forty people", "topic 3"]
    assert page["interactions"] == {"call": 1, "email_in": 2, "email_out": 3}
    assert page["notes"] == [
        {"date": "2026-11-01", "text": "new job at the museum"},
        {"date": "2026-09-01", "text": "kids: Ada and Tom"},
    ]
    text = cli("show", "Ada Lovelace", "--as-of", AS_OF).stdout
    assert "cadence:   usually every 7 days, fading after 11 days" in text
    assert "6 days with contact in two years count as 5.1" in text
    assert "last:      3 weeks ago, a call" in text
    assert "note 2026-11-01: new job at the museum" in text


def test_the_summary_shows_the_why_line_and_latest_note(cli, tmp_path: Path) -> None:
    cli("contacts", "edit", "Ada Lovelace", "--every", "14d")
    mail(cli, incoming=False, when=datetime(2026, 10, 1, 9, 0, tzinfo=UTC))
    cli("sync", "-q")
    cli("note", "Ada Lovelace", "new job at the museum", "--date", "2026-11-01")
    out = tmp_path / "preview"
    assert cli("summary", "--preview", str(out), "--as-of", AS_OF).exit_code == 0
    text = (out / "summary.txt").read_text()
    assert "You set every 14 days; it has been 53 days." in text
    assert "Note (2026-11-01): new job at the museum" in text
    assert "snooze NAME 3w" in text  # the reminder of the commands
    html = (out / "summary.html").read_text()
    assert "new job at the museum" in html and "Snooze 3 weeks" in html


def test_snooze_mute_and_unmute_from_the_command_line(cli) -> None:
    for month in range(1, 10):
        mail(cli, incoming=month % 2 == 0, when=datetime(2026, month, 5, 9, 0, tzinfo=UTC))
    cli("sync", "-q")
    assert [f["contact"] for f in report(cli)["fading"]] == ["Ada Lovelace"]
    assert cli("contacts", "snooze", "ada l", "--until", "2026-12-01").exit_code == 0
    assert report(cli)["fading"] == []
    assert "snoozed until 2026-12-01" in cli("contacts", "list").stdout
    assert cli("contacts", "unmute", "ada l").exit_code == 0  # also ends a snooze
    assert cli("contacts", "mute", "ada l").exit_code == 0
    assert report(cli)["fading"] == []
    assert cli("contacts", "unmute", "ada l").exit_code == 0
    assert [f["contact"] for f in report(cli)["fading"]] == ["Ada Lovelace"]
    bad = cli("contacts", "snooze", "ada l", "--until", "soon")
    assert bad.exit_code == 2 and "not a date" in bad.stderr
