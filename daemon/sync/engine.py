"""The sync engine: folder cursors, UIDVALIDITY, batches, backfill. No sockets, no SQL here.

Per folder the store keeps UIDVALIDITY, the last UID processed and the UIDNEXT seen when the
folder was last complete. Each batch of fetched headers is planned (parsed and matched
against the address book, without I/O), then committed together with the advanced cursor in
one transaction, so a crash at any point loses nothing committed and a resync never logs a
message twice (the store keys interactions on contact and Message-ID).

No message can stop the mail after it. One whose processing raises is set aside: recorded by
folder, UIDVALIDITY and UID only (and not at all when it involves no contact), and the cursor
moves past it; `run(retry_set_aside=True)` reads those again. A batch whose FETCH fails
(the server drops the connection or answers garbage) is fetched again in halves on a fresh
connection until the one message that causes it is found; after three failed tries that
message is set aside and the rest logged.

Contacts added since the last sync are "pending": their past mail, below the cursors, is found
by a targeted `UID SEARCH FROM/TO/CC/BCC` where the server allows it, or else by scanning the
headers again. Nothing about a message that involves no contact is ever written.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, tzinfo

from kithkin.daemon.core.dates import utc_iso
from kithkin.daemon.core.matching import Sieve
from kithkin.daemon.core.records import FolderState
from kithkin.daemon.mail.records import FolderStatus, FolderUnavailable, Survey
from kithkin.daemon.steering.policy import UNCHECKED, ReplyPolicy
from kithkin.daemon.store import Store
from kithkin.daemon.sync.backfill import SEARCH_LIMIT, search_addresses
from kithkin.daemon.sync.pipeline import BatchPipeline
from kithkin.daemon.sync.planner import (
    PlanWorker,
)
from kithkin.daemon.sync.report import FolderReport, SyncReport
from kithkin.daemon.sync.source import (
    Fault,
    MailSource,
    NoProgress,
    Progress,
)
from kithkin.parsers.text import clean_line

log = logging.getLogger("kithkin.sync")


class Sync(BatchPipeline):
    """One run over every folder. Create it per run; it reads the address book at start.
    Each folder's batches go through `BatchPipeline` (pipeline.py)."""

    def __init__(
        self,
        source: MailSource,
        store: Store,
        me: Iterable[str],
        *,
        clock: Callable[[], datetime],
        progress: Progress | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        heartbeat: Callable[[], None] = lambda: None,
        zone: tzinfo = UTC,
        fault: Fault | None = None,
        reply_policy: ReplyPolicy = UNCHECKED,
        plan_in_child: bool | None = None,
    ) -> None:
        self.source = source
        self.store = store
        self.me = frozenset(me)
        self.clock = clock
        self.progress = progress or NoProgress()
        self.should_stop = should_stop
        self.heartbeat = heartbeat  # called between commands: feeds systemd's watchdog
        self.zone = zone  # the owner's: the day a reply's commands count from
        self.reply_policy = reply_policy
        self.fault = fault
        # None: a child process plans a long folder's batches when there is a second CPU
        self.plan_in_child = plan_in_child
        self.worker: PlanWorker | None = None
        self.book = store.contacts.active_address_book()
        self.sieve = Sieve.of(self.book, self.me)

    def run(self, *, backfill_all: bool = False, retry_set_aside: bool = False) -> SyncReport:
        pending = sorted(self.book) if backfill_all else self.store.backfill.pending()
        report = SyncReport()
        survey = self.source.survey(state.name for state in self.store.folders.all())
        try:
            self._start_planning(survey)
            with self.store.bulk():
                backfill_done = self._sync_folders(survey, pending, report, retry_set_aside)
        finally:
            if self.worker is not None:
                self.worker.close()
                self.worker = None
        if pending and backfill_done:
            with self.store.atomic():
                self.store.backfill.clear(pending)
        return report

    def _sync_folders(
        self, survey: Survey, pending: list[str], report: SyncReport, retry_set_aside: bool
    ) -> bool:
        """Every folder of the survey; whether each could be read (the backfill is done)."""
        backfill_done = True
        missing = {folder.name: folder for folder in survey.missing}
        for folder in survey.folders:
            folder_report = FolderReport(folder)
            report.folders.append(folder_report)
            self.heartbeat()
            try:
                if folder in missing:
                    self._folder_failed(folder_report, missing[folder].describe(), missing=True)
                else:
                    self._sync_folder(
                        folder, survey.status.get(folder), pending, folder_report, retry_set_aside
                    )
            except FolderUnavailable as exc:
                # the server's words, after "host:port: ": stored and shown
                self._folder_failed(folder_report, clean_line(str(exc)).split(": ", 1)[-1])
            if folder_report.error:
                backfill_done = False
        return backfill_done

    def _folder_failed(self, report: FolderReport, error: str, *, missing: bool = False) -> None:
        """A folder not synced: its error in the report, and in the store when it changed
        (the caller says it, once: `kithkin sync` on stderr, the service in its log)."""
        report.error, report.missing = error, missing
        log.debug("%s: not synced: %s", report.name, error)
        state = self.store.folders.get(report.name)
        if state.last_error != error:
            with self.store.atomic():
                self.store.folders.save(replace(state, last_error=error))

    # --- one folder ---------------------------------------------------------------------

    def _sync_folder(
        self,
        folder: str,
        expect: FolderStatus | None,
        pending: list[str],
        report: FolderReport,
        retry: bool,
    ) -> None:
        state = self.store.folders.get(folder)
        if expect is not None and not retry and _unchanged(state, expect, pending):
            report.unchanged = True  # its STATUS says so: not even examined
            log.debug("%s: unchanged since the last sync (STATUS)", folder)
            with self.store.atomic():
                self.store.folders.save(
                    replace(state, last_sync_at=utc_iso(self.clock()), last_error=None)
                )
            return
        listing_next = not retry and not (pending and state.last_uid > 0)
        cursor = None
        if expect is not None and listing_next:  # the listing's windows go with EXAMINE
            cursor = state.last_uid if expect.uidvalidity == state.uidvalidity else 0
        status = self.source.examine(folder, expect, cursor)
        log.debug(
            "%s: examined: UIDVALIDITY %s, %d message(s), UIDNEXT %s, cursor at UID %d",
            folder, status.uidvalidity, status.exists, status.uidnext, state.last_uid,
        )  # fmt: skip
        if state.uidvalidity is not None and state.uidvalidity != status.uidvalidity:
            log.warning(
                "%s: UIDVALIDITY changed (%s -> %s); rescanning, already logged mail is kept",
                folder,
                state.uidvalidity,
                status.uidvalidity,
            )
            report.uidvalidity_reset = True
            state = replace(state, last_uid=0, uidnext=None)
        state = replace(state, uidvalidity=status.uidvalidity)
        with self.store.atomic():
            self.store.set_aside.clear_stale(folder, status.uidvalidity)

        if retry:
            self._retry_set_aside(state, report)
        if pending and state.last_uid > 0:
            self._backfill(state, pending, report)

        if status.exists == 0 or (state.uidnext is not None and state.uidnext == status.uidnext):
            report.unchanged = True
        else:
            uids = self._listed(self.source.uids_above(state.last_uid))
            log.debug("%s: %d new UID(s) to read", folder, len(uids))
            self.progress.folder(folder, len(uids))
            state = self._batches(uids, state, report, mode="new")
        with self.store.atomic():
            self.store.folders.save(
                replace(
                    state,
                    uidnext=status.uidnext,
                    last_sync_at=utc_iso(self.clock()),
                    last_error=None,
                )
            )

    def _start_planning(self, survey: Survey) -> None:
        """The child started now, when the STATUS of the folders shows many new messages, so
        that it is ready when their first batch is."""
        to_read = 0
        for folder, status in survey.status.items():
            state = self.store.folders.get(folder)
            if state.uidvalidity != status.uidvalidity or status.uidnext is None:
                to_read += status.exists
            else:
                to_read += max(0, min(status.exists, status.uidnext - 1 - state.last_uid))
        if to_read and self._child_wanted(to_read):
            self._start_worker()

    # --- set-aside messages, read again -------------------------------------------------

    def _retry_set_aside(self, state: FolderState, report: FolderReport) -> None:
        uids = self.store.set_aside.uids(state.name, state.uidvalidity)
        if not uids:
            return
        self.progress.folder(f"{state.name} (set aside)", len(uids))
        self._batches(array("I", uids), state, report, mode="retry")

    # --- backfill -----------------------------------------------------------------------

    def _backfill(self, state: FolderState, pending: list[str], report: FolderReport) -> None:
        """Log past mail of newly added addresses, below the folder's cursor."""
        new = [address for address in pending if address in self.book]
        if not new:
            return
        found = None
        if len(new) <= SEARCH_LIMIT:
            found = search_addresses(self.source, new, state.last_uid, self.heartbeat)
        if found is None:
            log.info("%s: scanning headers for %d new address(es)", state.name, len(new))
            uids = self._listed(self.source.uids_up_to(state.last_uid))
        else:
            uids = array("I", found)
        self.progress.folder(f"{state.name} (backfill)", len(uids))
        self._batches(uids, state, report, mode="backfill")

    # --- batches ------------------------------------------------------------------------

    def _listed(self, windows: Iterable[list[int]]) -> array[int]:
        """A listing's windows as one array: 4 bytes a UID, a million of them in 4 MB."""
        uids = array("I")
        for window in windows:
            uids.extend(window)
            self.heartbeat()
        return uids


def _unchanged(state: FolderState, status: FolderStatus, pending: list[str]) -> bool:
    """Whether a folder's STATUS shows nothing to do: no new UID, the same UIDVALIDITY, and
    no new contact's past mail to look for."""
    return (
        state.uidvalidity == status.uidvalidity
        and state.uidnext is not None
        and state.uidnext == status.uidnext
        and not (pending and state.last_uid > 0)
    )
