"""Delivering the summary: through aiosmtpd into Dovecot, or by IMAP APPEND; read back over
IMAP and parsed with the standard library."""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from helpers import ME, write_config
from mailbuilder import make_message
from servers import append, imap_client

from kithkin.daemon.config import load_config
from kithkin.daemon.core.findings import Report
from kithkin.daemon.mail.delivery import append_imap
from kithkin.daemon.summary.render import SUMMARY_HEADER, build_message, render_summary

AS_OF = "2026-11-23"
OLD = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
INJECTION = "=?utf-8?q?hi=0D=0ABcc:_victim@evil.example?="


def inbox_summaries(server) -> list[tuple[email.message.EmailMessage, set[str]]]:
    """Every message in INBOX carrying the summary header, parsed, with its flags."""
    found = []
    with imap_client(server) as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        if not uids:
            return []
        for data in client.fetch(uids, ["BODY.PEEK[]", "FLAGS"]).values():
            message = email.message_from_bytes(data[b"BODY[]"], policy=policy.default)
            if SUMMARY_HEADER in message:
                flags = {f.decode() if isinstance(f, bytes) else f for f in data[b"FLAGS"]}
                found.append((message, flags))
    return found


def prepare(server, tmp_path: Path, run_cli, **sections) -> Path:
    config = write_config(tmp_path / "k", server, sections=sections)
    assert run_cli("--config", str(config), "contacts", "add", "Ada Lovelace",
                   "--email", "ada@example.org").exit_code == 0  # fmt: skip
    append(server, "INBOX", make_message(from_="Ada <ada@example.org>", to=ME,
                                         subject=INJECTION, date=OLD))  # fmt: skip
    result = run_cli("--config", str(config), "sync", "-q")
    assert result.exit_code == 0, result.output
    return config


def smtp_section(smtp, tmp_path: Path, **extra) -> dict:
    secret = tmp_path / "smtp-password"
    secret.write_text(smtp.password + "\n")
    command = ["cat", str(secret)]
    return {"host": smtp.host, "port": smtp.port, "security": "none",
            "username": smtp.username, "password_command": command, **extra}  # fmt: skip


