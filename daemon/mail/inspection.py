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
from functools import partial
from typing import Any, TypeVar

from imapclient import IMAPClient

from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.connect import NETWORK_ERRORS, describe_failure
from kithkin.daemon.mail.records import MALFORMED
from kithkin.daemon.mail.status import number

MAX_COUNT = 2**32
T = TypeVar("T")


@dataclass(frozen=True)
class AppendRoom:
    """What the server says about storing a message in a folder; None where it says nothing."""

    rights: str | None  # MYRIGHTS (RFC 4314): "i" is the right to APPEND
    limit: int | None  # APPENDLIMIT (RFC 7889), bytes
    quota: tuple[int, int] | None  # STORAGE (RFC 9208): used and limit, in KiB
    refused: tuple[str, ...] = ()  # the commands of these the server answered with NO


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
        said = _refusable(client, f"STATUS {folder}", partial(_messages, client, folder))
        counts[folder] = None if said is None else number(said.get(b"MESSAGES"), 0, MAX_COUNT)
    return counts


def _messages(client: IMAPClient, folder: str) -> dict[bytes, Any]:
    return dict(client.folder_status(folder, [b"MESSAGES"]))


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
    refused: list[str] = []
    imap = client._imap
    if "ACL" in caps:
        with _guarded(client, "MYRIGHTS"):
            typ, data = imap.myrights(folder)
        if typ == "OK" and data and isinstance(data[0], bytes):
            rights = data[0].rsplit(b" ", 1)[-1].decode("ascii", "replace")
        else:
            refused.append("MYRIGHTS")
    global_limit = [c.partition("=")[2] for c in caps if c.startswith("APPENDLIMIT=")]
    if global_limit:
        limit = number(global_limit[0], 0, 2**63)
    elif "APPENDLIMIT" in caps:
        said = _refusable(client, "STATUS", lambda: client.folder_status(folder, [b"APPENDLIMIT"]))
        if said is None:
            refused.append("STATUS (APPENDLIMIT)")
        else:
            limit = number(said.get(b"APPENDLIMIT"), 0, 2**63)
    if "QUOTA" in caps:
        roots = _refusable(client, "GETQUOTAROOT", lambda: client.get_quota_root(folder))
        if roots is None:
            refused.append("GETQUOTAROOT")
        for item in roots[1] if roots is not None else []:
            if str(item.resource).upper() == "STORAGE":
                used, most = number(item.usage, 0, 2**63), number(item.limit, 0, 2**63)
                if used is not None and most is not None:
                    quota = (used, most)
    return AppendRoom(rights=rights, limit=limit, quota=quota, refused=tuple(refused))


def _refusable(client: IMAPClient, what: str, command: Callable[[], T]) -> T | None:
    """The answer of `command`, None when the server answers NO or BAD (a broken
    connection still raises, as MailboxError)."""
    with _guarded(client, what):
        try:
            return command()
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error:
            return None
