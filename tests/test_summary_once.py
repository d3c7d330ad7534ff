"""`kithkin summary --send` sends one summary a week (the owner's week, Monday to Sunday of
their calendar): run again, it says when that one went out and sends nothing, unless
`--force`. Through aiosmtpd delivering into Dovecot."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import write_config

ZONE = "Pacific/Kiritimati"  # UTC+14: its clock never shows the UTC time of day


def smtp_config(tmp_path: Path, smtp, **summary) -> Path:
    secret = tmp_path / "smtp-password"
    secret.write_text(smtp.password + "\n")
    return write_config(tmp_path / "k", smtp.mailbox, sections={
        "smtp": {"host": smtp.host, "port": smtp.port, "security": "none",
                 "username": smtp.username, "password_command": ["cat", str(secret)]},
        "summary": {"delivery": "smtp", "timezone": ZONE, **summary},
    })  # fmt: skip


def sent_at(config: Path) -> list[str]:
    with sqlite3.connect(config.parent / "kithkin.db") as db:
        rows = db.execute("SELECT sent_at FROM summaries WHERE sent_at IS NOT NULL ORDER BY id")
        return [row[0] for row in rows]


def local(utc_iso: str) -> str:
    moment = datetime.fromisoformat(utc_iso).astimezone(ZoneInfo(ZONE))
    return f"{moment:%Y-%m-%d at %H:%M}"


def test_a_second_send_in_the_same_week_sends_nothing_unless_forced(
    smtp_server, tmp_path, run_cli
) -> None:
    config = smtp_config(tmp_path, smtp_server)

    def send(*args: str):
        return run_cli("--config", str(config), "summary", "--send", *args)

    first = send("--as-of", "2026-11-23")  # a Monday
    assert first.exit_code == 0, first.output
    assert len(smtp_server.messages) == 1
    (when,) = sent_at(config)
    for day in ("2026-11-23", "2026-11-29"):  # the same day, and the Sunday of that week
        again = send("--as-of", day)
        assert again.exit_code == 0, again.output
        assert again.stdout == (
            f"A summary was already sent this week, on {local(when)}: nothing sent "
            "(--force sends another).\n"
        )
        assert again.stderr == ""
    assert len(smtp_server.messages) == 1

    forced = send("--as-of", "2026-11-25", "--force")
    assert forced.exit_code == 0, forced.output
    assert forced.stdout.startswith('Sent "Kithkin: ')
    assert len(smtp_server.messages) == 2
    assert len(sent_at(config)) == 2

    next_week = send("--as-of", "2026-11-30")
    assert next_week.exit_code == 0 and next_week.stdout.startswith('Sent "Kithkin: ')
    assert len(smtp_server.messages) == 3


def test_a_week_with_nothing_sent_does_not_count(smtp_server, tmp_path, run_cli) -> None:
    """With send_when_empty = false an empty week sends nothing, so a later --send that
    week (after adding someone) sends."""
    config = smtp_config(tmp_path, smtp_server, send_when_empty=False)
    empty = run_cli("--config", str(config), "summary", "--send", "--as-of", "2026-11-23")
    assert "nothing sent" in empty.stdout
    assert run_cli("--config", str(config), "contacts", "add", "Ada", "--email", "ada@example.org",
                   "--birthday", "--11-26").exit_code == 0  # fmt: skip
    sent = run_cli("--config", str(config), "summary", "--send", "--as-of", "2026-11-24")
    assert sent.exit_code == 0, sent.output
    assert sent.stdout.startswith('Sent "Kithkin: ') and len(smtp_server.messages) == 1


@pytest.mark.parametrize("args", [["--force"], ["--force", "--preview", "x"]])
def test_force_goes_with_send(run_cli, tmp_path, pymap_server, args) -> None:
    config = write_config(tmp_path, pymap_server)
    result = run_cli("--config", str(config), "summary", *args)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
