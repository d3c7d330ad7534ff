"""When the server says no, cannot be reached, fails TLS or drops the line: one line, exit 1,
and everything committed before stays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ME, write_config
from mailbuilder import make_message
from servers import DovecotServer, append, free_port

from kithkin.daemon.config import load_config
from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.session import ImapSession
from kithkin.daemon.store import Store
from kithkin.daemon.sync import Sync


def one_line_error(result, *fragments: str, secret: str | None = None) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kithkin: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    if secret:
        assert secret not in result.output


def test_wrong_password(imap_server, tmp_path: Path, run_cli) -> None:
    config = write_config(tmp_path, imap_server, password="not-the-password-4711")
    result = run_cli("--config", str(config), "sync")
    one_line_error(result, f"{imap_server.host}:{imap_server.port}", "login failed",
                   secret="not-the-password-4711")  # fmt: skip


def test_unreachable_server(tmp_path: Path, run_cli, pymap_server) -> None:
    config = write_config(tmp_path, pymap_server, imap={"port": free_port()})
    result = run_cli("--config", str(config), "sync")
    one_line_error(result, "127.0.0.1:", "connection refused")


def test_unknown_host(tmp_path: Path, run_cli, pymap_server) -> None:
    config = write_config(
        tmp_path, pymap_server, imap={"host": "no-such-host.invalid", "security": "tls"}
    )
    result = run_cli("--config", str(config), "sync")
    one_line_error(result, "no-such-host.invalid:", "cannot connect")


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_an_untrusted_certificate_is_refused(dovecot_tls, tmp_path, run_cli, security) -> None:
    port = dovecot_tls.tls_port if security == "tls" else dovecot_tls.port
    config = write_config(tmp_path, dovecot_tls, imap={"security": security, "port": port})
    result = run_cli("--config", str(config), "sync")
    one_line_error(result, f"127.0.0.1:{port}", "certificate")


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_a_trusted_certificate_is_accepted(dovecot_tls, tmp_path, run_cli, security) -> None:
    port = dovecot_tls.tls_port if security == "tls" else dovecot_tls.port
    config = write_config(
        tmp_path, dovecot_tls,
        imap={"security": security, "port": port, "ca_file": str(dovecot_tls.ca_file)},
    )  # fmt: skip
    result = run_cli("--config", str(config), "sync")
    assert result.exit_code == 0, result.output


def test_starttls_missing_is_an_error_not_a_plaintext_fallback(dovecot, tmp_path, run_cli):
    config = write_config(tmp_path, dovecot, imap={"security": "starttls"})
    result = run_cli("--config", str(config), "sync")
    one_line_error(result, f"127.0.0.1:{dovecot.port}", "STARTTLS")


def test_a_password_command_that_fails_is_one_line(tmp_path, run_cli, pymap_server) -> None:
    config = write_config(tmp_path, pymap_server, imap={"password_command": ["false"]})
    result = run_cli("--config", str(config), "sync")
    one_line_error(result, "password_command", "false", "status 1")


class KillAfterFirstBatch:
    """A mail source that kills the server after handing over the first batch."""

    def __init__(self, mailbox: ImapSession, server: DovecotServer) -> None:
        self.mailbox, self.server, self.batches = mailbox, server, 0

    def __getattr__(self, name: str):
        return getattr(self.mailbox, name)

    def prefetch_headers(self, uids):
        """Nothing is sent ahead: every reply could otherwise be in before the kill."""

    def fetch_headers(self, uids):
        self.batches += 1
        if self.batches == 2:
            self.server.kill()
        return self.mailbox.fetch_headers(uids)


def test_a_dropped_connection_keeps_every_committed_batch(dovecot, tmp_path, monkeypatch, run_cli):
    monkeypatch.setattr("kithkin.daemon.sync.batches.FETCH_BATCH", 4)
    config_path = write_config(tmp_path, dovecot)
    result = run_cli("--config", str(config_path), "contacts", "add", "Ada",
                     "--email", "ada@example.org")  # fmt: skip
    assert result.exit_code == 0
    for n in range(10):
        append(dovecot, "INBOX", make_message(from_="ada@example.org", to=ME, subject=f"m{n}"))
    config = load_config(config_path)
    store = Store.open(config.store_path)
    mailbox = ImapSession.connect(config.require_imap(), dovecot.password)
    with pytest.raises(MailboxError, match=rf"127\.0\.0\.1:{dovecot.port}"):
        Sync(KillAfterFirstBatch(mailbox, dovecot), store, config.me, clock=_now).run()
    mailbox.logout()
    kept = [row["subject"] for row in store.interactions.list()]
    cursor = store.folders.get("INBOX").last_uid
    assert cursor == 4  # the first batch, and not the second
    assert sorted(kept) == [f"m{n}" for n in range(4)]
    store.close()

    dovecot.restart()
    result = run_cli("--config", str(config_path), "sync")
    assert result.exit_code == 0, result.output
    listed = json.loads(run_cli("--config", str(config_path), "interactions", "--json").stdout)
    assert sorted(row["subject"] for row in listed) == [f"m{n}" for n in range(10)]


def _now():
    from datetime import UTC, datetime

    return datetime(2026, 11, 23, tzinfo=UTC)
