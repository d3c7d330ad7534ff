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
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol

import idna

from kithkin.daemon import steering
from kithkin.daemon.dates import utc_iso
from kithkin.daemon.errors import (
    ConfigError,
    CredentialError,
    DeliveryError,
    MailboxError,
    StoreError,
)
from kithkin.daemon.imap import (
    FETCH_BATCH,
    LARGE_GROUP,
    FetchedHeader,
    FolderStatus,
    FolderUnavailable,
    SearchRefused,
)
from kithkin.daemon.matching import addresses, involved, match
from kithkin.daemon.store import FolderState, NewInteraction, Store
from kithkin.parsers.addresses import normalise_address
from kithkin.parsers.headers import MessageFacts, read_block
from kithkin.parsers.text import clean_line

log = logging.getLogger("kithkin.sync")

SEARCH_CHUNK = 8  # addresses per targeted backfill search (4 criteria each)
SEARCH_LIMIT = 60  # more pending addresses than this: rescan headers instead of searching
FETCH_TRIES = 3  # a single message whose FETCH fails this often is set aside
MIGHT_BE_CAPPED = 4096  # shorter header sections hold no address list longer than is read
MAX_FAILURES_IN_A_ROW = 24  # while narrowing: about two per halving of a batch, plus the tries
MAX_RECOVERIES = 200  # reconnects while narrowing one batch down, at most

Fault = Callable[[str, str, int], None]  # (stage, folder, uid): the test suite's seam


class MailSource(Protocol):
    """What the engine needs from a mailbox; `imap.Mailbox` is the real one."""

    def folders_to_sync(self) -> list[str]: ...
    def examine(self, folder: str) -> FolderStatus: ...
    def uids_above(self, last_uid: int) -> Iterator[list[int]]: ...
    def uids_up_to(self, last_uid: int) -> Iterator[list[int]]: ...
    def search_uids(self, criteria: list[Any], *, charset: str | None = None) -> list[int]: ...
    def existing(self, uids: list[int]) -> set[int]: ...
    def fetch_headers(self, uids: list[int]) -> list[FetchedHeader]: ...
    def fetch_whole_headers(self, uids: list[int]) -> list[FetchedHeader]: ...
    def fetch_bodies(self, uids: list[int]) -> dict[int, bytes]: ...
    def reconnect(self) -> None: ...


class Progress(Protocol):
    def folder(self, name: str, total: int) -> None: ...
    def advance(self, messages: int, logged: int) -> None: ...


class NoProgress:
    def folder(self, name: str, total: int) -> None:
        pass

    def advance(self, messages: int, logged: int) -> None:
        pass


class Stopped(Exception):
    """Raised between batches when the caller asked the sync to stop (SIGTERM)."""


class FetchIncomplete(MailboxError):
    """The server left out of a FETCH reply messages that still exist."""


# Failures of the machine or the network, not of one message: they stop the sync (and the
# next one retries), where anything else a message causes only sets that message aside.
ENVIRONMENT_ERRORS = (
    OSError,
    MemoryError,
    MailboxError,
    StoreError,
    CredentialError,
    ConfigError,
    DeliveryError,
    Stopped,
    sqlite3.OperationalError,
    sqlite3.InternalError,
    sqlite3.NotSupportedError,
)


def caused_by_the_message(exc: BaseException) -> bool:
    if isinstance(exc, ENVIRONMENT_ERRORS):
        return False
    if isinstance(exc, sqlite3.DatabaseError):  # corruption, not IntegrityError and the like
        return isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError)
    return isinstance(exc, Exception)


@dataclass
class FolderReport:
    name: str
    messages: int = 0
    logged: int = 0
    unparseable: int = 0
    capped: int = 0
    set_aside: int = 0
    retried: int = 0
    unchanged: bool = False
    uidvalidity_reset: bool = False
    backfilled: int = 0
    error: str | None = None


