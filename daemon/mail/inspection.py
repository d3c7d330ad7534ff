"""What a logged-in IMAP connection can tell `kithkin doctor` without changing anything:
capabilities, the folder list, message counts (STATUS), the round-trip time (NOOP), and
whether INBOX would take the summary (MYRIGHTS, APPENDLIMIT, GETQUOTAROOT). No SELECT, no
EXAMINE, no APPEND: nothing here opens a folder or writes to one.
"""

from __future__ import annotations

import imaplib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient

from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.connect import MALFORMED, NETWORK_ERRORS, describe_failure
from kithkin.daemon.mail.status import number

MAX_COUNT = 2**32


@dataclass(frozen=True)
class AppendRoom:
    """What the server says about storing a message in a folder; None where it says nothing."""

    rights: str | None  # MYRIGHTS (RFC 4314): "i" is the right to APPEND
    limit: int | None  # APPENDLIMIT (RFC 7889), bytes
    quota: tuple[int, int] | None  # STORAGE (RFC 9208): used and limit, in KiB


@contextmanager
def _guarded(client: IMAPClient, what: str) -> Iterator[None]:
    at = f"{client.host}:{client.port}"
    try:
        yield
    except NETWORK_ERRORS as exc:
        raise MailboxError(f"{at}: {what}: {describe_failure(exc)}") from None
    except MALFORMED as exc:
        raise MailboxError(f"{at}: {what}: malformed reply ({type(exc).__name__})") from None


def capabilities(client: IMAPClient) -> frozenset[str]:
    """The capabilities after login, upper-case (`IDLE`, `APPENDLIMIT=35651584`, ...)."""
    with _guarded(client, "CAPABILITY"):
        found = client.capabilities()
    return frozenset(
        (item.decode("ascii", "replace") if isinstance(item, bytes) else str(item)).upper()
        for item in found
    )


def folder_listing(client: IMAPClient) -> list[tuple[Any, Any, str]]:
    """`LIST "" "*"`: (attributes, delimiter, name) triples, as folders.py reads them."""
    with _guarded(client, "LIST"):
        return list(client.list_folders())


def message_counts(client: IMAPClient, folders: list[str]) -> dict[str, int | None]:
    """STATUS (MESSAGES) of each folder; None for a folder the server will not say of."""
    counts: dict[str, int | None] = {}
    for folder in folders:
        with _guarded(client, f"STATUS {folder}"):
            try:
                said = client.folder_status(folder, [b"MESSAGES"])
            except imaplib.IMAP4.abort:
                raise
            except imaplib.IMAP4.error:
                counts[folder] = None
                continue
        counts[folder] = number(said.get(b"MESSAGES"), 0, MAX_COUNT)
    return counts


def round_trip(client: IMAPClient, clock: Callable[[], float], tries: int = 3) -> float:
    """Seconds a NOOP takes to come back, the fastest of `tries`."""
    fastest = float("inf")
    for _ in range(tries):
        with _guarded(client, "NOOP"):
            start = clock()
            client.noop()
            fastest = min(fastest, clock() - start)
    return max(fastest, 0.0)


def append_room(client: IMAPClient, caps: frozenset[str], folder: str = "INBOX") -> AppendRoom:
    """Whether `folder` would take a message, asked without storing one."""
    rights = limit = quota = None
    imap = client._imap
    if "ACL" in caps:
        with _guarded(client, "MYRIGHTS"):
            typ, data = imap.myrights(folder)
        if typ == "OK" and data and isinstance(data[0], bytes):
            rights = data[0].rsplit(b" ", 1)[-1].decode("ascii", "replace")
    global_limit = [c.partition("=")[2] for c in caps if c.startswith("APPENDLIMIT=")]
    if global_limit:
        limit = number(global_limit[0], 0, 2**63)
    elif "APPENDLIMIT" in caps:
        with _guarded(client, "STATUS APPENDLIMIT"):
            try:
                said = client.folder_status(folder, [b"APPENDLIMIT"])
                limit = number(said.get(b"APPENDLIMIT"), 0, 2**63)
            except imaplib.IMAP4.abort:
                raise
            except imaplib.IMAP4.error:
                limit = None
    if "QUOTA" in caps:
        with _guarded(client, "GETQUOTAROOT"):
            try:
                _roots, quotas = client.get_quota_root(folder)
            except imaplib.IMAP4.abort:
                raise
            except imaplib.IMAP4.error:
                quotas = []
        for item in quotas:
            if str(item.resource).upper() == "STORAGE":
                used, most = number(item.usage, 0, 2**63), number(item.limit, 0, 2**63)
                if used is not None and most is not None:
                    quota = (used, most)
    return AppendRoom(rights=rights, limit=limit, quota=quota)
