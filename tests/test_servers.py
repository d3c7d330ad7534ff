"""The test servers and helpers do what the rest of the suite relies on."""

from __future__ import annotations

import contextlib
import imaplib
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from mailbuilder import encoded_word, make_message
from servers import (
    DovecotServer,
    ImapServer,
    PymapServer,
    ServerError,
    SmtpServer,
    append,
    create_folder,
    flags_snapshot,
    imap_client,
    port_accepts,
    recreate_folder,
    uidvalidity,
)

TESTS_DIR = Path(__file__).resolve().parent


def folder_names(server: ImapServer) -> dict[str, set[str]]:
    """{folder: its LIST attributes}."""
    with imap_client(server) as client:
        return {
            name: {flag.decode() for flag in flags} for flags, _sep, name in client.list_folders()
        }


def fetch_headers(server: ImapServer, folder: str) -> dict[int, bytes]:
    with imap_client(server) as client:
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        if not uids:
            return {}
        response = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT MESSAGE-ID)]"])
    # The reply's key differs by server (pymap sorts the field names), so take it by prefix.
    return {
        uid: next(value for key, value in data.items() if key.startswith(b"BODY[HEADER.FIELDS"))
        for uid, data in response.items()
    }


# --- mailbuilder ---------------------------------------------------------------------------


def test_make_message_is_crlf_and_parses() -> None:
    raw = make_message(
        from_="Alice <alice@example.org>",
        to=["bob@example.net", "Carol <carol@example.com>"],
        cc="dave@example.org",
        subject="Lunch?",
        date=datetime(2024, 3, 1, 12, 30, tzinfo=UTC),
        message_id="<fixed@kithkin.test>",
        headers=[("In-Reply-To", "<a@b>"), ("Received", "one"), ("Received", "two")],
        body="line one\nline two\n",
    )
    assert b"\n" not in raw.replace(b"\r\n", b"")
    message = message_from_bytes(raw, policy=policy.default)
    assert message["From"] == "Alice <alice@example.org>"
    assert message["To"] == "bob@example.net, Carol <carol@example.com>"
    assert message["Cc"] == "dave@example.org"
    assert message["Subject"] == "Lunch?"
    assert message["Date"] == "Fri, 01 Mar 2024 12:30:00 +0000"
    assert message["Message-ID"] == "<fixed@kithkin.test>"
    assert message.get_all("Received") == ["one", "two"]
    assert message.get_content() == "line one\r\nline two\r\n"


def test_make_message_omissions_raw_values_and_unique_ids() -> None:
    raw = make_message(
        from_="J\xfcrgen <j@example.org>".encode("latin-1"),
        subject=encoded_word("Zoë"),
        date="Mon, 32 Foo 99 25:61:00 +9999",
        message_id=False,
    )
    assert b"From: J\xfcrgen <j@example.org>\r\n" in raw
    assert b"Subject: =?utf-8?q?Zo=C3=AB?=\r\n" in raw
    assert b"Date: Mon, 32 Foo 99 25:61:00 +9999\r\n" in raw
    assert b"Message-ID" not in raw
    assert b"\r\nTo:" not in raw and b"\r\nBcc:" not in raw
    assert b"Date:" not in make_message(from_="a@example.org", date=False)
    first, second = (make_message(from_="a@example.org") for _ in range(2))
    ids = [message_from_bytes(m)["Message-ID"] for m in (first, second)]
    assert ids[0] != ids[1] and all(i.endswith("@kithkin.test>") for i in ids)


# --- both IMAP servers ---------------------------------------------------------------------


def test_fresh_server_has_empty_inbox_and_sent(imap_server: ImapServer) -> None:
    folders = folder_names(imap_server)
    assert {"INBOX", "Sent"} <= set(folders)
    with imap_client(imap_server) as client:
        for folder in ("INBOX", "Sent"):
            assert client.select_folder(folder, readonly=True)[b"EXISTS"] == 0