@dataclass
class SyncReport:
    folders: list[FolderReport] = field(default_factory=list)

    @property
    def messages(self) -> int:
        return sum(f.messages for f in self.folders)

    @property
    def logged(self) -> int:
        return sum(f.logged + f.backfilled for f in self.folders)

    @property
    def unparseable(self) -> int:
        return sum(f.unparseable for f in self.folders)

    @property
    def set_aside(self) -> int:
        return sum(f.set_aside for f in self.folders)

    @property
    def capped(self) -> int:
        return sum(f.capped for f in self.folders)

    @property
    def retried(self) -> int:
        return sum(f.retried for f in self.folders)

    def summary(self) -> str:
        text = (
            f"{len(self.folders)} folder(s), {self.messages} new message(s) read, "
            f"{self.logged} interaction(s) logged"
        )
        if self.unparseable:
            text += f", {self.unparseable} unreadable message(s) skipped"
        if self.set_aside:
            text += f", {self.set_aside} message(s) could not be read and were set aside"
        if self.capped:
            text += f", {self.capped} with address lists longer than is read (read in part)"
        if self.retried:
            text += f", {self.retried} set-aside message(s) read after all"
        resets = [f.name for f in self.folders if f.uidvalidity_reset]
        if resets:
            text += f"; UIDVALIDITY changed, rescanned: {', '.join(resets)}"
        errors = [f"{f.name}: {f.error}" for f in self.folders if f.error]
        if errors:
            text += "; " + "; ".join(errors)
        return text


# --- planning a batch: pure -------------------------------------------------------------------


@dataclass
class BatchPlan:
    """What one batch of fetched headers means, worked out without I/O."""

    rows: dict[int, list[NewInteraction]] = field(default_factory=dict)  # uid -> rows
    replies: list[tuple[int, MessageFacts]] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # to set aside: may involve a contact
    failed_strangers: int = 0  # failed, but surely involving no contact: nothing recorded
    unparseable: int = 0
    capped: int = 0  # messages whose address lists were longer than is read

    def add(self, other: BatchPlan) -> None:
        self.rows.update(other.rows)
        self.replies += other.replies
        self.failed += other.failed
        self.failed_strangers += other.failed_strangers
        self.unparseable += other.unparseable
        self.capped += other.capped


def plan_batch(
    batch: Iterable[FetchedHeader],
    book: Mapping[str, int],
    me: frozenset[str],
    *,
    replies: bool,
    fault: Callable[[str, int], None] | None = None,
) -> BatchPlan:
    """Fetched headers + address book -> rows to log, reply candidates, messages to set aside."""
    plan = BatchPlan()
    for fetched in batch:
        try:
            if fault is not None:
                fault("plan", fetched.uid)
            _plan_message(plan, fetched, book, me, replies=replies)
        except Exception as exc:
            if not caused_by_the_message(exc):
                raise
            log.debug("UID %s: could not be processed", fetched.uid, exc_info=True)
            if _surely_no_contact(fetched, book, me):
                plan.failed_strangers += 1
            else:
                plan.failed.append(fetched.uid)
    return plan


def _plan_message(
    plan: BatchPlan,
    fetched: FetchedHeader,
    book: Mapping[str, int],
    me: frozenset[str],
    *,
    replies: bool,
) -> None:
    if fetched.header is None:
        plan.unparseable += 1
        return
    block = read_block(fetched.header)
    if fetched.cut or (len(fetched.header) > MIGHT_BE_CAPPED and block.addresses_capped()):
        plan.capped += 1
    maybe_reply = replies and steering.may_be_summary_reply(block, me)
    _, contacts = involved(
        addresses(block.from_), addresses(block.to + block.cc + block.bcc), book, me
    )
    if not contacts and not maybe_reply:
        return  # a stranger's mail: not decoded any further, nothing kept
    facts = block.facts(fetched.internaldate)
    if facts.date is None:
        plan.unparseable += 1
        return
    rows = match(facts, book, me)
    if rows:
        plan.rows[fetched.uid] = rows
    if maybe_reply and steering.looks_like_summary_reply(facts, me):
        plan.replies.append((fetched.uid, facts))


def _surely_no_contact(fetched: FetchedHeader, book: Mapping[str, int], me: frozenset[str]) -> bool:
    """For a message that failed: do its addresses show it concerns nobody we keep?"""
    try:
        block = read_block(fetched.header or b"")
        senders = addresses(block.from_)
        recipients = addresses(block.to + block.cc + block.bcc)
        return not involved(senders, recipients, book, me)[1] and not (senders & me)
    except Exception:  # noqa: BLE001 - unknown: treat it as possibly a contact's
        return False


