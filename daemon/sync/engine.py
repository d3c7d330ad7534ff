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
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from functools import partial

from kithkin.daemon.core.dates import utc_iso
from kithkin.daemon.core.matching import Sieve
from kithkin.daemon.core.records import FolderState
from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.records import FetchedHeader, FolderStatus, FolderUnavailable, Survey
from kithkin.daemon.steering.policy import UNCHECKED, ReplyPolicy
from kithkin.daemon.store import Store
from kithkin.daemon.sync.backfill import SEARCH_LIMIT, search_addresses
from kithkin.daemon.sync.batches import pipelined_batches
from kithkin.daemon.sync.narrowing import GiveUp, Narrowing
from kithkin.daemon.sync.plan import BatchPlan, plan_batch
from kithkin.daemon.sync.planner import (
    WORKER_THRESHOLD,
    InlinePlanner,
    Planner,
    Planning,
    PlanWorker,
    second_cpu,
)
from kithkin.daemon.sync.replies import apply_replies, read_replies
from kithkin.daemon.sync.report import FolderReport, SyncReport
from kithkin.daemon.sync.source import (
    Fault,
    FetchIncomplete,
    MailSource,
    NoProgress,
    Progress,
    Stopped,
)
from kithkin.daemon.sync.storing import BatchCommit, RowsRefused, store_all, store_each
from kithkin.parsers.text import clean_line

log = logging.getLogger("kithkin.sync")

LARGE_GROUP = 16  # header sections over the first read are read again this many at a time
LOOKAHEAD = 2  # batches fetched and sent to a planning child before the oldest is finished


