"""A folder's UIDs in batches of one UID FETCH each, the FETCHes of the next batches sent
ahead of the one being read (mail/headers.py pipelines them): shared by the sync and by
`kithkin suggest`.

A long folder planned by a child process (`long`) goes in batches twice as large (and
sync/pipeline.py commits two of them a transaction, so an index page is written once for
2,000 messages, not for 500), with 7,000 to 8,000 messages always sent ahead: Dovecot
serves about 100,000 header sections a second (the bare socket of tests/bench/bench_wire.py),
and when the sync reads them as fast, 4,000 ahead lasted 40 ms, less than a 50 ms round trip.
A batch whose UIDs come in more than MAX_RUNS runs stays at FETCH_BATCH: mail/headers.py
writes runs as ranges, and so keeps a long batch's command line under 4 KB (RFC 7162 §4 asks
for 8 KB at most).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from itertools import pairwise

from kithkin.daemon.sync.source import MailSource

FETCH_BATCH = 500  # UIDs per UID FETCH: about 3.5 KB of command line
PIPELINE_DEPTH = 7  # batches whose FETCH is sent while one is being read (see mail/headers.py)
LONG_BATCH = 2 * FETCH_BATCH  # UIDs per UID FETCH of a long folder
LONG_DEPTH = 7  # 7,000 to 8,000 messages ahead: a distant server is never left idle
MAX_RUNS = 180  # runs of consecutive UIDs in a long batch: 180 x `4294967295:4294967295,`


def pipelined_batches(
    source: MailSource, uids: array[int], *, long: bool = False
) -> Iterator[list[int]]:
    """`uids` in FETCH_BATCH batches (LONG_BATCH with `long`), the FETCH of the next
    PIPELINE_DEPTH (LONG_DEPTH) sent ahead."""
    bounds = _long_bounds(uids) if long else _bounds(len(uids), FETCH_BATCH)
    depth = LONG_DEPTH if long else PIPELINE_DEPTH
    for index, (start, end) in enumerate(bounds):
        for ahead_start, ahead_end in bounds[index : index + 1 + depth]:
            source.prefetch_headers(uids[ahead_start:ahead_end].tolist())
        yield uids[start:end].tolist()


def _bounds(count: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(count, start + size)) for start in range(0, count, size)]


def _long_bounds(uids: array[int]) -> list[tuple[int, int]]:
    bounds, start, count = [], 0, len(uids)
    while start < count:
        end = min(count, start + LONG_BATCH)
        if end - start > FETCH_BATCH and _runs(uids, start, end) > MAX_RUNS:
            end = start + FETCH_BATCH  # sparse UIDs: the usual command line
        bounds.append((start, end))
        start = end
    return bounds


def _runs(uids: array[int], start: int, end: int) -> int:
    """How many runs of consecutive UIDs uids[start:end] (ascending) makes."""
    return 1 + sum(1 for before, after in pairwise(uids[start:end]) if after != before + 1)
