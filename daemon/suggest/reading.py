"""The owner's correspondence, read for `kithkin suggest`: every folder the sync reads
(INBOX plus the \\Sent folders, or \\All; `[imap] folders` overrides), opened with EXAMINE,
only the sync's header fields fetched with BODY.PEEK, batch by batch with the next batches'
FETCHes sent ahead, as the sync does. Only mail since the period's start is listed (`UID
SEARCH SINCE`, or every UID where the server refuses that search). Each message goes into a
`Correspondence` in memory; nothing is written.

One message never stops the rest: one whose header cannot be read is counted and passed
over; a FETCH that keeps failing is narrowed down to the messages that cause it, which are
passed over too (the sync's `Narrowing`). A folder that cannot be opened is named and
skipped.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from kithkin.daemon.core.suggestions import Correspondence
from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.records import FetchedHeader, FolderUnavailable, SearchRefused
from kithkin.daemon.sync.batches import pipelined_batches
from kithkin.daemon.sync.failures import caused_by_the_message
from kithkin.daemon.sync.narrowing import GiveUp, Narrowing
from kithkin.daemon.sync.pipeline import LARGE_GROUP
from kithkin.daemon.sync.source import MailSource, NoProgress, Progress
from kithkin.parsers.headers import read_block
from kithkin.parsers.text import clean_line

log = logging.getLogger("kithkin.suggest")


@dataclass
class ReadReport:
    """What was read: messages per folder, those that could not be, folders not opened."""

    folders: dict[str, int] = field(default_factory=dict)  # folder -> messages read
    unreadable: int = 0
    unavailable: list[str] = field(default_factory=list)  # "folder: why"

    @property
    def messages(self) -> int:
        return sum(self.folders.values())


def read_correspondence(
    source: MailSource,
    into: Correspondence,
    *,
    progress: Progress | None = None,
) -> ReadReport:
    """Read every folder the sync reads into `into`; return what was read."""
    reader = _Reader(source, into, progress or NoProgress())
    for folder in source.folders_to_sync():
        reader.folder(folder)
    return reader.report


class _Reader:
    def __init__(self, source: MailSource, into: Correspondence, progress: Progress) -> None:
        self.source = source
        self.into = into
        self.progress = progress
        self.report = ReadReport()
        self.since = (into.start - timedelta(days=1)).date()  # SINCE is by the server's day

    def folder(self, folder: str) -> None:
        try:
            self.source.examine(folder)
        except FolderUnavailable as exc:
            self.report.unavailable.append(clean_line(str(exc)).split(": ", 1)[-1])
            log.warning("%s", clean_line(str(exc)))
            return
        uids = self._listed(self.since)
        self.progress.folder(folder, len(uids))
        self.report.folders[folder] = 0
        for batch in pipelined_batches(self.source, uids):
            counted = self.into.counts.counted
            fetched = self._fetch(batch, folder)
            self._observe(f for f in fetched if not f.long)
            long = [f.uid for f in fetched if f.long]
            for start in range(0, len(long), LARGE_GROUP):  # one group in memory at a time
                self._observe(iter(self._fetch(long[start : start + LARGE_GROUP], folder, True)))
            self.report.folders[folder] += len(batch)
            self.progress.advance(len(batch), self.into.counts.counted - counted)

    def _listed(self, since: date) -> array[int]:
        """The UIDs of mail since `since` (INTERNALDATE), or of all mail where the server
        cannot search so: 4 bytes a UID."""
        try:
            return array("I", self.source.search_uids(["SINCE", since]))
        except SearchRefused as exc:
            log.info("%s; reading every message's header instead", exc)
        uids = array("I")
        for window in self.source.uids_above(0):
            uids.extend(window)
        return uids

    def _fetch(self, uids: list[int], folder: str, whole: bool = False) -> list[FetchedHeader]:
        fetch = self.source.fetch_whole_headers if whole else self.source.fetch_headers
        try:
            return fetch(uids)
        except MailboxError as exc:
            log.info("%s: %s; fetching that batch again in parts", folder, exc)
            narrowing = Narrowing(
                fetch, reconnect=self.source.reconnect, heartbeat=lambda: None, folder=folder
            )
            try:
                fetched, failed = narrowing.run(uids, exc, cursor=0)
            except GiveUp as give_up:
                raise give_up.error from None
            self.report.unreadable += len(failed)
            return fetched

    def _observe(self, fetched: Iterator[FetchedHeader]) -> None:
        for item in fetched:
            try:
                if item.header is None:
                    raise ValueError("no header section")
                self.into.observe(read_block(item.header).facts(item.internaldate))
            except Exception as exc:
                if not caused_by_the_message(exc):
                    raise
                log.debug("UID %s: could not be read", item.uid, exc_info=True)
                self.report.unreadable += 1
