"""A folder's UIDs batch by batch: fetched, planned (here or by the child process), then
committed with the folder's cursor, one transaction a batch (the engine's half that works on
batches; engine.py decides which UIDs, folder by folder).

Inline, a batch is finished before the next is fetched. When a child plans (planner.py),
LOOKAHEAD batches are fetched and sent to it before the oldest is finished, so that this
process fetches and commits while the child plans; the batches are still finished in order,
and a failure or a stop finishes those already fetched before it is raised. Those batches
(of a long folder) are committed GROUP_BATCHES at a time: one transaction, with the cursor
after the last of them, writes an index page touched by both once (a first sync of 100,000
messages wrote 39,700 WAL pages in 100 transactions, 16 times the database's 2,400).
"""

from __future__ import annotations

import logging
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from functools import partial

from kithkin.daemon.core.matching import Sieve
from kithkin.daemon.core.records import FolderState
from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.records import FetchedHeader
from kithkin.daemon.steering.policy import ReplyPolicy
from kithkin.daemon.store import Store
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
from kithkin.daemon.sync.report import FolderReport
from kithkin.daemon.sync.source import Fault, FetchIncomplete, MailSource, Progress, Stopped
from kithkin.daemon.sync.storing import BatchCommit, RowsRefused, store_all, store_each

log = logging.getLogger("kithkin.sync")

LARGE_GROUP = 16  # header sections over the first read are read again this many at a time
LOOKAHEAD = 2  # batches fetched and sent to a planning child before the oldest is finished
GROUP_BATCHES = 2  # batches a transaction when a child plans (1,000 messages each)


