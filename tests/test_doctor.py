"""`kithkin doctor` against real servers: Dovecot (plain, STARTTLS and TLS with a test CA),
aiosmtpd, and a port where nothing listens. Each mistake a user can make gives its one
line and its hint; the secret never shows; nothing on the server or on disk changes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from faultproxy import FaultProxy
from helpers import ME, write_config
from mailbuilder import make_message
from servers import append, flags_snapshot, free_port, imap_client

from kithkin.daemon.doctor import Context, Result, run_doctor
from kithkin.daemon.doctor.results import STATUSES
from kithkin.daemon.store import Store

SECRET_MARK = "Zq-doctor-secret-7731"
# What the doctor may say to an IMAP server: nothing that opens or changes a folder.
READ_ONLY_VERBS = {
    b"CAPABILITY",
    b"LOGIN",
    b"AUTHENTICATE",
    b"LIST",
    b"STATUS",
    b"NOOP",
    b"LOGOUT",
    b"STARTTLS",
    b"MYRIGHTS",
    b"GETQUOTAROOT",
    b"ID",
}


@dataclass
class Endpoint:
    """Where write_config points: a proxy before a server, or a port nobody listens on."""

    host: str
    port: int
    username: str = "kithkin"
    password: str = SECRET_MARK


def nowhere() -> Endpoint:
    return Endpoint("127.0.0.1", free_port())


def doctor(config: Path, **options) -> dict[str, Result]:
    """Run every check in-process, systemd left out (it is the machine's, not the test's)."""
    context = Context(config_path=config, systemd_booted=False, **options)
    return {result.name: result for result in run_doctor(context)}


def lines(output: str) -> dict[str, str]:
    """The text output's result lines by check name (the hint lines joined to theirs)."""
    found: dict[str, str] = {}
    name = None
    for line in output.splitlines():
        if line[:5].strip() in ("OK", "WARN", "FAIL", "SKIP", "NOTE"):
            name = line[6:24].strip()
            found[name] = line
        elif name is not None and line.strip().startswith("hint:"):
            found[name] += "\n" + line
    return found


def private(config: Path) -> Path:
    config.chmod(0o600)
    return config


def test_all_ok_exits_0_and_changes_nothing(dovecot, tmp_path, run_cli) -> None:
    for subject in ("one", "two"):
        append(dovecot, "INBOX", make_message(from_="ada@example.org", to=ME, subject=subject))
    append(dovecot, "Sent", make_message(from_=ME, to="ada@example.org"))
    config = private(write_config(tmp_path / "k", dovecot))
    before = flags_snapshot(dovecot)
    with imap_client(dovecot) as client:
        status_before = {f: client.folder_status(f) for f in ("INBOX", "Sent")}
    result = run_cli("--config", str(config), "doctor")
    assert result.exit_code == 0, result.output
    found = lines(result.stdout)
    assert list(found)[:4] == ["config file", "config", "imap password", "imap dns"]
    assert {line[:5].strip() for line in found.values()} <= {"OK", "NOTE"}, result.stdout
    assert "127.0.0.1 resolves to 127.0.0.1" in found["imap dns"]
    assert f"connected to 127.0.0.1:{dovecot.port}" in found["imap tcp"]
    assert "reads INBOX (always read), Sent (by its \\Sent attribute)" in found["imap folders"]
    assert "INBOX 2, Sent 1 messages" in found["imap messages"]
    assert "an estimate" in found["imap messages"]
    assert "IDLE yes" in found["imap capabilities"]
    assert "SPECIAL-USE yes" in found["imap capabilities"]
    assert found["summary delivery"].startswith("OK")
    assert result.stdout.rstrip().endswith("Everything checked is OK.")
    # nothing changed: flags, UIDNEXT, UIDVALIDITY, counts; no store created
    assert flags_snapshot(dovecot) == before
    with imap_client(dovecot) as client:
        assert {f: client.folder_status(f) for f in ("INBOX", "Sent")} == status_before
    assert not (tmp_path / "k" / "kithkin.db").exists()
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["config.toml", "imap-password"]


