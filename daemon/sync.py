"""The sync engine: folder cursors, UIDVALIDITY, batches, backfill. No sockets, no SQL here.

Per folder the store keeps UIDVALIDITY, the last UID processed and the UIDNEXT seen when the
folder was last complete. Each batch of fetched headers is parsed, matched against the
address book, and committed together with the advanced cursor in one transaction, so a crash
at any point loses nothing committed and a resync never logs a message twice (the store keys
interactions on contact and Message-ID).

Contacts added since the last sync are "pending": their past mail, below the cursors, is found
by a targeted `UID SEARCH FROM/TO/CC/BCC` where the server allows it, or else by scanning the
headers again. Nothing about a message that involves no contact is ever written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Protocol

import idna

from kithkin.daemon import steering
from kithkin.daemon.dates import utc_iso
from kithkin.daemon.errors import MailboxError
from kithkin.daemon.imap import (
    FETCH_BATCH,
    FetchedHeader,
    FolderStatus,
    FolderUnavailable,
    SearchRefused,
)
from kithkin.daemon.matching import addresses, involved, match
from kithkin.daemon.store import FolderState, NewInteraction, Store
from kithkin.parsers.addresses import normalise_address
from kithkin.parsers.headers import HeaderBlock, MessageFacts, read_block

log = logging.getLogger("kithkin.sync")

SEARCH_CHUNK = 8  # addresses per targeted backfill search (4 criteria each)
SEARCH_LIMIT = 60  # more pending addresses than this: rescan headers instead of searching


class MailSource(Protocol):
    """What the engine needs from a mailbox; `imap.Mailbox` is the real one."""

    def folders_to_sync(self) -> list[str]: ...
    def examine(self, folder: str) -> FolderStatus: ...
    def uids_above(self, last_uid: int, uidnext: int | None) -> Iterator[list[int]]: ...
    def search_uids(self, criteria: list, *, charset: str | None = None) -> list[int]: ...
    def fetch_headers(self, uids: list[int]) -> list[FetchedHeader]: ...
    def fetch_bodies(self, uids: list[int]) -> dict[int, bytes]: ...


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


@dataclass
class FolderReport:
    name: str
    messages: int = 0
    logged: int = 0
    unparseable: int = 0
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

    def summary(self) -> str:
        text = (
            f"{len(self.folders)} folder(s), {self.messages} new message(s) read, "
            f"{self.logged} interaction(s) logged"
        )
        if self.unparseable:
            text += f", {self.unparseable} unreadable message(s) skipped"
        resets = [f.name for f in self.folders if f.uidvalidity_reset]
        if resets:
            text += f"; UIDVALIDITY changed, rescanned: {', '.join(resets)}"
        errors = [f"{f.name}: {f.error}" for f in self.folders if f.error]
        if errors:
            text += "; " + "; ".join(errors)
        return text


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
        zone: tzinfo = UTC,
    ) -> None:
        self.source = source
        self.store = store
        self.me = frozenset(me)
        self.clock = clock
        self.progress = progress or NoProgress()
        self.should_stop = should_stop
        self.zone = zone  # the owner's: the day a reply's commands count from
        self.book = store.address_book()

    def run(self, *, backfill_all: bool = False) -> SyncReport:
        pending = sorted(self.book) if backfill_all else self.store.pending_backfill()
        report = SyncReport()
        backfill_done = True
        for folder in self.source.folders_to_sync():
            folder_report = FolderReport(folder)
            report.folders.append(folder_report)
            try:
                self._sync_folder(folder, pending, folder_report)
            except FolderUnavailable as exc:
                folder_report.error = str(exc).split(": ", 1)[-1]
                self.store.save_folder(replace(self.store.folder(folder), last_error=str(exc)))
                log.warning("%s", exc)
                backfill_done = False
        if pending and backfill_done:
            self.store.clear_backfill(pending)
        return report

    # --- one folder ---------------------------------------------------------------------

    def _sync_folder(self, folder: str, pending: list[str], report: FolderReport) -> None:
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

        if pending and state.last_uid > 0:
            self._backfill(state, pending, report)

        if status.exists == 0 or (state.uidnext is not None and state.uidnext == status.uidnext):
            report.unchanged = True
        else:
            uids = [
                uid
                for window in self.source.uids_above(state.last_uid, status.uidnext)
                for uid in window
            ]
            self.progress.folder(folder, len(uids))
            for batch in _chunks(uids, FETCH_BATCH):
                state = self._process(batch, state, report, advance=True)
        self.store.save_folder(
            replace(
                state, uidnext=status.uidnext, last_sync_at=utc_iso(self.clock()), last_error=None
            )
        )

    def _process(
        self, uids: list[int], state: FolderState, report: FolderReport, *, advance: bool
    ) -> FolderState:
        if self.should_stop():
            raise Stopped
        rows: list[NewInteraction] = []
        replies: list[tuple[int, MessageFacts]] = []
        batch = self.source.fetch_headers(uids)
        if advance:
            self._check_complete(uids, batch)
        for fetched in batch:
            block = self._block(fetched)
            if block is None:
                report.unparseable += 1
                continue
            maybe_reply = advance and steering.may_be_summary_reply(block, self.me)
            _, contacts = involved(
                addresses(block.from_), addresses(block.to + block.cc + block.bcc),
                self.book, self.me,
            )  # fmt: skip
            if not contacts and not maybe_reply:
                continue  # a stranger's mail: not decoded any further, nothing kept
            facts = block.facts(fetched.internaldate)
            if facts.date is None:
                report.unparseable += 1
                continue
            rows.extend(match(facts, self.book, self.me))
            if maybe_reply and steering.looks_like_summary_reply(facts, self.me):
                replies.append((fetched.uid, facts))
        answer = self._read_replies(replies)
        with self.store.atomic():
            added = self.store.add_interactions(rows)
            for facts, body, token in answer:
                if not self.store.reply_seen(facts.message_key):
                    results = steering.handle_reply(
                        self.store, facts, body, token, now=self.clock(), zone=self.zone
                    )
                    log.info("reply to a summary: %s", results)
            if advance:
                state = replace(
                    state,
                    last_uid=max(state.last_uid, max(uids)),
                    messages_seen=state.messages_seen + len(uids),
                    interactions_logged=state.interactions_logged + added,
                )
                self.store.save_folder(state)
        if advance:
            report.messages += len(uids)
            report.logged += added
        else:
            report.backfilled += added
        self.progress.advance(len(uids), added)
        return state

    def _check_complete(self, uids: list[int], batch: list[FetchedHeader]) -> None:
        """A UID asked for and not answered must have been expunged meanwhile; if it still
        exists, the response was garbled, and committing the cursor past it would lose it."""
        missing = set(uids) - {fetched.uid for fetched in batch}
        if not missing:
            return
        listed = ",".join(str(uid) for uid in sorted(missing))
        still_there = [uid for uid in self.source.search_uids(["UID", listed]) if uid in missing]
        if still_there:
            raise MailboxError(
                f"the server left out {len(still_there)} message(s) from a FETCH reply; "
                "nothing after them was recorded, the next sync retries"
            )

    def _block(self, fetched: FetchedHeader) -> HeaderBlock | None:
        """The split header block; None when the server sent none or it cannot be read."""
        if fetched.header is None:
            return None
        try:
            return read_block(fetched.header)
        except Exception:  # one bad message never stops a sync
            log.debug("UID %s: header could not be parsed", fetched.uid, exc_info=True)
            return None

    def _read_replies(
        self, candidates: list[tuple[int, MessageFacts]]
    ) -> list[tuple[MessageFacts, bytes | None, str | None]]:
        """Bodies of the owner's replies carrying a valid summary token; nothing else."""
        fresh = [(uid, f) for uid, f in candidates if not self.store.reply_seen(f.message_key)]
        if not fresh:
            return []
        now = self.clock()
        tokens = {uid: steering.valid_token(facts, self.store, now) for uid, facts in fresh}
        bodies = self.source.fetch_bodies([uid for uid, token in tokens.items() if token])
        return [(facts, bodies.get(uid), tokens[uid]) for uid, facts in fresh]

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
            uids = [
                uid for window in self.source.uids_above(0, state.last_uid + 1) for uid in window
            ]
        self.progress.folder(f"{state.name} (backfill)", len(uids))
        for batch in _chunks(uids, FETCH_BATCH):
            self._process(batch, state, report, advance=False)

    def _search_addresses(self, addresses: list[str], last_uid: int) -> list[int] | None:
        found: set[int] = set()
        try:
            for chunk in _chunks(addresses, SEARCH_CHUNK):
                variants = [v for address in chunk for v in search_forms(address)]
                keys = [[field, v] for v in variants for field in ("FROM", "TO", "CC", "BCC")]
                criteria = ["UID", f"1:{last_uid}", *_or_tree(keys)]
                charset = None if all(v.isascii() for v in variants) else "UTF-8"
                found.update(
                    uid
                    for uid in self.source.search_uids(criteria, charset=charset)
                    if uid <= last_uid
                )
        except SearchRefused as exc:
            log.info("%s; scanning headers instead", exc)
            return None
        return sorted(found)


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


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
