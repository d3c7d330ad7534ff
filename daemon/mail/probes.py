"""The way to a mail server, one step at a time, for `kithkin doctor`: the host's addresses,
a TCP connection, the TLS handshake and its certificate, an SMTP login.

Each step fails with a `ProbeFailure`: one line naming the host and the cause, and a
`reason` (one of REASONS) that the doctor turns into advice. Nothing is sent but a greeting's
answer: STARTTLS, EHLO, AUTH, LOGOUT and QUIT. No mail, no mailbox command.
"""

from __future__ import annotations

import imaplib
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kithkin.daemon.config import ServerConfig
from kithkin.daemon.errors import DeliveryError, MailboxError
from kithkin.daemon.mail.connect import describe_failure, tls_context
from kithkin.daemon.mail.delivery import log_in, open_smtp

# Why a step failed, for the doctor's advice.
REASONS = (
    "not-found",  # the host name does not resolve
    "timeout",  # no answer in time
    "refused",  # nothing listens on that port
    "unreachable",  # no route to the host
    "untrusted",  # the certificate's issuer is not trusted
    "wrong-name",  # a trusted certificate, but for another name
    "expired",  # the certificate is out of date
    "plaintext",  # TLS was started, the server answered in plain text
    "no-greeting",  # connected, but the server said nothing: it may wait for TLS
    "no-starttls",  # the server does not offer STARTTLS
    "tls",  # any other TLS failure
    "login-refused",  # the server refused the username or password
    "no-auth",  # the SMTP server offers no login
    "protocol",  # an answer that is not the protocol expected
)
# OpenSSL's names for "what came back is not TLS": a server that talks plain text first.
_NOT_TLS = (
    "WRONG_VERSION_NUMBER",
    "PACKET_LENGTH_TOO_LONG",
    "RECORD_LAYER_FAILURE",
    "UNKNOWN_PROTOCOL",
    "HTTP_REQUEST",
    "TLSV1_ALERT_PROTOCOL_VERSION",
)
_VERIFY_REASONS = {62: "wrong-name", 64: "wrong-name", 10: "expired"}  # X509_V_ERR_*

Resolver = Callable[[str, int], list[str]]  # (host, port) -> addresses, as text