def test_only_read_only_commands_reach_the_server(dovecot, tmp_path) -> None:
    with FaultProxy(dovecot.host, dovecot.port, record=True) as proxy:
        endpoint = Endpoint(proxy.host, proxy.port, dovecot.username, dovecot.password)
        config = private(write_config(tmp_path / "k", endpoint))
        results = doctor(config)
        assert results["summary delivery"].status == "ok"
        verbs = [
            line.split(b" ", 2)[1].upper()
            for session in proxy.sessions
            if session.transcript is not None
            for _offset, line in session.transcript.commands()
            if b" " in line
        ]
    assert b"LIST" in verbs and b"STATUS" in verbs and b"LOGIN" in verbs
    assert set(verbs) <= READ_ONLY_VERBS, sorted(set(verbs) - READ_ONLY_VERBS)


def test_a_wrong_password_fails_the_login_in_one_plain_line(dovecot, tmp_path, run_cli) -> None:
    config = private(write_config(tmp_path / "k", dovecot, password=SECRET_MARK))
    result = run_cli("--config", str(config), "doctor")
    assert result.exit_code == 1
    found = lines(result.stdout)
    login = found["imap login"].splitlines()
    assert login[0].startswith("FAIL")
    assert login[0].endswith("login failed: the server refused the username or password")
    assert (
        'check [imap] username ("kithkin") and the password from password_command (cat)'
        in (login[1])
    )
    for later in ("imap capabilities", "imap folders"):
        assert found[later].split(None, 1)[1].endswith("skipped: needs imap login")
    assert found["imap messages"].endswith("skipped: needs imap folders")
    assert found["store"].startswith("OK")  # what does not need the login still runs
    assert SECRET_MARK not in result.output
    assert result.stdout.rstrip().endswith("1 problem to fix.")


def test_a_missing_configured_folder_is_an_error_naming_it(dovecot, tmp_path) -> None:
    config = write_config(tmp_path / "k", dovecot, imap={"folders": ["INBOX", "Sent Items"]})
    results = doctor(private(config))
    folders = results["imap folders"]
    assert folders.status == "fail"
    assert folders.message == "[imap] folders: 'Sent Items' is not on the server"
    assert folders.hint == "did you mean 'Sent' for 'Sent Items'? the server has: INBOX, Sent"
    assert results["imap messages"].message == "skipped: needs imap folders"


def test_an_untrusted_certificate_gets_the_ca_file_hint(dovecot_tls, tmp_path, run_cli) -> None:
    for security, port in (("starttls", dovecot_tls.port), ("tls", dovecot_tls.tls_port)):
        imap = {"security": security, "port": port}
        config = private(write_config(tmp_path / security, dovecot_tls, imap=imap))
        result = run_cli("--config", str(config), "doctor")
        assert result.exit_code == 1
        tls = lines(result.stdout)["imap tls"].splitlines()
        assert tls[0].startswith("FAIL")
        assert "certificate not accepted: unable to get local issuer certificate" in tls[0]
        assert tls[1].strip() == (
            "hint: if the server uses its own CA (self-hosted), set [imap] ca_file = "
            '"/path/to/ca.pem"'
        )
        assert lines(result.stdout)["imap login"].endswith("skipped: needs imap tls")


def test_a_trusted_certificate_names_the_host_and_warns_before_it_expires(
    dovecot_tls, tmp_path
) -> None:
    imap = {"security": "tls", "port": dovecot_tls.tls_port, "ca_file": str(dovecot_tls.ca_file)}
    config = private(write_config(tmp_path / "k", dovecot_tls, imap=imap))
    now = datetime.now(UTC)
    early = doctor(config, clock=lambda: now - timedelta(days=30))  # the cert lasts 7 days
    assert early["imap tls"].status == "ok"
    assert early["imap tls"].message.startswith(
        f"certificate for 127.0.0.1 trusted (ca_file {dovecot_tls.ca_file}; issued by "
        "Kithkin test CA, valid until "
    )
    assert early["imap login"].status == "ok"
    late = doctor(config, clock=lambda: now)
    assert late["imap tls"].status == "warn"
    assert late["imap tls"].hint == "the certificate expires soon: renew it on the server"


