"""daemon/sync/batches.py and mail/headers.py's `uid_set`: which UIDs go in which UID FETCH,
which are sent ahead, and how a UID set is written.
"""

from __future__ import annotations

from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kithkin.daemon.mail.headers import uid_set
from kithkin.daemon.sync import batches
from kithkin.daemon.sync.batches import pipelined_batches


@pytest.mark.parametrize(
    ("uids", "written"),
    [
        ([], ""),
        ([7], "7"),
        ([1, 2, 3], "1:3"),
        ([1, 3, 5], "1,3,5"),
        ([1, 2, 3, 7, 9, 10], "1:3,7,9:10"),
        ([4294967294, 4294967295], "4294967294:4294967295"),
        ([5, 3, 4], "5,3:4"),  # in the order given: nothing named twice, nothing left out
    ],
)
def test_a_uid_set_names_exactly_the_uids_runs_as_ranges(uids: list[int], written: str) -> None:
    assert uid_set(uids) == written


def named(text: str) -> list[int]:
    found: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition(":")
        found += range(int(first), int(last or first) + 1)
    return found


@given(st.lists(st.integers(1, 2**32 - 1), unique=True).map(sorted))
def test_a_uid_set_never_names_a_uid_not_asked_for(uids: list[int]) -> None:
    assert named(uid_set(uids)) == uids if uids else uid_set(uids) == ""


class Recorder:
    def __init__(self) -> None:
        self.sent: list[list[int]] = []

    def prefetch_headers(self, uids: list[int]) -> None:
        if uids not in self.sent:  # as HeaderFetcher.prefetch: a batch is sent once
            self.sent.append(uids)


def test_a_long_folder_goes_in_batches_of_1000_with_4000_or_more_sent_ahead() -> None:
    source = Recorder()
    uids = array("I", range(1, 10_001))
    read = []
    for batch in pipelined_batches(source, uids, long=True):  # type: ignore[arg-type]
        ahead = sum(len(sent) for sent in source.sent) - sum(len(done) for done in read)
        assert ahead >= min(len(uids) - sum(map(len, read)), 4 * batches.FETCH_BATCH * 2)
        read.append(batch)
    assert [len(batch) for batch in read] == [1000] * 10
    assert [uid for batch in read for uid in batch] == list(uids)
    assert source.sent == read


def test_a_long_folder_of_sparse_uids_keeps_batches_of_500() -> None:
    """Every other UID: 1,000 of them would be 1,000 runs, a 10 KB command line."""
    source = Recorder()
    uids = array("I", range(1, 6_001, 2))
    read = list(pipelined_batches(source, uids, long=True))  # type: ignore[arg-type]
    assert [len(batch) for batch in read] == [500] * 6
    assert max(len(uid_set(batch)) for batch in read) < 4_000


def test_a_short_folder_goes_in_batches_of_500_with_seven_sent_ahead() -> None:
    source = Recorder()
    uids = array("I", range(1, 5_001))
    first = next(iter(pipelined_batches(source, uids)))  # type: ignore[arg-type]
    assert len(first) == 500 and len(source.sent) == 8
