"""`security` set wrong for the port: one line saying what to set, from the server's bytes.

`starttls` (or `none`) against an implicit-TLS port used to wait for a greeting that never
comes until the timeout (here 120 s, so a run that waited would fail on the message, not
pass late); `tls` against a plain-text port failed with OpenSSL's "WRONG_VERSION_NUMBER".
Real Dovecot (STARTTLS on `port`, implicit TLS on `tls_port`) and aiosmtpd (implicit TLS,
or STARTTLS required).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from faultproxy import C2S, FaultProxy, Stall
from helpers import write_config

LONG = 120  # [imap]/[smtp] timeout: far longer than any hint may take
TO_TLS = 'speaks TLS from the start; set security = "tls" in [{}]'
TO_STARTTLS = (
    'does not speak TLS from the start (it greets in plain text); set security = "starttls" in [{}]'
)


def one_line(result, text: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr == f"kithkin: error: {text}\n"


@pytest.mark.parametrize("security", ["starttls", "none"])
def test_starttls_against_an_implicit_tls_imap_port(security, dovecot_tls, tmp_path, run_cli):
    port = dovecot_tls.tls_port
    config = write_config(tmp_path, dovecot_tls, imap={
        "security": security, "port": port, "ca_file": str(dovecot_tls.ca_file), "timeout": LONG,
    })  # fmt: skip
    result = run_cli("--config", str(config), "sync")
    one_line(result, f"127.0.0.1:{port}: cannot connect: port {port} {TO_TLS.format('imap')}")


@pytest.mark.parametrize("tls_server", [True, False], ids=["starttls port", "plain port"])
def test_tls_against_a_plain_text_imap_port(tls_server, request, tmp_path, run_cli) -> None:
    server = request.getfixturevalue("dovecot_tls" if tls_server else "dovecot")
    trust = {"ca_file": str(server.ca_file)} if tls_server else {}
    config = write_config(tmp_path, server, imap={
        "security": "tls", "port": server.port, "timeout": LONG, **trust,
    })  # fmt: skip
    result = run_cli("--config", str(config), "sync")
    port = server.port
    one_line(result, f"127.0.0.1:{port}: cannot connect: port {port} {TO_STARTTLS.format('imap')}")


def test_the_right_settings_still_connect(dovecot_tls, tmp_path, run_cli) -> None:
    for security, port in (("tls", dovecot_tls.tls_port), ("starttls", dovecot_tls.port)):
        config = write_config(tmp_path / security, dovecot_tls, imap={
            "security": security, "port": port, "ca_file": str(dovecot_tls.ca_file),
        })  # fmt: skip
        result = run_cli("--config", str(config), "sync", "-q")
        assert result.exit_code == 0, result.output


def test_a_slow_plain_greeting_is_waited_for(dovecot, tmp_path, run_cli) -> None:
    """A greeting held back past the grace, on a port that does not answer TLS (the probe's
    own connection is greeted in plain text at once): no hint, the sync goes on."""
    with FaultProxy(dovecot.host, dovecot.port) as proxy:
        proxy.arm(Stall(0, seconds=3, then="resume"))
        config = write_config(tmp_path, dovecot, imap={"port": proxy.port, "timeout": LONG})
        result = run_cli("--config", str(config), "sync", "-q")
        assert result.exit_code == 0, result.output
        assert proxy.sessions[0].fired.is_set()
        assert len(proxy.sessions) == 2  # the held-back one, and the probe


def test_a_greeting_that_never_comes_is_still_a_timeout(dovecot, tmp_path, run_cli) -> None:
    with FaultProxy(dovecot.host, dovecot.port) as proxy:
        proxy.arm(Stall(0), times=None)  # every connection, the probe's too
        config = write_config(tmp_path, dovecot, imap={"port": proxy.port, "timeout": 8})
        result = run_cli("--config", str(config), "sync", "-q")
    one_line(result, f"127.0.0.1:{proxy.port}: cannot connect: timed out")


def smtp_config(tmp_path: Path, smtp, security: str) -> Path:
    secret = tmp_path / "smtp-password"
    secret.write_text(smtp.password + "\n")
    return write_config(tmp_path, smtp.mailbox, sections={
        "smtp": {"host": smtp.host, "port": smtp.port, "security": security,
                 "username": smtp.username, "password_command": ["cat", str(secret)],
                 "ca_file": str(smtp.ca_file), "timeout": LONG},
        "summary": {"delivery": "smtp"},
    })  # fmt: skip


@pytest.mark.parametrize(
    ("fixture", "security", "hint"),
    [
        ("smtp_server_tls", "starttls", TO_TLS),
        ("smtp_server_tls", "none", TO_TLS),
        ("smtp_server_starttls", "tls", TO_STARTTLS),
    ],
)
def test_smtp_security_that_does_not_fit_the_port(
    fixture, security, hint, request, tmp_path, run_cli
) -> None:
    smtp = request.getfixturevalue(fixture)
    config = smtp_config(tmp_path, smtp, security)
    result = run_cli("--config", str(config), "summary", "--send", "--as-of", "2026-11-23")
    text = f"port {smtp.port} {hint.format('smtp')}"
    one_line(result, f"127.0.0.1:{smtp.port}: cannot send: {text}")
    assert smtp.messages == []


def test_a_tls_failure_on_a_tls_port_is_not_blamed_on_the_setting(
    smtp_server_tls, tmp_path, run_cli
) -> None:
    """An untrusted certificate is the certificate's fault, whatever the port says."""
    config = smtp_config(tmp_path, smtp_server_tls, "tls")
    config.write_text(config.read_text().replace(f'ca_file = "{smtp_server_tls.ca_file}"\n', ""))
    result = run_cli("--config", str(config), "summary", "--send", "--as-of", "2026-11-23")
    assert result.exit_code == 1 and "certificate" in result.stderr
    assert "set security" not in result.stderr


def test_the_probe_sends_nothing_but_a_tls_hello(dovecot_tls, tmp_path, run_cli) -> None:
    """Through a recording proxy: no password, no username on the probe's connection."""
    with FaultProxy(dovecot_tls.host, dovecot_tls.tls_port, record=True) as proxy:
        config = write_config(tmp_path, dovecot_tls, imap={
            "security": "starttls", "port": proxy.port, "timeout": LONG,
        })  # fmt: skip
        result = run_cli("--config", str(config), "sync")
        assert f"port {proxy.port} speaks TLS from the start" in result.stderr
        held, probe = (session.transcript.stream(C2S) for session in proxy.sessions)
    assert held == b""  # waiting for a greeting, as IMAP wants
    assert probe.startswith(b"\x16\x03")  # a TLS handshake record: the hello
    for sent in (held, probe):
        assert dovecot_tls.password.encode() not in sent
        assert dovecot_tls.username.encode() not in sent