def test_tls_security_against_a_plain_port_says_so(dovecot_tls, tmp_path) -> None:
    imap = {"security": "tls", "port": dovecot_tls.port, "ca_file": str(dovecot_tls.ca_file)}
    tls = doctor(private(write_config(tmp_path / "a", dovecot_tls, imap=imap)))["imap tls"]
    assert (tls.status, tls.message) == (
        "fail",
        f"127.0.0.1:{dovecot_tls.port}: the server answered TLS in plain text",
    )
    assert tls.hint is not None and 'use security = "starttls"' in tls.hint


def test_an_unreachable_port_fails_tcp_and_skips_what_needs_it(tmp_path, run_cli) -> None:
    unreachable = nowhere()
    config = private(write_config(tmp_path / "k", unreachable))
    result = run_cli("--config", str(config), "doctor")
    assert result.exit_code == 1
    found = lines(result.stdout)
    tcp = found["imap tcp"].splitlines()
    assert tcp[0].startswith("FAIL") and tcp[0].endswith(f"{unreachable.port}: connection refused")
    assert f"hint: nothing listens on port {unreachable.port}: check [imap] port" in tcp[1]
    assert found["imap tls"].endswith("skipped: needs imap tcp")
    for later in (
        "imap login",
        "imap capabilities",
        "imap folders",
        "imap messages",
        "summary delivery",
    ):
        assert found[later][:5].strip() == "SKIP", later
    assert found["imap password"].startswith("OK")
    assert SECRET_MARK not in result.output


def test_a_config_readable_by_others_gets_the_chmod_line(tmp_path, run_cli) -> None:
    unreachable = nowhere()
    config = write_config(tmp_path / "k", unreachable)
    config.chmod(0o644)
    result = run_cli("--config", str(config), "doctor")
    entry = lines(result.stdout)["config file"].splitlines()
    assert entry[0].startswith("WARN") and "can be read by other users (mode 0644)" in entry[0]
    assert entry[1].strip() == f"hint: chmod 600 {config}"
    config.chmod(0o666)
    result = run_cli("--config", str(config), "doctor")
    entry = lines(result.stdout)["config file"].splitlines()
    assert entry[0].startswith("FAIL") and "can be changed by other users (mode 0666)" in entry[0]
    assert entry[1].strip() == f"hint: chmod 600 {config}"
    assert lines(result.stdout)["config"].startswith("SKIP")


def test_no_config_file_says_run_init(tmp_path, run_cli) -> None:
    result = run_cli("--config", str(tmp_path / "absent.toml"), "doctor", "--json")
    assert result.exit_code == 1
    checks = json.loads(result.stdout)["checks"]
    assert checks[0] == {
        "name": "config file",
        "status": "fail",
        "message": f"no config file at {tmp_path / 'absent.toml'}",
        "hint": "run `kithkin init --email you@example.org` to write one",
    }
    assert checks[1]["message"] == "skipped: needs config file"
    assert {c["name"] for c in checks if c["status"] == "skip"} >= {"imap login", "store"}
    assert not any(c["name"].startswith("smtp") for c in checks)  # delivery is not known