# --- the engine -------------------------------------------------------------------------------


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
        reply_policy: steering.ReplyPolicy = steering.UNCHECKED,
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
        self.book = store.address_book()

    def run(self, *, backfill_all: bool = False, retry_set_aside: bool = False) -> SyncReport:
        pending = sorted(self.book) if backfill_all else self.store.pending_backfill()
        report = SyncReport()
        backfill_done = True
        for folder in self.source.folders_to_sync():
            folder_report = FolderReport(folder)
            report.folders.append(folder_report)
            self.heartbeat()
            try:
                self._sync_folder(folder, pending, folder_report, retry_set_aside)
            except FolderUnavailable as exc:
                error = clean_line(str(exc))  # the server's words: stored and shown
                folder_report.error = error.split(": ", 1)[-1]
                with self.store.atomic():
                    state = self.store.folder(folder)
                    self.store.save_folder(replace(state, last_error=error))
                log.warning("%s", exc)
                backfill_done = False
        if pending and backfill_done:
            self.store.clear_backfill(pending)
        return report

    # --- one folder ---------------------------------------------------------------------

    def _sync_folder(
        self, folder: str, pending: list[str], report: FolderReport, retry: bool
    ) -> None:
        status = self.source.examine(folder)
        state = self.store.folder(folder)
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
            self.store.clear_stale_set_aside(folder, status.uidvalidity)

        if retry:
            self._retry_set_aside(state, report)
        if pending and state.last_uid > 0:
            self._backfill(state, pending, report)

        if status.exists == 0 or (state.uidnext is not None and state.uidnext == status.uidnext):
            report.unchanged = True
        else:
            uids = []
            for window in self.source.uids_above(state.last_uid):
                uids.extend(window)
                self.heartbeat()
            self.progress.folder(folder, len(uids))
            for batch in _chunks(uids, FETCH_BATCH):
                state = self._process(batch, state, report, mode="new")
        with self.store.atomic():
            self.store.save_folder(
                replace(
                    state,
                    uidnext=status.uidnext,
                    last_sync_at=utc_iso(self.clock()),
                    last_error=None,
                )
            )

    def _process(
        self, uids: list[int], state: FolderState, report: FolderReport, *, mode: str
    ) -> FolderState:
        """Fetch, plan and commit one batch. `mode`: "new" (moves the cursor and reads
        replies), "backfill" (below the cursor, logs only) or "retry" (set-aside messages)."""
        if self.should_stop():
            raise Stopped
        self.heartbeat()
        check = mode != "backfill"
        fetched, unfetchable = self._fetch(uids, state, check=check)
        self.heartbeat()
        plan = self._plan([f for f in fetched if not f.long], state, mode)
        for group in _chunks([f.uid for f in fetched if f.long], LARGE_GROUP):
            whole, failed = self._fetch(group, state, check=check, whole=True)
            unfetchable += failed
            plan.add(self._plan(whole, state, mode))  # one group in memory at a time
            self.heartbeat()
        answers = self._read_replies(plan.replies)
        self.heartbeat()
        assert state.uidvalidity is not None
        with self.store.atomic():
            added, failed_rows = self._store_rows(plan.rows, state.name)
            failed_replies = self._apply_replies(answers, state.name)
            set_aside = sorted({*unfetchable, *plan.failed, *failed_rows, *failed_replies})
            for uid in set_aside:
                self.store.set_aside(state.name, state.uidvalidity, uid, _stage(uid, unfetchable),
                                     self.clock())  # fmt: skip
            if mode == "retry":
                read = [f.uid for f in fetched if f.uid not in set_aside]
                gone = sorted(set(uids) - {f.uid for f in fetched} - set(unfetchable))
                self.store.clear_set_aside(state.name, state.uidvalidity, [*read, *gone])
                report.retried += len(read)
            if mode == "new":
                state = replace(
                    state,
                    last_uid=max(state.last_uid, max(uids)),
                    messages_seen=state.messages_seen + len(uids),
                    interactions_logged=state.interactions_logged + added,
                )
                self.store.save_folder(state)
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
        self.progress.advance(len(uids), added)
        return state

    def _plan(self, fetched: list[FetchedHeader], state: FolderState, mode: str) -> BatchPlan:
        fault = self.fault
        return plan_batch(
            fetched,
            self.book,
            self.me,
            replies=mode != "backfill",
            fault=None if fault is None else (lambda stage, uid: fault(stage, state.name, uid)),
        )

    def _inject(self, stage: str, folder: str, uid: int) -> None:
        if self.fault is not None:
            self.fault(stage, folder, uid)

    def _store_rows(
        self, rows: dict[int, list[NewInteraction]], folder: str
    ) -> tuple[int, list[int]]:
        """Insert the batch's rows (caller's transaction); a message whose rows the store
        refuses is set aside, the others kept. Returns (rows added, UIDs that failed)."""
        try:
            with self.store.atomic():
                for uid in rows:
                    self._inject("store", folder, uid)
                return self.store.add_interactions(r for per in rows.values() for r in per), []
        except Exception as exc:
            if not caused_by_the_message(exc):
                raise
        added, failed = 0, []
        for uid, per_message in rows.items():
            try:
                with self.store.atomic():
                    self._inject("store", folder, uid)
                    added += self.store.add_interactions(per_message)
            except Exception as exc:
                if not caused_by_the_message(exc):
                    raise
                failed.append(uid)
        return added, failed

    # --- fetching, narrowed down on failure ---------------------------------------------

    def _fetch(
        self, uids: list[int], state: FolderState, *, check: bool, whole: bool = False
    ) -> tuple[list[FetchedHeader], list[int]]:
        """(headers, UIDs set aside because their FETCH failed every time). `whole`: the
        long header sections, read again up to their limit."""
        try:
            return self._fetch_once(uids, check=check, whole=whole), []
        except MailboxError as exc:
            log.info("%s: %s; fetching that batch again in parts", state.name, exc)
            narrowing = _Narrowing(self, check=check, whole=whole, folder=state.name)
            try:
                return narrowing.run(uids, exc, cursor=state.last_uid)
            except _GiveUp as give_up:
                raise give_up.error from None

    def _fetch_once(
        self, uids: list[int], *, check: bool, whole: bool = False
    ) -> list[FetchedHeader]:
        fetch = self.source.fetch_whole_headers if whole else self.source.fetch_headers
        batch = fetch(uids)
        if check:
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

    # --- replies to summaries -----------------------------------------------------------

    def _read_replies(
        self, candidates: list[tuple[int, MessageFacts]]
    ) -> list[tuple[int, MessageFacts, bytes | None, str | None]]:
        """Bodies of the owner's replies carrying a valid summary token; nothing else."""
        fresh = [(uid, f) for uid, f in candidates if not self.store.reply_seen(f.message_key)]
        if not fresh:
            return []
        now = self.clock()
        tokens = {uid: steering.valid_token(facts, self.store, now) for uid, facts in fresh}
        bodies = self.source.fetch_bodies([uid for uid, token in tokens.items() if token])
        return [(uid, facts, bodies.get(uid), tokens[uid]) for uid, facts in fresh]

    def _apply_replies(
        self, answers: list[tuple[int, MessageFacts, bytes | None, str | None]], folder: str
    ) -> list[int]:
        """Apply each reply in its own savepoint; returns the UIDs of replies that failed."""
        failed = []
        for uid, facts, body, token in answers:
            if self.store.reply_seen(facts.message_key):
                continue
            try:
                with self.store.atomic():
                    self._inject("reply", folder, uid)
                    results = steering.handle_reply(
                        self.store,
                        facts,
                        body,
                        token,
                        now=self.clock(),
                        zone=self.zone,
                        policy=self.reply_policy,
                    )
                log.info("reply to a summary: %s", results)
            except Exception as exc:
                if not caused_by_the_message(exc):
                    raise
                log.debug("UID %s: reply could not be applied", uid, exc_info=True)
                failed.append(uid)
        return failed

    # --- set-aside messages, read again -------------------------------------------------

    def _retry_set_aside(self, state: FolderState, report: FolderReport) -> None:
        uids = [
            record.uid
            for record in self.store.set_aside_messages()
            if record.folder == state.name and record.uidvalidity == state.uidvalidity
        ]
        if not uids:
            return
        self.progress.folder(f"{state.name} (set aside)", len(uids))
        for batch in _chunks(uids, FETCH_BATCH):
            self._process(batch, state, report, mode="retry")

    # --- backfill -----------------------------------------------------------------------

    def _backfill(self, state: FolderState, pending: list[str], report: FolderReport) -> None:
        """Log past mail of newly added addresses, below the folder's cursor."""
        new = [address for address in pending if address in self.book]
        if not new:
            return
        uids = None
        if len(new) <= SEARCH_LIMIT:
            uids = self._search_addresses(new, state.last_uid)
        if uids is None:
            log.info("%s: scanning headers for %d new address(es)", state.name, len(new))
            uids = []
            for window in self.source.uids_up_to(state.last_uid):
                uids.extend(window)
                self.heartbeat()
        self.progress.folder(f"{state.name} (backfill)", len(uids))
        for batch in _chunks(uids, FETCH_BATCH):
            self._process(batch, state, report, mode="backfill")

    def _search_addresses(self, addresses: list[str], last_uid: int) -> list[int] | None:
        found: set[int] = set()
        try:
            for chunk in _chunks(addresses, SEARCH_CHUNK):
                variants = [v for address in chunk for v in search_forms(address)]
                keys = [[field, v] for v in variants for field in ("FROM", "TO", "CC", "BCC")]
                criteria = ["UID", f"1:{last_uid}", *_or_tree(keys)]
                charset = None if all(v.isascii() for v in variants) else "UTF-8"
                self.heartbeat()
                found.update(
                    uid
                    for uid in self.source.search_uids(criteria, charset=charset)
                    if uid <= last_uid
                )
        except SearchRefused as exc:
            log.info("%s; scanning headers instead", exc)
            return None
        return sorted(found)


