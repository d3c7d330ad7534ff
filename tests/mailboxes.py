"""Setting up and looking into test mailboxes through IMAP, the way the daemon sees them:
a logged-in client, APPEND, folders, UIDVALIDITY, and a snapshot of every flag."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from imapclient import IMAPClient
from processes import ServerError

IMAP_TIMEOUT = 10.0


class ImapServer(Protocol):
    """What the helpers below need from a server: where it is and one login."""

    host: str
    port: int
    username: str
    password: str


def imap_client(
    server: ImapServer,
    *,
    username: str | None = None,
    password: str | None = None,
    timeout: float = IMAP_TIMEOUT,
) -> IMAPClient:
    """A logged-in IMAPClient on the plain port (close it with `logout()` or `with`)."""
    client = IMAPClient(server.host, server.port, ssl=False, timeout=timeout)
    # imapclient writes one command in several pieces; with Nagle's algorithm each later
    # piece waits for the server's delayed ACK (about 40 ms a command against pymap).
    client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        client.login(username or server.username, password or server.password)
    except Exception:
        client.shutdown()
        raise
    return client


_APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]", re.IGNORECASE)


def append(
    server: ImapServer,
    folder: str,
    message: bytes,
    flags: Iterable[str | bytes] = (),
    msg_time: datetime | None = None,
) -> int | None:
    """APPEND `message` to `folder`; return its UID when the server reports APPENDUID."""
    with imap_client(server) as client:
        response = client.append(folder, message, flags=tuple(flags), msg_time=msg_time)
    match = _APPENDUID.search(response if isinstance(response, bytes) else b"")
    return int(match.group(1)) if match else None


def create_folder(server: ImapServer, name: str) -> None:
    with imap_client(server) as client:
        client.create_folder(name)


def uidvalidity(server: ImapServer, folder: str) -> int:
    with imap_client(server) as client:
        return int(client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])


def recreate_folder(server: ImapServer, name: str) -> int:
    """DELETE and CREATE `name` (empty afterwards, new UIDVALIDITY); return the new UIDVALIDITY.

    Not for INBOX, which neither server lets you delete. The connection used never selects
    the folder: pymap drops a connection whose selected folder is deleted.
    """
    if name.upper() == "INBOX":
        raise ValueError("INBOX cannot be deleted and recreated")
    with imap_client(server) as client:
        before = int(client.folder_status(name, [b"UIDVALIDITY"])[b"UIDVALIDITY"])
        client.delete_folder(name)
        client.create_folder(name)
        after = int(client.folder_status(name, [b"UIDVALIDITY"])[b"UIDVALIDITY"])
    if after == before:
        raise ServerError(f"{server!r} kept UIDVALIDITY {before} for a recreated {name!r}")
    return after


def _as_str(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def flags_snapshot(server: ImapServer) -> dict[tuple[str, int], frozenset[str]]:
    """{(folder, uid): flags} over every selectable folder, read with EXAMINE only.

    `\\Recent` is left out: it is per session, not a stored flag.
    """
    snapshot: dict[tuple[str, int], frozenset[str]] = {}
    with imap_client(server) as client:
        for folder_flags, _delimiter, folder in client.list_folders():
            if any(_as_str(flag).lower() == "\\noselect" for flag in folder_flags):
                continue
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            if not uids:
                continue
            for uid, data in client.fetch(uids, ["FLAGS"]).items():
                flags = frozenset(_as_str(flag) for flag in data[b"FLAGS"])
                snapshot[(folder, uid)] = frozenset(f for f in flags if f.lower() != "\\recent")
    return snapshot
