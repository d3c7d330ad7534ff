"""A folder's UIDs in batches of one UID FETCH each, the FETCHes of the next batches sent
ahead of the one being read (mail/headers.py pipelines them): shared by the sync and by
`kithkin suggest`."""

from __future__ import annotations

from array import array
from collections.abc import Iterator

from kithkin.daemon.sync.source import MailSource

FETCH_BATCH = 500  # UIDs per UID FETCH: about 3.5 KB of command line
PIPELINE_DEPTH = 7  # batches whose FETCH is sent while one is being read (see mail/headers.py)


def pipelined_batches(source: MailSource, uids: array[int]) -> Iterator[list[int]]:
    """`uids` in FETCH_BATCH batches, the FETCH of the next PIPELINE_DEPTH sent ahead."""
    starts = range(0, len(uids), FETCH_BATCH)
    for index, start in enumerate(starts):
        for ahead in starts[index : index + 1 + PIPELINE_DEPTH]:
            source.prefetch_headers(uids[ahead : ahead + FETCH_BATCH].tolist())
        yield uids[start : start + FETCH_BATCH].tolist()
