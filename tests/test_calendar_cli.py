"""`[calendar]` in the config, `kithkin calendar read`, the calendar in `kithkin sync`,
`kithkin status` and the service (against Dovecot, with the real clock: the events are
written relative to now)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import ME, write_config
from icsbuilder import calendar, event, write_vdir
from mailbuilder import make_message
from servers import append

from kithkin.daemon.config import load_config
from kithkin.daemon.errors import ConfigError

ADA = "ada@example.org"


def days_ago(days: float) -> datetime:
    moment = datetime.now(UTC) - timedelta(days=days)
    return moment.replace(microsecond=0)


def config_file(tmp_path: Path, calendar_section: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        calendar_section + f'[me]\naddresses = ["{ME}"]\n[store]\npath = "{tmp_path / "k.db"}"\n',
        encoding="utf-8",
    )
    return path


def test_the_calendar_section_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CALS", str(tmp_path / "cals"))
    config = load_config(
        config_file(
            tmp_path,
            '[calendar]\nsources = ["~/.calendars/work/", "$CALS/team.ics", "rel/x.ics"]\n'
            "max_attendees = 30\n",
        )
    )
    assert config.calendar.sources == (
        tmp_path / "home" / ".calendars" / "work",
        tmp_path / "cals" / "team.ics",
        tmp_path / "rel" / "x.ics",  # relative to the config file
    )
    assert config.calendar.max_attendees == 30
    assert load_config(config_file(tmp_path, "")).calendar.sources == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[calendar]\n", r"\[calendar\] sources is missing"),
        ("[calendar]\nsources = []\n", r"\[calendar\] sources must list at least one"),
        ('[calendar]\nsources = "a.ics"\n', r"\[calendar\] sources must be a list"),
        ('[calendar]\nsources = [""]\n', r"\[calendar\] sources must be a list of non-empty"),
        ('[calendar]\nsources = ["a"]\nmax_attendees = 0\n', r"max_attendees must be between"),
        ('[calendar]\nsources = ["a"]\nmax_attendees = "9"\n', r"max_attendees must be an int"),
        ('[calendar]\nsources = ["a"]\nurl = "x"\n', r"\[calendar\] url is not a known setting"),
        ("calendar = 1\n", r"calendar must be a table"),
    ],
)
def test_each_calendar_mistake_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(config_file(tmp_path, text))
    assert str(tmp_path / "config.toml") in str(caught.value) and "\n" not in str(caught.value)


def test_calendar_read_logs_reports_and_shows_in_status(tmp_path: Path, run_cli) -> None:
    past = days_ago(3)
    vdir = write_vdir(
        tmp_path / "work",
        {
            "past": event("past", past, attendees=[ADA], summary="Coffee"),
            "future": event("future", days_ago(-3), attendees=[ADA], summary="Later"),
        },
    )
    (vdir / "bad.ics").write_bytes(b"BEGIN:VCALENDAR\r\nnonsense\r\n")
    config = config_file(tmp_path, f'[calendar]\nsources = ["{vdir}"]\n')

    def cli(*args: str):
        return run_cli("--config", str(config), *args)

    assert cli("contacts", "add", "Ada", "--email", ADA).exit_code == 0
    first = cli("calendar", "read")
    assert first.exit_code == 0, first.output
    assert f"{vdir}: 3 file(s) read, 1 meeting(s) logged, 1 could not be read" in first.stdout
    warning = f"calendar file {vdir / 'bad.ics'}: not a calendar file (iCalendar, RFC 5545)"
    assert first.stderr.splitlines() == [f"kithkin: warning: {warning}"]
    rows = json.loads(cli("interactions", "--json").stdout)
    assert [(r["kind"], r["subject"], r["direction"]) for r in rows] == [
        ("meeting", "Coffee", None)
    ]
    assert rows[0]["date"] == past.strftime("%Y-%m-%dT%H:%M:%SZ")
    again = cli("calendar", "read")
    assert f"{vdir}: unchanged" in again.stdout and again.stderr == ""
    forced = cli("calendar", "read", "--all")
    assert "0 meeting(s) logged" in forced.stdout and "bad.ics" in forced.stderr
    status = cli("status")
    assert f"Calendar {vdir}: read " in status.stdout
    assert "3 file(s), 1 meeting(s) logged; 1 file(s) could not be read" in status.stdout
    data = json.loads(cli("status", "--json").stdout)["calendar"]
    assert [(d["source"], d["files"], d["logged_total"], d["unreadable"]) for d in data] == [
        (str(vdir), 3, 1, 1)
    ]


def test_calendar_read_says_what_is_missing(tmp_path: Path, run_cli) -> None:
    none = run_cli("--config", str(config_file(tmp_path, "")), "calendar", "read")
    assert none.exit_code == 2 and "no [calendar] sources" in none.stderr
    assert len(none.stderr.splitlines()) == 1 and none.stderr.startswith("kithkin: error: ")
    no_me = tmp_path / "no-me.toml"
    no_me.write_text(f'[store]\npath = "{tmp_path / "k.db"}"\n[calendar]\nsources = ["x"]\n')
    result = run_cli("--config", str(no_me), "calendar", "read")
    assert result.exit_code == 2 and f"{no_me}: [me] addresses is missing" in result.stderr


def test_sync_reads_the_calendar_before_the_mailbox(dovecot, tmp_path: Path, run_cli) -> None:
    team = tmp_path / "team.ics"
    team.write_bytes(calendar(event("m", days_ago(2), attendees=[ADA], summary="Standup")))
    config = write_config(tmp_path / "k", dovecot, sections={"calendar": {"sources": [str(team)]}})
    assert run_cli("--config", str(config), "contacts", "add", "Ada", "--email", ADA).exit_code == 0
    append(dovecot, "INBOX", make_message(from_=ADA, to=ME, subject="hello"))
    result = run_cli("--config", str(config), "sync")
    assert result.exit_code == 0, result.output
    assert "Calendar: 1 meeting logged from 1 calendar source read" in result.stdout
    rows = json.loads(run_cli("--config", str(config), "interactions", "--json").stdout)
    assert sorted(r["subject"] for r in rows) == ["Standup", "hello"]
    quiet = run_cli("--config", str(config), "sync", "-q")
    assert "Calendar" not in quiet.stdout and quiet.stdout.startswith("Synced: ")


def test_sync_and_status_load_icalendar_only_for_a_calendar() -> None:
    code = (
        "import sys; from kithkin.daemon.cli import cli; "
        "[cli.get_command(None, name) for name in ('sync', 'status', 'run', 'calendar')]; "
        "print('icalendar' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