def test_json_shape(dovecot, tmp_path, run_cli) -> None:
    config = private(write_config(tmp_path / "k", dovecot, password=SECRET_MARK))
    result = run_cli("--config", str(config), "doctor", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert set(data) == {"ok", "checks"} and data["ok"] is False
    for check in data["checks"]:
        assert set(check) == {"name", "status", "message", "hint"}
        assert check["status"] in STATUSES
        assert isinstance(check["message"], str) and check["message"]
        assert check["hint"] is None or isinstance(check["hint"], str)
    names = [check["name"] for check in data["checks"]]
    assert names == [
        "config file",
        "config",
        "imap password",
        "imap dns",
        "imap tcp",
        "imap tls",
        "imap login",
        "imap capabilities",
        "imap folders",
        "imap messages",
        "store",
        "summary delivery",
        "service",
    ]
    assert SECRET_MARK not in result.output
    ok = private(write_config(tmp_path / "ok", dovecot))
    passed = run_cli("--config", str(ok), "doctor", "--json")
    assert passed.exit_code == 0 and json.loads(passed.stdout)["ok"] is True


def test_a_secret_from_password_command_never_appears(dovecot, tmp_path, run_cli) -> None:
    """The command prints the secret and names it in its own arguments: neither shows, in
    text or JSON, whether the login works or not."""
    for password in (dovecot.password, SECRET_MARK):
        command = ["sh", "-c", f"echo '{password}'"]
        config = private(
            write_config(tmp_path / password[:4], dovecot, imap={"password_command": command})
        )
        for extra in ((), ("--json",), ("-vv",)):
            args = (
                ("-vv", "--config", str(config), "doctor")
                if extra == ("-vv",)
                else ("--config", str(config), "doctor", *extra)
            )
            result = run_cli(*args)
            assert password not in result.output
            assert "password_command (sh)" in result.output
        assert (result.exit_code == 0) == (password == dovecot.password)


def test_smtp_delivery_logs_in_and_sends_nothing(smtp_server_tls, dovecot_tls, tmp_path) -> None:
    smtp_secret = tmp_path / "smtp-password"
    smtp_secret.write_text(smtp_server_tls.password + "\n")
    smtp = {
        "host": smtp_server_tls.host,
        "port": smtp_server_tls.port,
        "security": "tls",
        "username": smtp_server_tls.username,
        "ca_file": str(smtp_server_tls.ca_file),
        "password_command": ["cat", str(smtp_secret)],
    }
    config = private(
        write_config(
            tmp_path / "k", dovecot_tls, sections={"smtp": smtp, "summary": {"delivery": "smtp"}}
        )
    )
    now = datetime.now(UTC) - timedelta(days=30)
    results = doctor(config, clock=lambda: now)
    for name in (
        "smtp password",
        "smtp dns",
        "smtp tcp",
        "smtp tls",
        "smtp login",
        "summary delivery",
    ):
        assert results[name].status == "ok", results[name]
    assert results["smtp login"].message == "logged in as kithkin, then QUIT without sending"
    assert results["summary delivery"].message == (
        f"the summary can go by SMTP to {ME} (nothing was sent)"
    )
    assert smtp_server_tls.messages == []
    smtp_secret.write_text(SECRET_MARK + "\n")
    results = doctor(config, clock=lambda: now)
    login = results["smtp login"]
    assert (login.status, login.message) == (
        "fail",
        f"127.0.0.1:{smtp_server_tls.port}: the server refused the username or password",
    )
    assert results["summary delivery"].message == "skipped: needs smtp login"
    assert SECRET_MARK not in repr(results)
    assert smtp_server_tls.messages == []


def test_the_doctor_command_is_in_help(run_cli) -> None:
    result = run_cli("doctor", "--help")
    assert result.exit_code == 0
    assert "Exit status 0 only when all is well (notes allowed), 3 when" in (
        " ".join(result.stdout.split())
    )


def test_the_store_check_never_creates_the_store(tmp_path) -> None:
    unreachable = nowhere()
    store = tmp_path / "deep" / "er" / "kithkin.db"
    config = write_config(tmp_path / "k", unreachable, sections={"store": {"path": str(store)}})
    result = doctor(private(config))["store"]
    assert result.status == "ok"
    assert result.message == f"{store} does not exist yet; the first sync creates it (mode 0600)"
    assert not (tmp_path / "deep").exists()


@contextmanager
def unwritable(directory: Path) -> Iterator[None]:
    """`directory` not writable, even by root: mode 0500, and for root (whom modes do not
    stop) the immutable attribute, where the file system has it."""
    root = os.geteuid() == 0
    directory.chmod(0o500)
    if root:
        if shutil.which("chattr") is None:
            directory.chmod(0o700)
            pytest.skip("root, and no chattr (e2fsprogs) to make a directory immutable")
        done = subprocess.run(["chattr", "+i", str(directory)], capture_output=True, check=False)
        if done.returncode != 0:
            directory.chmod(0o700)
            pytest.skip(f"root, and chattr +i does not work here: {done.stderr!r}")
    try:
        yield
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(directory)], check=True)
        directory.chmod(0o700)