def test_append_then_read_headers_back(imap_server: ImapServer) -> None:
    raw = make_message(
        from_="Alice <alice@example.org>",
        to="owner@example.net",
        subject="Dinner",
        message_id="<dinner-1@kithkin.test>",
    )
    uid = append(imap_server, "INBOX", raw)
    assert uid is not None  # both servers have UIDPLUS
    headers = fetch_headers(imap_server, "INBOX")
    assert list(headers) == [uid]
    assert b"From: Alice <alice@example.org>\r\n" in headers[uid]
    assert b"Subject: Dinner\r\n" in headers[uid]
    assert b"Message-ID: <dinner-1@kithkin.test>\r\n" in headers[uid]


def test_append_keeps_internaldate(imap_server: ImapServer) -> None:
    when = datetime(2021, 6, 1, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    uid = append(imap_server, "Sent", make_message(from_="me@example.org"), msg_time=when)
    with imap_client(imap_server) as client:
        client.select_folder("Sent", readonly=True)
        assert uid is not None
        internaldate = client.fetch([uid], ["INTERNALDATE"])[uid][b"INTERNALDATE"]
    # imapclient returns naive local time unless normalise_times=False; compare instants.
    assert internaldate.astimezone(UTC) == when.astimezone(UTC)


def test_wrong_password_is_refused(imap_server: ImapServer) -> None:
    with pytest.raises(LoginError):
        imap_client(imap_server, password="not-" + imap_server.password)


def test_flags_round_trip_and_snapshot_changes_nothing(imap_server: ImapServer) -> None:
    create_folder(imap_server, "Archive")
    flagged = append(
        imap_server, "INBOX", make_message(from_="a@example.org"), flags=["\\Flagged", "$Work"]
    )
    unread = append(imap_server, "INBOX", make_message(from_="b@example.org"))
    read = append(imap_server, "Archive", make_message(from_="c@example.org"), flags=["\\Seen"])
    assert None not in (flagged, unread, read)

    first = flags_snapshot(imap_server)
    assert first == {
        ("INBOX", flagged): frozenset({"\\Flagged", "$Work"}),
        ("INBOX", unread): frozenset(),
        ("Archive", read): frozenset({"\\Seen"}),
    }
    assert flags_snapshot(imap_server) == first
    with imap_client(imap_server) as client:
        assert client.folder_status("INBOX", [b"UNSEEN"])[b"UNSEEN"] == 2


def test_flags_snapshot_notices_a_read_message(imap_server: ImapServer) -> None:
    """The control for the test above: reading a body read-write does set \\Seen."""
    uid = append(imap_server, "INBOX", make_message(from_="a@example.org"))
    before = flags_snapshot(imap_server)
    with imap_client(imap_server) as client:
        client.select_folder("INBOX")
        client.fetch([uid], ["BODY[]"])
    after = flags_snapshot(imap_server)
    assert before[("INBOX", uid)] == frozenset()
    assert after[("INBOX", uid)] == frozenset({"\\Seen"})


def test_recreate_folder_changes_uidvalidity_and_empties_it(imap_server: ImapServer) -> None:
    append(imap_server, "Sent", make_message(from_="me@example.org"))
    before = uidvalidity(imap_server, "Sent")
    after = recreate_folder(imap_server, "Sent")
    assert after != before
    assert uidvalidity(imap_server, "Sent") == after
    assert fetch_headers(imap_server, "Sent") == {}
    with pytest.raises(ValueError):
        recreate_folder(imap_server, "INBOX")


SEARCH_MAIL: list[dict[str, Any]] = [
    {
        "from_": "Alice Example <alice@example.org>",
        "to": ["bob@example.net", "Carol <carol@example.com>"],
        "cc": "dave@example.org",
        "bcc": "eve@example.org",
    },
    {"from_": f"{encoded_word('Zoë Ünicode')} <zoe@example.org>", "to": "Frank <FRANK@Ex.NET>"},
    {
        "from_": "mallory@evil.example",
        "to": "bob@example.net",
        "headers": [("Reply-To", "alice@example.org")],
    },
    {
        "from_": "Grace <grace@example.org>",
        "to": "undisclosed-recipients:;",
        "bcc": ["bob@example.net", "heidi@example.org"],
    },
]
SEARCHES: list[tuple[list[object], list[int]]] = [
    (["FROM", "alice@example.org"], [1]),
    (["FROM", "ALICE@EXAMPLE.ORG"], [1]),  # case-insensitive
    (["FROM", "example.org"], [1, 2, 4]),  # substring, as RFC 3501 says
    (["FROM", "Alice Example"], [1]),  # the display name counts too
    (["FROM", "Ünicode"], [2]),  # RFC 2047 names are decoded (sent as CHARSET UTF-8)
    (["TO", "frank@ex.net"], [2]),
    (["CC", "dave@example.org"], [1]),
    (["BCC", "eve@example.org"], [1]),
    (["BCC", "heidi@example.org"], [4]),
    (["FROM", "nobody@example.org"], []),
    (["OR", "FROM", "alice@example.org", "TO", "frank@ex.net"], [1, 2]),
    (["OR", ["FROM", "zzz@example.org"], ["BCC", "heidi@example.org"]], [4]),
    (["OR", "FROM", "bob@example.net", "OR", "TO", "bob@example.net",
      "OR", "CC", "bob@example.net", "BCC", "bob@example.net"], [1, 3, 4]),
    (["NOT", "FROM", "alice@example.org"], [2, 3, 4]),
    (["HEADER", "Reply-To", "alice@example.org"], [3]),
]  # fmt: skip


def test_address_searches_for_targeted_backfill(imap_server: ImapServer) -> None:
    uids = [append(imap_server, "INBOX", make_message(**fields)) for fields in SEARCH_MAIL]
    results = {}
    with imap_client(imap_server) as client:
        client.select_folder("INBOX", readonly=True)
        for criteria, _expected in SEARCHES:
            charset = "UTF-8" if not str(criteria).isascii() else None
            found = client.search(criteria, charset=charset)
            results[str(criteria)] = sorted(uids.index(uid) + 1 for uid in found)
    assert results == {str(criteria): expected for criteria, expected in SEARCHES}


# --- Dovecot only --------------------------------------------------------------------------


def test_dovecot_lists_sent_by_special_use(dovecot: DovecotServer) -> None:
    folders = folder_names(dovecot)
    assert "\\Sent" in folders["Sent"]
    assert not any("\\All" in flags for flags in folders.values())
    with imap_client(dovecot) as client:
        assert client.has_capability("SPECIAL-USE")
        assert client.has_capability("CONDSTORE")


def test_dovecot_all_mail_folder(dovecot_all_mail: DovecotServer) -> None:
    folders = folder_names(dovecot_all_mail)
    assert "\\All" in folders["All Mail"]
    assert "\\Sent" in folders["Sent"]


def test_pymap_has_a_plain_sent_folder(pymap_server: PymapServer) -> None:
    folders = folder_names(pymap_server)
    assert set(folders) == {"INBOX", "Sent"}
    assert not any(flag in flags for flags in folders.values() for flag in ("\\Sent", "\\All"))
    with imap_client(pymap_server) as client:
        assert not client.has_capability("SPECIAL-USE")


def test_dovecot_listens_only_on_its_port(dovecot: DovecotServer) -> None:
    assert dovecot.listening() == {("127.0.0.1", dovecot.port)}  # no 143, no 993
    assert port_accepts(dovecot.host, dovecot.port, expect=b"* OK")


def test_dovecot_tls_listens_on_two_ports(dovecot_tls: DovecotServer) -> None:
    assert dovecot_tls.tls_port is not None
    assert dovecot_tls.listening() == {
        ("127.0.0.1", dovecot_tls.port),
        ("127.0.0.1", dovecot_tls.tls_port),
    }


@pytest.mark.usefixtures("needs_dovecot")
def test_dovecot_start_failure_reports_the_log() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        server = DovecotServer()
        server.port = blocker.getsockname()[1]  # as on a restart: the port is fixed
        try:
            with pytest.raises(ServerError, match="Address already in use") as failure:
                server.start()
            assert "--- dovecot log" in str(failure.value)
            assert not server.running
        finally:
            server.close()


def test_dovecot_restart_keeps_port_and_mail(dovecot: DovecotServer) -> None:
    uid = append(dovecot, "INBOX", make_message(from_="a@example.org", subject="keep me"))
    port, validity = dovecot.port, uidvalidity(dovecot, "INBOX")
    assert any(dovecot.maildir.joinpath("new").iterdir())
    dovecot.restart()
    assert dovecot.port == port
    assert uidvalidity(dovecot, "INBOX") == validity
    headers = fetch_headers(dovecot, "INBOX")
    assert list(headers) == [uid] and b"keep me" in headers[uid]


def test_dovecot_kill_drops_connections_and_restart_recovers(dovecot: DovecotServer) -> None:
    uid = append(dovecot, "INBOX", make_message(from_="a@example.org"))
    client = imap_client(dovecot)
    client.select_folder("INBOX", readonly=True)
    dovecot.kill()
    assert not dovecot.running
    assert not port_accepts(dovecot.host, dovecot.port)
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        client.noop()
    client.shutdown()
    dovecot.restart()
    assert list(fetch_headers(dovecot, "INBOX")) == [uid]


def test_dovecot_stop_leaves_no_process(dovecot: DovecotServer) -> None:
    dovecot.stop()
    assert not dovecot.running
    assert not port_accepts(dovecot.host, dovecot.port)
    dovecot.start()
    assert port_accepts(dovecot.host, dovecot.port)


def test_dovecot_add_user_gets_its_own_mailbox(dovecot: DovecotServer) -> None:
    append(dovecot, "INBOX", make_message(from_="a@example.org"))
    password = dovecot.add_user("second")
    with imap_client(dovecot, username="second", password=password) as client:
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0
        assert "Sent" in [name for _flags, _sep, name in client.list_folders()]
    assert dovecot.maildir_for("second").is_dir()


# --- TLS -----------------------------------------------------------------------------------


def untrusting_context() -> ssl.SSLContext:
    """The system's CAs only, which never include the test CA."""
    return ssl.create_default_context()


def trusting_context(ca_file: Path | None) -> ssl.SSLContext:
    assert ca_file is not None
    return ssl.create_default_context(cafile=str(ca_file))


def test_dovecot_implicit_tls_needs_the_test_ca(dovecot_tls: DovecotServer) -> None:
    assert dovecot_tls.tls_port is not None
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(dovecot_tls.host, dovecot_tls.tls_port, ssl_context=untrusting_context())
    with IMAPClient(
        dovecot_tls.host,
        dovecot_tls.tls_port,
        ssl_context=trusting_context(dovecot_tls.ca_file),
        timeout=10,
    ) as client:
        client.login(dovecot_tls.username, dovecot_tls.password)
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0


@pytest.mark.parametrize("hostname", ["127.0.0.1", "localhost"])
def test_dovecot_starttls_needs_the_test_ca(dovecot_tls: DovecotServer, hostname: str) -> None:
    client = IMAPClient(hostname, dovecot_tls.port, ssl=False, timeout=10)
    assert client.has_capability("STARTTLS")
    with pytest.raises(ssl.SSLCertVerificationError):
        client.starttls(untrusting_context())
    with contextlib.suppress(OSError):  # the failed handshake already closed the socket
        client.shutdown()
    with IMAPClient(hostname, dovecot_tls.port, ssl=False, timeout=10) as client:
        client.starttls(trusting_context(dovecot_tls.ca_file))
        client.login(dovecot_tls.username, dovecot_tls.password)


# --- SMTP ----------------------------------------------------------------------------------


def test_smtp_delivers_into_the_dovecot_inbox(
    smtp_server: SmtpServer, dovecot: DovecotServer
) -> None:
    raw = make_message(
        from_="Kithkin <kithkin@example.org>",
        to="owner@example.org",
        bcc="archive@example.org",
        subject="Weekly summary",
    )
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.login(smtp_server.username, smtp_server.password)
        refused = client.sendmail(
            "kithkin@example.org", ["owner@example.org", "archive@example.org"], raw
        )
    assert refused == {}
    [received] = smtp_server.messages
    assert received.mail_from == "kithkin@example.org"
    assert received.rcpt_tos == ("owner@example.org", "archive@example.org")
    assert received.login == smtp_server.username
    assert not received.tls
    assert received.data.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    headers = list(fetch_headers(dovecot, "INBOX").values())
    assert len(headers) == 1 and b"Subject: Weekly summary\r\n" in headers[0]


def test_smtp_refuses_a_wrong_password(smtp_server: SmtpServer) -> None:
    with (
        smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPAuthenticationError),
    ):
        client.login(smtp_server.username, "wrong")
    assert smtp_server.messages == []


