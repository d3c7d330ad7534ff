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
from kithkin.daemon.mail.credentials import Credential
from kithkin.daemon.mail.port_security import SecurityMismatch, await_greeting, plain_text_port
from kithkin.parsers.addresses import ascii_address


def send_smtp(
    message: EmailMessage, server: ServerConfig, credential: Credential | str | None
) -> None:
    """Submit by SMTP: implicit TLS, STARTTLS (never a silent plaintext fallback), or plain
    on loopback only (the config refuses "none" elsewhere). No credential: no login.

    An OAuth2 token the server refuses is asked for once more and the submission tried
    again: a refused login comes before MAIL FROM, so nothing was sent the first time."""
    where = f"{server.host}:{server.port}"
    recipient = ascii_address(str(message["To"]))
    if isinstance(credential, str):
        credential = Credential.given(server, credential)
    tries = 2 if credential is not None and credential.renewable else 1
    for attempt in range(tries):
        secret = None
        if credential is not None:
            secret = credential.renew() if attempt else credential.get()
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
            failure = (
                "SMTP login failed (wrong username or password?)"
                if server.auth == "password"
                else "SMTP login failed: the server refused the OAuth2 token"
                + (", and the fresh one password_command gave right after" if attempt else "")
            )
            continue
        except smtplib.SMTPResponseException as exc:
            error = exc.smtp_error
            text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
            failure = f"SMTP error {exc.smtp_code}: {text[:200]}"
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:
            failure = f"cannot send: {describe_failure(exc)}"
        break
    # Raised outside the `except`, so not chained: a UnicodeEncodeError holds the secret.
    raise DeliveryError(f"{where}: {failure}")


def _submit(
    message: EmailMessage, recipient: str, server: ServerConfig, secret: str | None
) -> None:
    with open_smtp(server) as client:
        if secret is not None:
            log_in(client, server, secret)
        refused = client.send_message(message, to_addrs=[recipient])
        if refused:
            where = f"{server.host}:{server.port}"
            raise DeliveryError(f"{where}: recipient refused: {recipient}")


def open_smtp(server: ServerConfig) -> smtplib.SMTP:
    """An SMTP connection after EHLO, over TLS unless `security = "none"` (loopback only);
    the caller closes it (`with`). Also what `kithkin doctor` checks, without sending."""
    if server.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            server.host,
            server.port,
            timeout=server.timeout,
            context=tls_context(server.ca_file),
        )
    else:
        client = _PlainSMTP(server.host, server.port, timeout=server.timeout)
    try:
        client.ehlo()
        if server.security == "starttls":
            if not client.has_extn("starttls"):
                where = f"{server.host}:{server.port}"
                raise DeliveryError(f"{where}: server does not offer STARTTLS; not sending")
            client.starttls(context=tls_context(server.ca_file))
            client.ehlo()
    except BaseException:
        client.close()
        raise
    return client


class _PlainSMTP(smtplib.SMTP):
    """smtplib over plain TCP (`security = "starttls"` or "none") that does not wait out
    the timeout for a greeting from a port that speaks TLS from the start."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = socket.create_connection((host, port), timeout, self.source_address)
        await_greeting(sock, "smtp", host, port, timeout)
        return sock


def log_in(client: smtplib.SMTP, server: ServerConfig, secret: str) -> None:
    """AUTH with `secret`: PLAIN (or the best both sides know), XOAUTH2, UTF-8 where needed."""
    if server.auth == "xoauth2":
        mechanism, response = "XOAUTH2", f"user={server.username}\x01auth=Bearer {secret}\x01\x01"
    elif server.auth == "oauthbearer":  # RFC 7628 section 3.1, with RFC 5801's GS2 header
        identity = server.username.replace("=", "=3D").replace(",", "=2C")
        mechanism, response = "OAUTHBEARER", f"n,a={identity},\x01auth=Bearer {secret}\x01\x01"
    else:
        mechanism, response = "PLAIN", f"\0{server.username}\0{secret}"
    if not response.isascii():
        _authenticate_utf8(client, mechanism, response)
    elif mechanism != "PLAIN":
        # A refused token comes back as a 334 challenge holding an error; the client's
        # answer to it is an empty line, and then the server says 535 (RFC 7628 3.2.3).
        client.auth(mechanism, lambda challenge=None: response if challenge is None else "")
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
    if code == 334:  # a token's error challenge: an empty line asks for the final reply
        code, reply = client.docmd("")
    if code == 535:
        raise smtplib.SMTPAuthenticationError(code, reply)
    if code != 235:
        raise smtplib.SMTPResponseException(code, reply)


@contextmanager
def _imap_session(server: ImapConfig, secret: Credential | str) -> Iterator[IMAPClient]:
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


def already_in_inbox(message_id: str, server: ImapConfig, secret: Credential | str) -> bool:
    """Read-only: is a message with this Message-ID in INBOX?"""
    with _imap_session(server, secret) as client:
        return _in_folder(client, "INBOX", message_id)


def append_imap(
    message: EmailMessage, server: ImapConfig, secret: Credential | str, folder: str = "INBOX"
) -> bool:
    """APPEND the summary into the owner's INBOX, unread. Returns False if it was already
    there (same Message-ID), True if it was stored now."""
    raw = message.as_bytes(policy=policy.SMTP)  # CRLF line endings, as IMAP wants
    with _imap_session(server, secret) as client:
        if _in_folder(client, folder, str(message["Message-ID"])):
            return False
        client.append(folder, raw, flags=())
        return True
