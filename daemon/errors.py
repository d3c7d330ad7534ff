"""One exception type per failure a user can fix; each becomes one line and an exit status."""

from __future__ import annotations


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


class DeliveryError(KithkinError):
    exit_code = 1
