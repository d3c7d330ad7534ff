"""One exception type per failure a user can fix; each becomes one line and an exit status."""

from __future__ import annotations

import traceback


class KithkinError(Exception):
    """A failure explained in one line; `exit_code` is what the CLI returns."""

    exit_code = 1


class ConfigError(KithkinError):
    exit_code = 2


class UsageError(KithkinError):
    """Bad input on the command line or in a file the user handed over."""

    exit_code = 2


class StoreError(KithkinError):
    exit_code = 1


class CredentialError(KithkinError):
    exit_code = 1


class MailboxError(KithkinError):
    """The IMAP server could not be reached, refused us, or dropped the connection."""

    exit_code = 1


class LoginRefused(MailboxError):
    """The server refused the username and password, or the OAuth2 token."""


class DeliveryError(KithkinError):
    exit_code = 1


def unexpected(exc: BaseException) -> str:
    """What may be said of an exception: a KithkinError's one line; of anything else only
    its kind, since its text may hold anything (a piece of a secret, even)."""
    return str(exc) if isinstance(exc, KithkinError) else f"unexpected {type(exc).__name__}"


def frames(exc: BaseException) -> str:
    """Where an exception happened (its traceback's frames), without its text."""
    return "".join(traceback.format_tb(exc.__traceback__)).rstrip()