class _GiveUp(Exception):
    """Narrowing a batch down stopped: `error` is the server's fault, not a message's."""

    def __init__(self, error: MailboxError) -> None:
        super().__init__(str(error))
        self.error = error


class _Narrowing:
    """Fetches a batch whose FETCH failed again in halves, on fresh connections, until the
    messages that make it fail are found; each is given FETCH_TRIES tries in all.

    Those messages are set aside only when fetching works for others (a part of the batch
    came through, or the message at the folder's cursor does): a server that fails every
    FETCH stops the sync with its error, as does a long run of failures without a success.
    """

    def __init__(self, sync: Sync, *, check: bool, whole: bool, folder: str) -> None:
        self.sync = sync
        self.check = check
        self.whole = whole
        self.folder = folder
        self.any_success = False
        self.failures_in_a_row = 1  # the FETCH that brought us here
        self.recoveries = 0

    def run(
        self, uids: list[int], error: MailboxError, cursor: int
    ) -> tuple[list[FetchedHeader], list[int]]:
        fetched, suspects = self._split(uids, error)
        if suspects and not self.any_success and cursor > 0:
            self._recover(error)
            try:  # the server is at fault if this fails too
                self.sync._fetch_once([cursor], check=False)
            except MailboxError as exc:
                raise _GiveUp(exc) from None
        for uid in suspects:
            log.warning("%s: UID %s could not be fetched %d times; set aside", self.folder,
                        uid, FETCH_TRIES)  # fmt: skip
        return fetched, suspects

    def _split(self, uids: list[int], error: MailboxError) -> tuple[list[FetchedHeader], list[int]]:
        if len(uids) == 1:
            return self._single(uids[0], error)
        fetched: list[FetchedHeader] = []
        suspects: list[int] = []
        middle = len(uids) // 2
        for part in (uids[:middle], uids[middle:]):
            try:
                fetched += self._try(part, error)
            except MailboxError as exc:
                error = exc
                more, bad = self._split(part, exc)
                fetched += more
                suspects += bad
        return fetched, suspects

    def _single(self, uid: int, error: MailboxError) -> tuple[list[FetchedHeader], list[int]]:
        for _ in range(FETCH_TRIES - 1):
            try:
                return self._try([uid], error), []
            except MailboxError as exc:
                error = exc
        return [], [uid]

    def _try(self, uids: list[int], error: MailboxError) -> list[FetchedHeader]:
        self._recover(error)
        try:
            fetched = self.sync._fetch_once(uids, check=self.check, whole=self.whole)
        except MailboxError:
            self.failures_in_a_row += 1
            raise
        self.any_success = True
        self.failures_in_a_row = 0
        return fetched

    def _recover(self, error: MailboxError) -> None:
        """Reconnect after a failure that may have broken the connection; give up (raise the
        error) when failures keep coming without a success or the budget is spent."""
        self.sync.heartbeat()
        if self.failures_in_a_row > MAX_FAILURES_IN_A_ROW or self.recoveries >= MAX_RECOVERIES:
            raise _GiveUp(error)
        if isinstance(error, FetchIncomplete):
            return  # the connection itself is fine
        self.recoveries += 1
        try:
            self.sync.source.reconnect()
        except MailboxError as exc:
            raise _GiveUp(exc) from None


def _stage(uid: int, unfetchable: list[int]) -> str:
    return "fetch" if uid in unfetchable else "process"


def search_forms(address: str) -> list[str]:
    """The forms an address can take in a header: as stored, and with an ASCII domain."""
    forms = [address]
    local, _, domain = address.rpartition("@")
    if not domain.isascii():
        with suppress(idna.IDNAError, UnicodeError):
            forms.append(f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}")
    return [form for form in dict.fromkeys(forms) if normalise_address(form)]


def _or_tree(keys: list[list[str]]) -> list[str]:
    """IMAP's OR is binary and prefix: OR a OR b c."""
    flat: list[str] = []
    for index, key in enumerate(keys):
        if index < len(keys) - 1:
            flat.append("OR")
        flat.extend(key)
    return flat


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
