"""Sending the summary to its owner: SMTP with a verifying TLS context, or IMAP APPEND.

APPEND into the owner's INBOX is the only write Kithkin ever makes to a mailbox, and only
when `[summary] delivery = "imap"`. It first searches INBOX for the summary's Message-ID, so
a summary whose APPEND was interrupted after the server stored it is not stored twice.
"""

from __future__ import annotations

import base64
import imaplib
import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from email import policy
from email.message import EmailMessage

from imapclient import IMAPClient

from kithkin.daemon.config import ImapConfig, ServerConfig
from kithkin.daemon.errors import DeliveryError
from kithkin.daemon.mail.connect import describe_failure, open_client, tls_context
from kithkin.daemon.mail.port_security import SecurityMismatch, await_greeting, plain_text_port
from kithkin.parsers.addresses import ascii_address


def send_smtp(message: EmailMessage, server: ServerConfig, secret: str | None) -> None:
    """Submit by SMTP: implicit TLS, STARTTLS (never a silent plaintext fallback), or plain
    on loopback only (the config refuses "none" elsewhere)."""
    where = f"{server.host}:{server.port}"
    recipient = ascii_address(str(message["To"]))
    try:
        _submit(message, recipient, server, secret)
        return
    except DeliveryError:
        raise
    except SecurityMismatch as exc:
        failure = f"cannot send: {exc}"
    except ssl.SSLError as exc:
        hint = None
        if server.security == "tls" and not isinstance(exc, ssl.SSLCertVerificationError):
            hint = plain_text_port("smtp", server.host, server.port, server.timeout)
        failure = f"cannot send: {hint or describe_failure(exc)}"
    except smtplib.SMTPAuthenticationError:
        failure = "SMTP login failed (wrong username or password?)"
    except smtplib.SMTPResponseException as exc:
        error = exc.smtp_error
        text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
        failure = f"SMTP error {exc.smtp_code}: {text[:200]}"
    except (smtplib.SMTPException, OSError, UnicodeError) as exc:
        failure = f"cannot send: {describe_failure(exc)}"
    # Raised outside the `except`, so not chained: a UnicodeEncodeError holds the secret.
    raise DeliveryError(f"{where}: {failure}")


def _submit(
    message: EmailMessage, recipient: str, server: ServerConfig, secret: str | None
) -> None:
    where = f"{server.host}:{server.port}"
    if server.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            server.host,
            server.port,
            timeout=server.timeout,
            context=tls_context(server.ca_file),
        )
    else:
        client = _PlainSMTP(server.host, server.port, timeout=server.timeout)
    with client:
        client.ehlo()
        if server.security == "starttls":
            if not client.has_extn("starttls"):
                raise DeliveryError(f"{where}: server does not offer STARTTLS; not sending")
            client.starttls(context=tls_context(server.ca_file))
            client.ehlo()
        if secret is not None:
            _log_in(client, server, secret)
        refused = client.send_message(message, to_addrs=[recipient])
        if refused:
            raise DeliveryError(f"{where}: recipient refused: {recipient}")


class _PlainSMTP(smtplib.SMTP):
    """smtplib over plain TCP (`security = "starttls"` or "none") that does not wait out
    the timeout for a greeting from a port that speaks TLS from the start."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = socket.create_connection((host, port), timeout, self.source_address)
        await_greeting(sock, "smtp", host, port, timeout)
        return sock


def _log_in(client: smtplib.SMTP, server: ServerConfig, secret: str) -> None:
    if server.auth == "xoauth2":
        mechanism, response = "XOAUTH2", f"user={server.username}\x01auth=Bearer {secret}\x01\x01"
    else:
        mechanism, response = "PLAIN", f"\0{server.username}\0{secret}"
    if not response.isascii():
        _authenticate_utf8(client, mechanism, response)
    elif mechanism == "XOAUTH2":
        client.auth("XOAUTH2", lambda challenge=None: response)
    else:
        client.login(server.username, secret)  # the best mechanism both sides know


def _authenticate_utf8(client: smtplib.SMTP, mechanism: str, response: str) -> None:
    """`AUTH mechanism <response>`, the response in UTF-8 (RFC 4616 for PLAIN): smtplib's
    login() and auth() encode it as ASCII only."""
    client.ehlo_or_helo_if_needed()
    offered = client.esmtp_features.get("auth", "").upper().split()
    if mechanism not in offered:
        raise smtplib.SMTPNotSupportedError(f"the server does not offer AUTH {mechanism}")
    encoded = base64.b64encode(response.encode("utf-8")).decode("ascii")
    code, reply = client.docmd("AUTH", f"{mechanism} {encoded}")
    if code == 334:  # XOAUTH2's error challenge: an empty line asks for the final reply
        code, reply = client.docmd("")
    if code == 535:
        raise smtplib.SMTPAuthenticationError(code, reply)
    if code != 235:
        raise smtplib.SMTPResponseException(code, reply)


@contextmanager
def _imap_session(server: ImapConfig, secret: str) -> Iterator[IMAPClient]:
    where = f"{server.host}:{server.port}"
    client = open_client(server, secret)
    try:
        yield client
    except (OSError, imaplib.IMAP4.error, ValueError, OverflowError) as exc:
        raise DeliveryError(f"{where}: cannot store the summary: {describe_failure(exc)}") from None
    finally:
        with suppress(Exception):  # the summary is delivered, or the error raised, already
            client.logout()


def _in_folder(client: IMAPClient, folder: str, message_id: str) -> bool:
    client.select_folder(folder, readonly=True)
    return bool(client.search(["HEADER", "Message-ID", message_id]))


def already_in_inbox(message_id: str, server: ImapConfig, secret: str) -> bool:
    """Read-only: is a message with this Message-ID in INBOX?"""
    with _imap_session(server, secret) as client:
        return _in_folder(client, "INBOX", message_id)


def append_imap(
    message: EmailMessage, server: ImapConfig, secret: str, folder: str = "INBOX"
) -> bool:
    """APPEND the summary into the owner's INBOX, unread. Returns False if it was already
    there (same Message-ID), True if it was stored now."""
    raw = message.as_bytes(policy=policy.SMTP)  # CRLF line endings, as IMAP wants
    with _imap_session(server, secret) as client:
        if _in_folder(client, folder, str(message["Message-ID"])):
            return False
        client.append(folder, raw, flags=())
        return True
