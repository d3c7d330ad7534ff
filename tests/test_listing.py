"""daemon/mail/listing.py as tables: a folder listed backwards over sequence numbers, with
windows that grow, sparse UIDs, and messages expunged between two listing commands."""

from __future__ import annotations

import pytest

from kithkin.daemon.mail import listing
from kithkin.daemon.mail.listing import uids_above, uids_up_to


class Folder:
    """UIDs by sequence number; `expunge_after` removes UIDs once the Nth command is answered."""

    def __init__(self, uids: list[int], expunge_after: dict[int, list[int]] | None = None):
        self.uids = uids
        self.expunge_after = expunge_after or {}
        self.calls: list[tuple[int, int]] = []

    def uids_at(self, start: int, end: int, to_end: bool) -> list[int]:
        self.calls.append((start, end))
        answer = self.uids[start - 1 : end]
        for uid in self.expunge_after.get(len(self.calls), []):
            self.uids.remove(uid)
        return answer


def listed(windows) -> list[int]:
    return [uid for window in windows for uid in window]


@pytest.fixture(autouse=True)
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "FIRST_LIST_WINDOW", 2)
    monkeypatch.setattr(listing, "LIST_WINDOW", 8)


ABOVE = [
    # uids, last_uid, expunged after the Nth command, expected
    ([1, 2, 3, 4, 5], 0, {}, [1, 2, 3, 4, 5]),
    ([1, 2, 3, 4, 5], 3, {}, [4, 5]),
    ([1, 2, 3, 4, 5], 5, {}, []),
    ([10, 4_000_000_000], 0, {}, [10, 4_000_000_000]),  # sparse: two commands, not millions
    (list(range(1, 41)), 0, {1: [38]}, [u for u in range(1, 41) if u != 38]),  # shifts 37 into both
    (list(range(1, 41)), 0, {1: [39, 40]}, list(range(1, 41))),  # the newest two, after listing
    (list(range(1, 41)), 0, {2: [5, 6, 7]}, [u for u in range(1, 41) if u not in (5, 6, 7)]),
    (list(range(1, 41)), 30, {1: [2, 3]}, list(range(31, 41))),
]


@pytest.mark.parametrize(("uids", "last_uid", "expunge", "expected"), ABOVE)
def test_uids_above_the_cursor_each_once_ascending(uids, last_uid, expunge, expected) -> None:
    folder = Folder(list(uids), expunge)
    got = listed(uids_above(folder.uids_at, len(uids), uids[-1] + 1, last_uid))
    assert got == sorted(set(got))
    assert set(expected) <= set(got) <= set(uids)  # an expunged message may or may not be seen


def test_an_idle_poll_costs_one_small_command() -> None:
    folder = Folder(list(range(1, 1001)))
    assert listed(uids_above(folder.uids_at, 1000, None, 1000)) == []
    assert folder.calls == [(999, 1000)]


def test_uidnext_at_the_cursor_lists_nothing() -> None:
    folder = Folder(list(range(1, 11)))
    assert listed(uids_above(folder.uids_at, 10, 11, 10)) == []
    assert folder.calls == []


def test_windows_grow_fourfold_up_to_the_largest() -> None:
    folder = Folder(list(range(1, 31)))
    assert listed(uids_above(folder.uids_at, 30, 31, 0)) == list(range(1, 31))
    assert folder.calls == [(29, 30), (21, 28), (13, 20), (5, 12), (1, 4)]


def test_windows_handed_on_are_at_most_the_largest() -> None:
    folder = Folder(list(range(1, 31)))
    sizes = [len(window) for window in uids_above(folder.uids_at, 30, 31, 0)]
    assert sizes == [8, 8, 8, 6]


@pytest.mark.parametrize(
    ("uids", "last_uid", "expunge", "expected"),
    [
        (list(range(1, 21)), 12, {}, list(range(1, 13))),
        (list(range(1, 21)), 0, {}, []),
        (list(range(1, 21)), 20, {1: [14]}, [u for u in range(1, 21) if u != 14]),
    ],
)
def test_uids_up_to_the_cursor_each_once_ascending(uids, last_uid, expunge, expected) -> None:
    folder = Folder(list(uids), expunge)
    got = listed(uids_up_to(folder.uids_at, len(uids), last_uid))
    assert got == sorted(set(got))
    assert set(expected) <= set(got) <= set(uids)


def test_after_the_first_window_the_next_covers_what_uidnext_says_may_be_new(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(listing, "LIST_WINDOW", 100)
    folder = Folder(list(range(1, 41)))
    assert listed(uids_above(folder.uids_at, 40, 41, 0)) == list(range(1, 41))
    assert folder.calls == [(39, 40), (1, 38)]  # not 8, then 32 more
    folder = Folder(list(range(1, 41)))
    assert listed(uids_above(folder.uids_at, 40, 41, 25)) == list(range(26, 41))
    assert folder.calls == [(39, 40), (25, 38)]  # down to one old message, which ends it
    folder = Folder(list(range(1, 41)))
    assert listed(uids_above(folder.uids_at, 40, None, 25)) == list(range(26, 41))
    assert folder.calls == [(39, 40), (1, 38)]  # no UIDNEXT: all may be new
