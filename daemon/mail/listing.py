"""Which UIDs a folder holds above (or up to) the sync's cursor, in a few commands.

The folder is listed over sequence numbers, which are dense, not over UIDs, which may be
sparse (a folder of 10 messages with UIDNEXT near 2**32): `uids_at(start, end, to_end)` asks
the server for the UIDs of the messages at sequence numbers start..end. New mail is a suffix
of the folder, so the listing goes from the end backwards in growing windows and stops at the
first window holding a UID at or below the cursor: an idle poll costs one small command.
Going backwards, an expunge meanwhile can only show a message twice, never hide one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

LIST_WINDOW = 50_000  # messages per listing command, at most
FIRST_LIST_WINDOW = 64  # the first, smallest window (an idle poll needs only that)

UidsAt = Callable[[int, int, bool], list[int]]  # (start, end, to_end) -> UIDs there


def uids_above(uids_at: UidsAt, exists: int, uidnext: int | None, last_uid: int,
               ) -> Iterator[list[int]]:  # fmt: skip
    """The UIDs above `last_uid`, ascending, in windows of LIST_WINDOW."""
    if exists == 0 or (uidnext is not None and uidnext <= last_uid + 1):
        return iter(())
    found: set[int] = set()
    top, size = exists, FIRST_LIST_WINDOW
    while top >= 1:
        start = max(1, top - size + 1)
        window = uids_at(start, top, top == exists)
        found.update(uid for uid in window if uid > last_uid)
        if any(uid <= last_uid for uid in window):
            break
        top, size = start - 1, min(size * 4, LIST_WINDOW)
    return windows(sorted(found), LIST_WINDOW)


def uids_up_to(uids_at: UidsAt, exists: int, last_uid: int) -> Iterator[list[int]]:
    """The UIDs from 1 to `last_uid`, ascending, in windows of LIST_WINDOW (for a backfill
    that rescans: the whole folder is listed, backwards)."""
    found: set[int] = set()
    top = exists
    while top >= 1 and last_uid > 0:
        start = max(1, top - LIST_WINDOW + 1)
        found.update(uid for uid in uids_at(start, top, top == exists) if uid <= last_uid)
        top = start - 1
    return windows(sorted(found), LIST_WINDOW)


def windows(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