def test_smtp_implicit_tls_needs_the_test_ca(
    smtp_server_tls: SmtpServer, dovecot_tls: DovecotServer
) -> None:
    host, port = smtp_server_tls.host, smtp_server_tls.port
    with pytest.raises(ssl.SSLCertVerificationError):
        smtplib.SMTP_SSL(host, port, context=untrusting_context(), timeout=10)
    context = trusting_context(smtp_server_tls.ca_file)
    with smtplib.SMTP_SSL(host, port, context=context, timeout=10) as client:
        client.login(smtp_server_tls.username, smtp_server_tls.password)
        client.sendmail("a@example.org", ["b@example.org"], make_message(from_="a@example.org"))
    assert [m.tls for m in smtp_server_tls.messages] == [True]
    assert len(fetch_headers(dovecot_tls, "INBOX")) == 1


def test_smtp_starttls_is_required_and_needs_the_test_ca(smtp_server_starttls: SmtpServer) -> None:
    host, port = smtp_server_starttls.host, smtp_server_starttls.port
    message = make_message(from_="a@example.org")
    with (
        smtplib.SMTP(host, port, timeout=10) as client,
        pytest.raises(smtplib.SMTPSenderRefused),
    ):
        client.sendmail("a@example.org", ["b@example.org"], message)
    with (
        smtplib.SMTP(host, port, timeout=10) as client,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        client.starttls(context=untrusting_context())
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.starttls(context=trusting_context(smtp_server_starttls.ca_file))
        client.login(smtp_server_starttls.username, smtp_server_starttls.password)
        client.sendmail("a@example.org", ["b@example.org"], message)
    assert [m.tls for m in smtp_server_starttls.messages] == [True]


# --- Dovecot as an ordinary user -----------------------------------------------------------

NON_ROOT_SCRIPT = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, sys.argv[1])
    from servers import DovecotServer, append, flags_snapshot
    with DovecotServer(all_mail=True) as server:
        uid = append(server, "Sent", b"From: a@example.org\\r\\n\\r\\nhi\\r\\n", flags=["\\\\Seen"])
        server.restart()
        assert flags_snapshot(server) == {("Sent", uid): frozenset({"\\\\Seen"})}
        assert server.maildir.stat().st_uid == os.getuid() != 0
        assert server.listening() == {("127.0.0.1", server.port)}
    print("ok")
    """
)


def nobody_python() -> list[str]:
    """A command that runs this Python with our packages as `nobody`, or skip.

    This interpreter may live where `nobody` cannot go (pyenv under /root); a system
    python3 of the same version with our site-packages on PYTHONPATH then does.
    """
    site = os.pathsep.join(path for path in sys.path if path.endswith("site-packages"))
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    tried = []
    for python in dict.fromkeys([sys.executable, shutil.which(version), f"/usr/bin/{version}"]):
        if python is None:
            continue
        command = ["runuser", "-u", "nobody", "--", "env", f"PYTHONPATH={site}", python]
        probe = subprocess.run(
            [*command, "-c", "import imapclient, aiosmtpd"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return command
        tried.append(f"{python}: {probe.stderr.decode(errors='replace').strip()[-200:]}")
    pytest.skip("nobody cannot run a Python with our packages: " + "; ".join(tried))


@pytest.mark.skipif(os.geteuid() != 0, reason="running as an ordinary user already")
@pytest.mark.usefixtures("needs_dovecot")
def test_dovecot_works_for_an_ordinary_user() -> None:
    """CI runs as root; this runs the same Dovecot code as `nobody`, as a developer would."""
    if shutil.which("runuser") is None:
        pytest.skip("runuser not available")
    # A copy of the helpers that `nobody` can read (pytest's tmp_path is private to root).
    shared = Path(tempfile.mkdtemp(prefix="kithkin-nobody-"))
    try:
        for name in (
            "servers.py",
            "processes.py",
            "mailboxes.py",
            "pymapserver.py",
            "mailbuilder.py",
            "helpers.py",
        ):
            shutil.copy(TESTS_DIR / name, shared / name)
        shared.chmod(0o755)
        runuser = nobody_python()
        result = subprocess.run(
            [*runuser, "-c", NON_ROOT_SCRIPT, str(shared)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip() == "ok"
    finally:
        shutil.rmtree(shared, ignore_errors=True)
