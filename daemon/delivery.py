"""Sending the summary to its owner: SMTP with a verifying TLS context, or IMAP APPEND.

APPEND into the owner's INBOX is the only write Kithkin ever makes to a mailbox, and only
when `[summary] delivery = "imap"`. It first searches INBOX for the summary's Message-ID, so
a summary whose APPEND was interrupted after the server stored it is not stored twice.
"""

from __future__ import annotations

import imaplib
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from email import policy
from email.message import EmailMessage

from imapclient import IMAPClient

from kithkin.daemon.config import ImapConfig, ServerConfig
from kithkin.daemon.errors import DeliveryError
from kithkin.daemon.imap import describe_failure, open_client, tls_context
from kithkin.parsers.addresses import ascii_address


def send_smtp(message: EmailMessage, server: ServerConfig, secret: str | None) -> None:
    """Submit by SMTP: implicit TLS, STARTTLS (never a silent plaintext fallback), or plain
    on loopback only (the config refuses "none" elsewhere)."""
    where = f"{server.host}:{server.port}"
    recipient = ascii_address(str(message["To"]))
    try:
        if server.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                server.host,
                server.port,
                timeout=server.timeout,
                context=tls_context(server.ca_file),
            )
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
        with client:
            client.ehlo()
            if server.security == "starttls":
                if not client.has_extn("starttls"):
                    raise DeliveryError(f"{where}: server does not offer STARTTLS; not sending")
                client.starttls(context=tls_context(server.ca_file))
                client.ehlo()
            if secret is not None and server.auth == "xoauth2":
                bearer = f"user={server.username}\x01auth=Bearer {secret}\x01\x01"
                client.auth("XOAUTH2", lambda challenge=None: bearer)
            elif secret is not None:
                client.login(server.username, secret)
            refused = client.send_message(message, to_addrs=[recipient])
            if refused:
                raise DeliveryError(f"{where}: recipient refused: {recipient}")
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError:
        raise DeliveryError(f"{where}: SMTP login failed (wrong username or password?)") from None
    except smtplib.SMTPResponseException as exc:
        error = exc.smtp_error
        text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
        raise DeliveryError(f"{where}: SMTP error {exc.smtp_code}: {text[:200]}") from None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise DeliveryError(f"{where}: cannot send: {describe_failure(exc)}") from None


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