class Sync:
    """One run over every folder. Create it per run; it reads the address book at start."""

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

    def _batches(
        self, uids: array[int], state: FolderState, report: FolderReport, *, mode: str
    ) -> FolderState:
        """Fetch, plan and commit `uids` batch by batch. `mode`: "new" (moves the cursor and
        reads replies), "backfill" (below the cursor, logs only) or "retry" (set-aside
        messages). When a child process plans, LOOKAHEAD batches are fetched (and their
        plans asked for) before the oldest is finished, so that the two processes overlap."""
        planner = self._planner(len(uids), state, mode)
        lookahead = 0 if isinstance(planner, InlinePlanner) else LOOKAHEAD
        ahead: deque[_Read] = deque()
        for batch in pipelined_batches(self.source, uids):
            if self.should_stop():
                while ahead:
                    self._finish(ahead.popleft(), state, report, mode)
                raise Stopped
            try:
                ahead.append(self._read(batch, state, mode, planner))
            except Exception:
                while ahead:  # what was fetched before the failure is kept
                    state = self._finish(ahead.popleft(), state, report, mode)
                raise
            while len(ahead) > lookahead:
                state = self._finish(ahead.popleft(), state, report, mode)
        while ahead:
            state = self._finish(ahead.popleft(), state, report, mode)
        return state

    def _planner(self, count: int, state: FolderState, mode: str) -> Planner:
        """The child's planner when a child plans (started for this many UIDs if need be),
        else planning here."""
        inline = InlinePlanner(lambda fetched, replies: self._plan(fetched, state, mode))
        if self.worker is None and self._child_wanted(count):
            self.worker = PlanWorker(self.book, self.me)
        if self.worker is None:
            return inline
        return self.worker.planner(inline.plan)

    def _child_wanted(self, count: int) -> bool:
        if self.plan_in_child is not None:
            return self.plan_in_child
        return count >= WORKER_THRESHOLD and self.fault is None and second_cpu()

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
            self.worker = PlanWorker(self.book, self.me)

    def _read(self, uids: list[int], state: FolderState, mode: str, planner: Planner) -> _Read:
        """A batch fetched, and its plan asked for."""
        self.heartbeat()
        fetched, unfetchable = self._fetch(uids, state)
        self.heartbeat()
        planning = planner.submit([f for f in fetched if not f.long], replies=mode != "backfill")
        return _Read(uids, fetched, unfetchable, planning)

    def _finish(
        self, read: _Read, state: FolderState, report: FolderReport, mode: str
    ) -> FolderState:
        """A fetched batch's plan completed, its replies read, and all of it committed."""
        uids, fetched, unfetchable = read.uids, read.fetched, read.unfetchable
        plan = read.planning.result()
        for group in _chunks([f.uid for f in fetched if f.long], LARGE_GROUP):
            whole, failed = self._fetch(group, state, whole=True)
            unfetchable += failed
            plan.add(self._plan(whole, state, mode))  # one group in memory at a time
            self.heartbeat()
        answers = read_replies(self.source, self.store, plan.replies, self.clock())
        self.heartbeat()
        assert state.uidvalidity is not None
        commit = BatchCommit(uids, fetched, unfetchable, plan, answers)
        inject = partial(self._inject, "store", state.name)
        try:  # the rows in bulk, no savepoint (it costs a journal copy of every page touched)
            with self.store.atomic():
                commit.added = store_all(self.store, plan.rows, inject)
                state = self._commit(commit, state, report, mode)
        except RowsRefused:  # rolled back: again, message by message
            with self.store.atomic():
                commit.added, commit.failed_rows = store_each(self.store, plan.rows, inject)
                state = self._commit(commit, state, report, mode)
        added, set_aside = commit.added, commit.set_aside
        report.unparseable += plan.unparseable
        report.capped += plan.capped
        if mode != "retry":
            report.set_aside += len(set_aside) + plan.failed_strangers
        if mode == "new":
            report.messages += len(uids)
            report.logged += added
        else:
            report.backfilled += added
        if set_aside:
            log.warning(
                "%s: %d message(s) could not be read and were set aside (UIDs %s)",
                state.name,
                len(set_aside),
                ", ".join(str(uid) for uid in set_aside[:20]),
            )
        log.debug(
            "%s: %s batch of %d message(s): %d interaction(s) added, %d set aside",
            state.name, mode, len(uids), added, len(set_aside),
        )  # fmt: skip
        self.progress.advance(len(uids), added)
        return state

    def _plan(self, fetched: list[FetchedHeader], state: FolderState, mode: str) -> BatchPlan:
        fault = self.fault
        return plan_batch(
            fetched,
            self.book,
            self.me,
            replies=mode != "backfill",
            sieve=self.sieve,
            fault=None if fault is None else (lambda stage, uid: fault(stage, state.name, uid)),
        )

    def _inject(self, stage: str, folder: str, uid: int) -> None:
        if self.fault is not None:
            self.fault(stage, folder, uid)

    def _commit(
        self, commit: BatchCommit, state: FolderState, report: FolderReport, mode: str
    ) -> FolderState:
        """The rest of a batch's transaction, after its rows: replies, set-aside messages and
        the cursor. Returns the folder's state as committed."""
        assert state.uidvalidity is not None
        failed_replies = apply_replies(
            self.store,
            commit.answers,
            now=self.clock(),
            zone=self.zone,
            policy=self.reply_policy,
            before_each=lambda uid: self._inject("reply", state.name, uid),
        )
        unfetchable, fetched, uids = commit.unfetchable, commit.fetched, commit.uids
        set_aside = sorted({*unfetchable, *commit.plan.failed, *commit.failed_rows,
                            *failed_replies})  # fmt: skip
        commit.set_aside = set_aside
        for uid in set_aside:
            stage = "fetch" if uid in unfetchable else "process"
            self.store.set_aside.record(state.name, state.uidvalidity, uid, stage, self.clock())
        if mode == "retry":
            read = [f.uid for f in fetched if f.uid not in set_aside]
            gone = sorted(set(uids) - {f.uid for f in fetched} - set(unfetchable))
            self.store.set_aside.clear(state.name, state.uidvalidity, [*read, *gone])
            report.retried += len(read)
        if mode == "new":
            state = replace(
                state,
                last_uid=max(state.last_uid, max(uids)),
                messages_seen=state.messages_seen + len(uids),
                interactions_logged=state.interactions_logged + commit.added,
            )
            self.store.folders.save(state)
        return state

    # --- fetching, narrowed down on failure ---------------------------------------------

    def _fetch(
        self, uids: list[int], state: FolderState, *, whole: bool = False
    ) -> tuple[list[FetchedHeader], list[int]]:
        """(headers, UIDs set aside because their FETCH failed every time). `whole`: the
        long header sections, read again up to their limit."""
        try:
            return self._fetch_once(uids, whole=whole), []
        except MailboxError as exc:
            log.info("%s: %s; fetching that batch again in parts", state.name, exc)
            narrowing = Narrowing(
                lambda part: self._fetch_once(part, whole=whole),
                reconnect=self.source.reconnect,
                heartbeat=self.heartbeat,
                folder=state.name,
            )
            try:
                return narrowing.run(uids, exc, cursor=state.last_uid)
            except GiveUp as give_up:
                raise give_up.error from None

    def _fetch_once(self, uids: list[int], *, whole: bool = False) -> list[FetchedHeader]:
        fetch = self.source.fetch_whole_headers if whole else self.source.fetch_headers
        batch = fetch(uids)
        self._check_complete(uids, batch)
        return batch

    def _check_complete(self, uids: list[int], batch: list[FetchedHeader]) -> None:
        """A UID asked for and not answered must have been expunged meanwhile; if it still
        exists, the response was garbled, and committing the cursor past it would lose it."""
        missing = set(uids) - {fetched.uid for fetched in batch}
        if not missing:
            return
        still_there = self.source.existing(sorted(missing))
        if still_there:
            raise FetchIncomplete(
                f"the server left out {len(still_there)} message(s) from a FETCH reply"
            )

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


@dataclass
class _Read:
    """A batch fetched, its plan on the way."""

    uids: list[int]
    fetched: list[FetchedHeader]
    unfetchable: list[int]
    planning: Planning


def _unchanged(state: FolderState, status: FolderStatus, pending: list[str]) -> bool:
    """Whether a folder's STATUS shows nothing to do: no new UID, the same UIDVALIDITY, and
    no new contact's past mail to look for."""
    return (
        state.uidvalidity == status.uidvalidity
        and state.uidnext is not None
        and state.uidnext == status.uidnext
        and not (pending and state.last_uid > 0)
    )


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
