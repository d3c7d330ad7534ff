"""Which failures are a message's, and which the machine's or the network's.

A message's failure (its bytes make parsing, matching, storing or a reply command raise)
sets that message aside and the sync goes on; anything else stops the sync, and the next one
retries (nothing committed is lost).
"""

from __future__ import annotations

import sqlite3

from kithkin.daemon.errors import (
    ConfigError,
    CredentialError,
    DeliveryError,
    MailboxError,
    StoreError,
)
from kithkin.daemon.sync.source import Stopped

ENVIRONMENT_ERRORS = (
    OSError,
    MemoryError,
    MailboxError,
    StoreError,
    CredentialError,
    ConfigError,
    DeliveryError,
    Stopped,
    sqlite3.OperationalError,
    sqlite3.InternalError,
    sqlite3.NotSupportedError,
)


def caused_by_the_message(exc: BaseException) -> bool:
    if isinstance(exc, ENVIRONMENT_ERRORS):
        return False
    if isinstance(exc, sqlite3.DatabaseError):  # corruption, not IntegrityError and the like
        return isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError)
    return isinstance(exc, Exception)