def test_smtp_delivery_lands_in_the_inbox_and_is_never_logged(smtp_server, dovecot, tmp_path,
                                                              run_cli) -> None:  # fmt: skip
    config = prepare(dovecot, tmp_path, run_cli, smtp=smtp_section(smtp_server, tmp_path),
                     summary={"to": ME, "delivery": "smtp"})  # fmt: skip
    result = run_cli("--config", str(config), "summary", "--send", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert [m.rcpt_tos for m in smtp_server.messages] == [(ME,)]
    assert smtp_server.messages[0].login == smtp_server.username
    ((message, flags),) = inbox_summaries(dovecot)
    assert "\\Seen" not in flags
    assert message["From"] == f"Kithkin <{ME}>" and message["To"] == ME
    assert message["Auto-Submitted"] == "auto-generated"
    assert "Bcc" not in message and "victim" not in str(message["Subject"])
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    assert "Reply to Ada Lovelace <ada@example.org>" in text  # one entry: reply comes first
    # the subject shown, on one line
    assert "Waiting for your reply for 3 months: \u201chi Bcc: victim@evil.example\u201d" in text
    html = message.get_body(("html",)).get_content()
    assert "mailto:ada@example.org" in html
    before = run_cli("--config", str(config), "interactions", "--json").stdout
    again = run_cli("--config", str(config), "sync", "-q")
    assert again.exit_code == 0
    assert run_cli("--config", str(config), "interactions", "--json").stdout == before


@pytest.mark.parametrize("mode", ["implicit", "starttls"])
def test_smtp_over_tls_verifies_the_certificate(mode, request, tmp_path, run_cli) -> None:
    smtp = request.getfixturevalue(f"smtp_server_{'tls' if mode == 'implicit' else 'starttls'}")
    server = smtp.mailbox
    security = "tls" if mode == "implicit" else "starttls"
    untrusted = prepare(server, tmp_path / "a", run_cli,
                        smtp=smtp_section(smtp, tmp_path, security=security),
                        summary={"delivery": "smtp"})  # fmt: skip
    refused = run_cli("--config", str(untrusted), "summary", "--send", "--as-of", AS_OF)
    assert refused.exit_code == 1
    assert f"127.0.0.1:{smtp.port}" in refused.stderr and "certificate" in refused.stderr
    assert smtp.messages == []
    trusted = write_config(tmp_path / "b", server, sections={
        "smtp": smtp_section(smtp, tmp_path, security=security, ca_file=str(smtp.ca_file)),
        "summary": {"delivery": "smtp"},
        "store": {"path": str(tmp_path / "a" / "k" / "kithkin.db")},
    })  # fmt: skip
    sent = run_cli("--config", str(trusted), "summary", "--send", "--as-of", AS_OF)
    assert sent.exit_code == 0, sent.output
    assert len(smtp.messages) == 1 and smtp.messages[0].tls


def test_imap_delivery_appends_unread_into_inbox(dovecot, tmp_path, run_cli) -> None:
    config = prepare(dovecot, tmp_path, run_cli, summary={"delivery": "imap"})
    result = run_cli("--config", str(config), "summary", "--send", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    ((message, flags),) = inbox_summaries(dovecot)
    assert flags - {"\\Recent"} == set()  # unread, unflagged
    assert message["Subject"] == "Kithkin: 1 waiting for your reply"  # Ada, once


def test_imap_append_of_the_same_summary_stores_it_once(imap_server, tmp_path) -> None:
    config = load_config(write_config(tmp_path, imap_server))
    rendered = render_summary(Report(as_of=datetime(2026, 11, 23).date()), owner=ME,
                              max_people=7, token="cd" * 16)  # fmt: skip
    message = build_message(rendered, owner=ME, now=datetime(2026, 11, 23, tzinfo=UTC))
    assert append_imap(message, config.require_imap(), imap_server.password) is True
    assert append_imap(message, config.require_imap(), imap_server.password) is False
    assert len(inbox_summaries(imap_server)) == 1


@pytest.mark.parametrize("send_when_empty", [True, False])
def test_an_empty_week(dovecot, tmp_path, run_cli, send_when_empty: bool) -> None:
    config = write_config(tmp_path, dovecot, sections={
        "summary": {"delivery": "imap", "send_when_empty": send_when_empty}})  # fmt: skip
    result = run_cli("--config", str(config), "summary", "--send", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    found = inbox_summaries(dovecot)
    if send_when_empty:
        assert [m["Subject"] for m, _ in found] == ["Kithkin: all good this week"]
    else:
        assert found == []
        assert "nothing sent" in result.stdout


def test_the_summary_goes_only_to_the_owner(tmp_path: Path, run_cli, pymap_server) -> None:
    config = write_config(tmp_path, pymap_server, sections={"summary": {"to": "ada@example.org"}})
    result = run_cli("--config", str(config), "summary", "--send")
    assert result.exit_code == 2
    assert "[summary] to must be one of [me] addresses" in result.stderr


def test_report_after_a_real_sync(dovecot, tmp_path, run_cli) -> None:
    config = prepare(dovecot, tmp_path, run_cli)
    recent = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
    append(dovecot, "INBOX", make_message(from_="ada@example.org", to=ME, subject="are you ok?",
                                          date=recent))  # fmt: skip
    run_cli("--config", str(config), "sync", "-q")
    data = json.loads(run_cli("--config", str(config), "report", "--json", "--as-of",
                              AS_OF).stdout)  # fmt: skip
    assert data["awaiting_reply"] == [
        {"contact": "Ada Lovelace", "last_interaction": "2026-11-19T09:00:00Z",
         "days_waiting": 4, "subject": "are you ok?"}
    ]  # fmt: skip
    assert (datetime(2026, 11, 23, tzinfo=UTC) - recent) < timedelta(days=5)