class BatchPipeline:
    """The batch work of `Sync` (engine.py), which sets these."""

    source: MailSource
    store: Store
    me: frozenset[str]
    book: dict[str, int]
    sieve: Sieve
    clock: Callable[[], datetime]
    progress: Progress
    should_stop: Callable[[], bool]
    heartbeat: Callable[[], None]
    zone: tzinfo
    reply_policy: ReplyPolicy
    fault: Fault | None
    plan_in_child: bool | None
    worker: PlanWorker | None

    def _batches(
        self, uids: array[int], state: FolderState, report: FolderReport, *, mode: str
    ) -> FolderState:
        """Fetch, plan and commit `uids` batch by batch. `mode`: "new" (moves the cursor and
        reads replies), "backfill" (below the cursor, logs only) or "retry" (set-aside
        messages). When a child process plans, LOOKAHEAD batches are fetched (and their
        plans asked for) before the oldest is finished, so that the two processes overlap,
        and finished batches are committed GROUP_BATCHES at a time."""
        planner = self._planner(len(uids), state, mode)
        lookahead = 0 if isinstance(planner, InlinePlanner) else LOOKAHEAD
        ahead: deque[_Read] = deque()
        group = _Group(GROUP_BATCHES if lookahead else 1)
        for batch in pipelined_batches(self.source, uids, long=lookahead > 0):
            if self.should_stop():
                self._finish_all(ahead, group, state, report, mode)
                raise Stopped
            try:
                ahead.append(self._read(batch, state, mode, planner))
            except Exception:  # what was fetched before the failure is kept
                self._finish_all(ahead, group, state, report, mode)
                raise
            while len(ahead) > lookahead:
                state = self._finish(ahead.popleft(), group, state, report, mode)
        return self._finish_all(ahead, group, state, report, mode)

    def _finish_all(
        self, ahead: deque[_Read], group: _Group, state: FolderState, report: FolderReport,
        mode: str,
    ) -> FolderState:  # fmt: skip
        while ahead:
            state = self._finish(ahead.popleft(), group, state, report, mode)
        return self._store(group, state, report, mode)

    def _planner(self, count: int, state: FolderState, mode: str) -> Planner:
        """The child's planner when a child plans (started for this many UIDs if need be),
        else planning here."""
        inline = InlinePlanner(lambda fetched, replies: self._plan(fetched, state, mode))
        if self.worker is None and self._child_wanted(count):
            self._start_worker()
        if self.worker is None:
            return inline
        return self.worker.planner(inline.plan)

    def _start_worker(self) -> None:
        self.worker = PlanWorker(self.book, self.me)

    def _child_wanted(self, count: int) -> bool:
        if self.plan_in_child is not None:
            return self.plan_in_child
        return count >= WORKER_THRESHOLD and self.fault is None and second_cpu()

    def _read(self, uids: list[int], state: FolderState, mode: str, planner: Planner) -> _Read:
        """A batch fetched, and its plan asked for."""
        self.heartbeat()
        fetched, unfetchable = self._fetch(uids, state)
        self.heartbeat()
        planning = planner.submit([f for f in fetched if not f.long], replies=mode != "backfill")
        return _Read(uids, fetched, unfetchable, planning)

    def _finish(
        self, read: _Read, group: _Group, state: FolderState, report: FolderReport, mode: str
    ) -> FolderState:
        """A fetched batch's plan completed and its replies read, into `group`; the group
        committed once it is large enough, or when this batch failed (the batches before
        it are kept). A reply twice in a group is applied once: `apply_replies` asks the
        store before each."""
        try:
            commit = self._complete(read, state, mode)
        except Exception:
            self._store(group, state, report, mode)
            raise
        group.add(commit)
        if group.batches >= group.size:
            state = self._store(group, state, report, mode)
        return state

    def _complete(self, read: _Read, state: FolderState, mode: str) -> BatchCommit:
        """A fetched batch's plan, with its long headers read again and its replies read."""
        uids, fetched, unfetchable = read.uids, read.fetched, read.unfetchable
        plan = read.planning.result()
        for group in _chunks([f.uid for f in fetched if f.long], LARGE_GROUP):
            whole, failed = self._fetch(group, state, whole=True)
            unfetchable += failed
            plan.add(self._plan(whole, state, mode))  # one group in memory at a time
            self.heartbeat()
        answers = read_replies(self.source, self.store, plan.replies, self.clock())
        self.heartbeat()
        return BatchCommit(uids, fetched, unfetchable, plan, answers)

    def _store(
        self, group: _Group, state: FolderState, report: FolderReport, mode: str
    ) -> FolderState:
        """The batches of `group` committed in one transaction with the cursor after them
        (nothing when it is empty), and reported."""
        commit = group.take()
        if commit is None:
            return state
        uids, plan = commit.uids, commit.plan
        assert state.uidvalidity is not None
        inject = partial(self._inject, "store", state.name)
        try:  # the rows in bulk, no savepoint (it costs a journal copy of every page touched)
            with self.store.atomic():
                commit.added = store_all(self.store, plan, inject)
                state = self._commit(commit, state, report, mode)
        except RowsRefused:  # rolled back: again, message by message
            with self.store.atomic():
                commit.added, commit.failed_rows = store_each(self.store, plan, inject)
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


class _Group:
    """Finished batches not committed yet, merged into one `BatchCommit`; `size`: how many
    are committed together."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.batches = 0
        self.commit: BatchCommit = _empty()

    def add(self, commit: BatchCommit) -> None:
        self.batches += 1
        merged = self.commit
        merged.uids += commit.uids
        merged.fetched += commit.fetched
        merged.unfetchable += commit.unfetchable
        merged.plan.add(commit.plan)
        merged.answers += commit.answers

    def take(self) -> BatchCommit | None:
        commit, self.commit, self.batches = self.commit, _empty(), 0
        return commit if commit.uids else None


def _empty() -> BatchCommit:
    return BatchCommit([], [], [], BatchPlan(), [])


@dataclass
class _Read:
    """A batch fetched, its plan on the way."""

    uids: list[int]
    fetched: list[FetchedHeader]
    unfetchable: list[int]
    planning: Planning


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