class ProbeFailure(MailboxError):
    """One step on the way to a server failed; `reason` says how (see REASONS)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Certificate:
    """What a verified server certificate says, for a line of text."""

    names: tuple[str, ...]  # its subjectAltName entries
    issuer: str
    not_after: datetime | None
    protocol: str  # "TLSv1.3"


def where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives `host` (getaddrinfo), each once."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def resolve(
    host: str, port: int, timeout: float, resolver: Resolver = system_resolver
) -> list[str]:
    """The addresses of `host`; getaddrinfo has no timeout of its own, so it runs aside."""
    answer: list[list[str]] = []
    failure: list[BaseException] = []

    def ask() -> None:
        try:
            answer.append(resolver(host, port))
        except (OSError, UnicodeError) as exc:  # UnicodeError: a name IDNA cannot encode
            failure.append(exc)

    asking = threading.Thread(target=ask, name="resolve", daemon=True)
    asking.start()
    asking.join(timeout)
    if asking.is_alive():
        raise ProbeFailure("timeout", f"{host}: no answer from the resolver in {timeout:g} s")
    if failure or not answer or not answer[0]:
        raise ProbeFailure("not-found", f"{host}: host name not found")
    return answer[0]


def connect_tcp(addresses: list[str], port: int, timeout: float) -> str:
    """The first of `addresses` that accepts a TCP connection on `port` (closed at once)."""
    failures: list[ProbeFailure] = []
    for address in addresses:
        try:
            with socket.create_connection((address, port), timeout=timeout):
                return address
        except OSError as exc:
            failures.append(_tcp_failure(exc, where(address, port), timeout))
    if not failures:
        raise ProbeFailure("not-found", f"no address to connect to on port {port}")
    raise failures[0]


def _tcp_failure(exc: OSError, at: str, timeout: float) -> ProbeFailure:
    if isinstance(exc, ConnectionRefusedError):
        return ProbeFailure("refused", f"{at}: connection refused")
    if isinstance(exc, TimeoutError):
        return ProbeFailure("timeout", f"{at}: no answer in {timeout:g} s")
    return ProbeFailure("unreachable", f"{at}: {describe_failure(exc)}")


def imap_tls(server: ServerConfig) -> Certificate:
    """Connect as the sync does (implicit TLS, or STARTTLS after the greeting), verify the
    certificate, LOGOUT without logging in."""
    at = where(server.host, server.port)
    context = tls_context(server.ca_file)
    connection: imaplib.IMAP4 | None = None
    try:
        if server.security == "tls":
            connection = imaplib.IMAP4_SSL(
                server.host, server.port, ssl_context=context, timeout=server.timeout
            )
        else:
            connection = imaplib.IMAP4(server.host, server.port, timeout=server.timeout)
            connection.starttls(ssl_context=context)
        return _certificate(connection.sock)
    except (OSError, imaplib.IMAP4.error, EOFError) as exc:
        raise _tls_failure(exc, at, server, started=connection is not None) from None
    finally:
        if connection is not None:
            with suppress(Exception):
                connection.logout()


def smtp_tls(server: ServerConfig) -> Certificate:
    """Connect to the SMTP server (implicit TLS, or STARTTLS after EHLO), verify, QUIT."""
    at = where(server.host, server.port)
    try:
        with open_smtp(server) as client:
            return _certificate(client.sock)
    except DeliveryError:
        raise ProbeFailure("no-starttls", f"{at}: the server does not offer STARTTLS") from None
    except (OSError, smtplib.SMTPException) as exc:
        greeted = not isinstance(exc, TimeoutError | smtplib.SMTPServerDisconnected)
        raise _tls_failure(exc, at, server, started=greeted) from None


def smtp_login(server: ServerConfig, secret: str | None) -> None:
    """Connect, log in with `secret` (none: only EHLO, as for a relay without AUTH), QUIT.
    Nothing is sent: no MAIL FROM, no RCPT, no DATA."""
    at = where(server.host, server.port)
    try:
        with open_smtp(server) as client:
            if secret is not None:
                log_in(client, server, secret)
        return
    except smtplib.SMTPAuthenticationError:
        failure = ProbeFailure(
            "login-refused", f"{at}: the server refused the username or password"
        )
    except smtplib.SMTPNotSupportedError:
        failure = ProbeFailure("no-auth", f"{at}: the server offers no login (AUTH) here")
    except smtplib.SMTPResponseException as exc:
        error = exc.smtp_error
        text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
        failure = ProbeFailure("protocol", f"{at}: SMTP error {exc.smtp_code}: {text[:200]}")
    except DeliveryError:
        failure = ProbeFailure("no-starttls", f"{at}: the server does not offer STARTTLS")
    except (OSError, smtplib.SMTPException, UnicodeError) as exc:
        failure = ProbeFailure("protocol", f"{at}: {describe_failure(exc)}")
    # Raised outside the `except`, so not chained: a UnicodeEncodeError holds the secret.
    raise failure


def _tls_failure(
    exc: BaseException, at: str, server: ServerConfig, *, started: bool
) -> ProbeFailure:
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = _VERIFY_REASONS.get(exc.verify_code, "untrusted")
        said = exc.verify_message or "not trusted"
        return ProbeFailure(reason, f"{at}: certificate not accepted: {said}")
    if isinstance(exc, ssl.SSLError):
        if exc.reason in _NOT_TLS:
            return ProbeFailure("plaintext", f"{at}: the server answered TLS in plain text")
        return ProbeFailure("tls", f"{at}: TLS failed ({exc.reason or type(exc).__name__})")
    if isinstance(exc, TimeoutError) and server.security == "starttls" and not started:
        return ProbeFailure(
            "no-greeting", f"{at}: connected, but no greeting in {server.timeout:g} s"
        )
    if isinstance(exc, TimeoutError):
        return ProbeFailure("timeout", f"{at}: no answer in {server.timeout:g} s")
    if isinstance(exc, ConnectionRefusedError):
        return ProbeFailure("refused", f"{at}: connection refused")
    if isinstance(exc, imaplib.IMAP4.error) and "STARTTLS" in str(exc):
        return ProbeFailure("no-starttls", f"{at}: the server does not offer STARTTLS")
    return ProbeFailure("protocol", f"{at}: {describe_failure(exc)}")


def _certificate(sock: Any) -> Certificate:
    if not isinstance(sock, ssl.SSLSocket):
        raise ProbeFailure("tls", "no TLS on the connection")
    peer: dict[str, Any] = dict(sock.getpeercert() or {})
    names = tuple(str(value) for _kind, value in peer.get("subjectAltName", ()))
    issuer = {str(key): str(value) for group in peer.get("issuer", ()) for key, value in group}
    not_after = None
    if isinstance(peer.get("notAfter"), str):
        with suppress(ValueError):
            not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(peer["notAfter"]), UTC)
    return Certificate(
        names=names,
        issuer=issuer.get("organizationName") or issuer.get("commonName") or "unknown",
        not_after=not_after,
        protocol=str(sock.version() or "TLS"),
    )
