"""Which UIDs a folder holds above (or up to) the sync's cursor, in a few commands.

The folder is listed over sequence numbers, which are dense, not over UIDs, which may be
sparse (a folder of 10 messages with UIDNEXT near 2**32): `uids_at(start, end, to_end)` asks
the server for the UIDs of the messages at sequence numbers start..end. New mail is a suffix
of the folder, so the listing goes from the end backwards in growing windows and stops at the
first window holding a UID at or below the cursor: an idle poll costs one small command.
Going backwards, an expunge meanwhile can only show a message twice, never hide one. After the
first window, the next ones are as large as UIDNEXT says new mail may need (a first sync lists
a folder in a command per LIST_WINDOW messages, not in a dozen growing ones).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator

LIST_WINDOW = 50_000  # messages per listing command, at most
FIRST_LIST_WINDOW = 64  # the first, smallest window (an idle poll needs only that)

UidsAt = Callable[[int, int, bool], list[int]]  # (start, end, to_end) -> UIDs there
SendAhead = Callable[[int, int, bool], None]  # (start, end, to_end): ask for it now


def uids_above(uids_at: UidsAt, exists: int, uidnext: int | None, last_uid: int,
               ahead: SendAhead | None = None) -> Iterator[list[int]]:  # fmt: skip
    """The UIDs above `last_uid`, ascending, in windows of LIST_WINDOW. With `ahead`, the
    windows after the first that UIDNEXT says are needed are all asked for at once, so a
    large folder costs one round trip more, not one a window (`uids_at` then reads them)."""
    if exists == 0 or (uidnext is not None and uidnext <= last_uid + 1):
        return iter(())
    found: list[array[int]] = []  # the windows, last first: 4 bytes a UID
    # UIDs ascend with sequence numbers, so at most `fresh` messages lie above the cursor
    fresh = uidnext - 1 - last_uid if uidnext is not None else exists
    top, size = exists, FIRST_LIST_WINDOW
    while top >= 1:
        start = max(1, top - size + 1)
        window = uids_at(start, top, top == exists)
        found.append(array("I", sorted(uid for uid in window if uid > last_uid)))
        if any(uid <= last_uid for uid in window):
            break
        top = start - 1
        size = min(max(size * 4, fresh - (exists - top) + 1), LIST_WINDOW)  # +1: one old
        if ahead is not None:
            for window_start, window_end in expected_windows(top, size, exists, fresh):
                ahead(window_start, window_end, False)
            ahead = None
    return windows(ascending(found), LIST_WINDOW)


def expected_windows(top: int, size: int, exists: int, fresh: int) -> list[tuple[int, int]]:
    """The windows `uids_above` goes on to list from `top` down with `size`, unless one holds
    an old UID sooner: down to the first that reaches sequence number exists - fresh (at
    most `fresh` messages lie above the cursor, so the ones there are old)."""
    expected = []
    while top >= 1:
        start = max(1, top - size + 1)
        expected.append((start, top))
        if start <= exists - fresh:
            break
        top = start - 1
        size = min(max(size * 4, fresh - (exists - top) + 1), LIST_WINDOW)
    return expected


def uids_up_to(uids_at: UidsAt, exists: int, last_uid: int) -> Iterator[list[int]]:
    """The UIDs from 1 to `last_uid`, ascending, in windows of LIST_WINDOW (for a backfill
    that rescans: the whole folder is listed, backwards)."""
    found: list[array[int]] = []
    top = exists
    while top >= 1 and last_uid > 0:
        start = max(1, top - LIST_WINDOW + 1)
        window = uids_at(start, top, top == exists)
        found.append(array("I", sorted(uid for uid in window if uid <= last_uid)))
        top = start - 1
    return windows(ascending(found), LIST_WINDOW)


def ascending(backwards: list[array[int]]) -> Iterator[int]:
    """The UIDs of windows listed from the end backwards, ascending, each once. Each window
    lies below the one listed before it, but for a message an expunge meanwhile moved into
    both: that one is skipped as no greater than the last UID given."""
    floor = 0
    while backwards:
        for uid in backwards.pop():
            if uid > floor:
                floor = uid
                yield uid


def windows(items: Iterator[int], size: int) -> Iterator[list[int]]:
    window: list[int] = []
    for item in items:
        window.append(item)
        if len(window) == size:
            yield window
            window = []
    if window:
        yield window