def test_a_store_directory_that_is_not_writable_fails_for_the_wal(tmp_path) -> None:
    config = private(write_config(tmp_path / "k", nowhere()))
    store = tmp_path / "k" / "kithkin.db"
    Store.open(store).close()
    with unwritable(store.parent):
        result = doctor(config)["store"]
        assert os.access(store, os.W_OK)  # the file is writable: only the directory is not
    assert (result.status, result.message, result.hint) == (
        "fail",
        f"{store.parent} is not writable by you: SQLite's write-ahead log needs to create "
        + "files beside the database",
        f"chmod u+rwx {store.parent}",
    )


# --- INBOX delivery against a Dovecot with quota and ACL plugins ---------------------------

QUOTA = """
mail_plugins = $mail_plugins quota{acl}
protocol imap {{
  mail_plugins = $mail_plugins imap_quota{imap_acl}
{capability}}}
plugin {{
  quota = count:User quota
  quota_vsizes = yes
  quota_rule = *:storage={storage}
{acl_file}}}
"""


@pytest.mark.dovecot
@pytest.mark.parametrize(
    ("rights", "storage", "appendlimit", "status", "message"),
    [
        (None, "20M", None, "ok",
         "INBOX can take the summary by APPEND (20,480 KiB free; nothing was stored)"),
        ("lrwstipekxa", "20M", None, "ok",
         # Dovecot adds RFC 2086's c and d for the old clients
         "INBOX can take the summary by APPEND (rights lrwstipekxacd, 20,480 KiB free; "
         + "nothing was stored)"),
        ("lr", "20M", None, "fail", "you may not add messages to INBOX (your rights: lr)"),
        (None, "100K", None, "fail",
         "INBOX has 100 KiB free of its 100 KiB quota: too little for the summary (QUOTA)"),
        (None, "20M", 50_000, "fail",
         "the server takes messages of at most 50,000 bytes (APPENDLIMIT)"),
        # a broken ACL file ('c' is no right Dovecot knows): every ACL lookup fails with NO
        ("lrc", "20M", None, "warn",
         "the server would not answer MYRIGHTS and GETQUOTAROOT for INBOX, so whether it takes "
         + "the summary is not known (nothing was stored)"),
    ],
    ids=["quota", "acl", "no-insert-right", "quota-full", "appendlimit", "refused"],
)  # fmt: skip
def test_inbox_delivery_asks_the_server_without_appending(
    needs_dovecot, tmp_path, rights, storage, appendlimit, status, message
) -> None:
    from servers import DovecotServer

    server = DovecotServer()
    try:
        acl_file = server.directory / "global-acl"
        if rights:
            acl_file.write_text(f"INBOX owner {rights}\n")
            acl_file.chmod(0o644)
        server.extra_config = QUOTA.format(
            acl=" acl" if rights else "",
            imap_acl=" imap_acl" if rights else "",
            capability=f"  imap_capability = +APPENDLIMIT={appendlimit}\n" if appendlimit else "",
            storage=storage,
            acl_file=f"  acl = vfile:{acl_file}\n" if rights else "",
        )
        server.start()
        config = private(write_config(tmp_path / "k", server))
        with FaultProxy(server.host, server.port, record=True) as proxy:
            endpoint = Endpoint(proxy.host, proxy.port, server.username, server.password)
            results = doctor(private(write_config(tmp_path / "p", endpoint)))
            sent = b"".join(s.transcript.stream("c2s") for s in proxy.sessions if s.transcript)
        delivery = results["summary delivery"]
        assert (delivery.status, delivery.message) == (status, message)
        assert b"APPEND" not in sent.upper().replace(b"MULTIAPPEND", b"")
        assert doctor(config)["summary delivery"] == delivery
        stored = [f for d in ("new", "cur", "tmp") for f in (server.maildir / d).glob("*")]
        assert server.maildir.is_dir() and stored == []  # INBOX's Maildir, on disk
    finally:
        server.close(wait=False)
