"""Reading the calendar sources: each one's meetings with contacts logged, once each.

A source is read again only when something that decides what it yields has changed: its
listing (names, sizes, modification times of its files), the contact book, `[me]`, the
settings; or when time has brought one of its meetings with a contact into the past (the
first start after the last read, at most LOOKAHEAD later). What is kept of a source in
`meta` is a digest of all that and a few counts, nothing of an event.

The service also keeps in memory what each file gave (CalendarMemo): a changed vdir is then
read again only in its files that changed or whose next meeting with a contact has started,
and a broken file is warned about once per change of it.

The interactions of a source and its new state commit in one transaction (in parts of
BATCH_ROWS for a huge one, the state with the last: a read cut short is simply done again,
and logs nothing twice). One file that cannot be read never stops the others: it is one
warning line naming the file.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from kithkin.daemon.calendar.files import CalendarFile, FileProblem, list_source, read_bounded
from kithkin.daemon.config.calendar import CalendarConfig
from kithkin.daemon.core.dates import parse_utc_iso, utc_iso
from kithkin.daemon.core.meetings import attendance, meeting_rows
from kithkin.daemon.core.records import Interaction
from kithkin.daemon.core.rhythm import WINDOW_DAYS
from kithkin.daemon.errors import ConfigError
from kithkin.daemon.store import Store
from kithkin.parsers.calendar import CalendarError, Participant, read_calendar

STATE_KEY = "calendar.source:"
FORMAT = 1  # raise it when what a file yields changes: every source is then read again
LOOKAHEAD = timedelta(days=7)
FILE_SECONDS = 20.0  # a file still expanding events after this is cut short
BATCH_ROWS = 50_000

Warn = Callable[[str], None]


@dataclass(frozen=True)
class _FileMemo:
    signature: tuple[int, int, int]
    next_start: datetime | None
    unreadable: bool
    left_out: int


class CalendarMemo:
    """What a long-running reader remembers of the files it read, in memory only."""

    def __init__(self) -> None:
        self.basis: str | None = None  # the contacts, [me] and settings it holds for
        self.sources: dict[Path, dict[Path, _FileMemo]] = {}


@dataclass(frozen=True)
class SourceResult:
    source: Path
    read: bool  # False: nothing changed since the last read
    files: int = 0
    logged: int = 0  # interactions new in this read
    unreadable: int = 0  # files that could not be read
    left_out: int = 0  # events left out: broken, repeating too often, too slow
    problem: str | None = None  # the source itself


@dataclass(frozen=True)
class CalendarReport:
    sources: tuple[SourceResult, ...]

    @property
    def logged(self) -> int:
        return sum(result.logged for result in self.sources)

    def summary(self) -> str:
        read = sum(result.read for result in self.sources)
        unchanged = len(self.sources) - read
        text = f"{self.logged} meeting{'s' if self.logged != 1 else ''} logged"
        text += f" from {read} calendar source{'s' if read != 1 else ''} read"
        if unchanged:
            text += f", {unchanged} unchanged"
        trouble = sum(result.unreadable for result in self.sources)
        if trouble:
            text += f"; {trouble} file{'s' if trouble != 1 else ''} could not be read"
        return text


def read_calendars(
    store: Store,
    settings: CalendarConfig,
    me: Iterable[str],
    zone: tzinfo,
    now: datetime,
    *,
    force: bool = False,
    warn: Warn = lambda line: None,
    heartbeat: Callable[[], None] = lambda: None,
    monotonic: Callable[[], float] = time.monotonic,
    memo: CalendarMemo | None = None,
) -> CalendarReport:
    """Read every source that changed (all with `force`) and log its meetings; with a
    `memo`, only the files of a source that need it."""
    owner = frozenset(me)
    if not owner:
        raise ConfigError("[me] addresses is missing: Kithkin cannot tell which events are yours")
    book = store.contacts.address_book()
    basis = _digest([FORMAT, settings.max_attendees, sorted(owner), sorted(book.items())])
    if memo is not None and (memo.basis != basis or force):
        memo.basis, memo.sources = basis, {}
    reader = _Reader(store, settings, owner, book, zone, now, warn, heartbeat, monotonic, memo)
    results = []
    for source in settings.sources:
        listing = list_source(source)
        digest = _digest(
            [basis, listing.problem, [(str(f.path), *f.signature) for f in listing.files]]
        )
        state = source_state(store, source)
        due = state.get("due")
        if not force and state.get("digest") == digest and (due is None or now < _time(due)):
            results.append(SourceResult(source, read=False, files=len(listing.files)))
            continue
        if listing.problem:
            warn(f"calendar {source}: {listing.problem}")
        results.append(reader.read(source, listing.files, listing.problem, digest, state))
    return CalendarReport(tuple(results))


def source_state(store: Store, source: Path) -> dict[str, Any]:
    """What was kept of the last read of `source` (empty: never read)."""
    text = store.meta.get(STATE_KEY + str(source))
    try:
        state = json.loads(text) if text else {}
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


class _Reader:
    def __init__(
        self,
        store: Store,
        settings: CalendarConfig,
        owner: frozenset[str],
        book: dict[str, int],
        zone: tzinfo,
        now: datetime,
        warn: Warn,
        heartbeat: Callable[[], None],
        monotonic: Callable[[], float],
        memo: CalendarMemo | None,
    ) -> None:
        self.store, self.settings, self.owner, self.book = store, settings, owner, book
        self.zone, self.now, self.warn = zone, now, warn
        self.heartbeat, self.monotonic, self.memo = heartbeat, monotonic, memo

    def wanted(self, participants: tuple[Participant, ...]) -> bool:
        found = attendance(participants, self.book, self.owner, self.settings.max_attendees)
        return found is not None

    def read(
        self,
        source: Path,
        files: Iterable[CalendarFile],
        problem: str | None,
        digest: str,
        state: dict[str, Any],
    ) -> SourceResult:
        rows: list[Interaction] = []
        logged = unreadable = left_out = count = 0
        upcoming = [self.now + LOOKAHEAD]
        known = self.memo.sources.get(source, {}) if self.memo is not None else {}
        current: dict[Path, _FileMemo] = {}
        for item in files:
            count += 1
            self.heartbeat()
            memo = known.get(item.path)
            if memo is None or memo.signature != item.signature or _due(memo, self.now):
                fresh = self._file(item)
                rows.extend(fresh.rows)
                memo = fresh.memo
            current[item.path] = memo
            unreadable += memo.unreadable
            left_out += memo.left_out
            if memo.next_start is not None:
                upcoming.append(memo.next_start)
            if len(rows) >= BATCH_ROWS:
                with self.store.atomic():
                    logged += self.store.interactions.add(rows)
                rows = []
        new_state = {
            "digest": digest,
            "due": utc_iso(min(upcoming)),
            "read_at": utc_iso(self.now),
            "files": count,
            "unreadable": unreadable,
            "left_out": left_out,
            "problem": problem,
        }
        with self.store.atomic():
            logged += self.store.interactions.add(rows)
            new_state["logged_total"] = int(state.get("logged_total") or 0) + logged
            self.store.meta.set(STATE_KEY + str(source), json.dumps(new_state, sort_keys=True))
        if self.memo is not None:
            self.memo.sources[source] = current  # only once committed
        return SourceResult(source, True, count, logged, unreadable, left_out, problem)

    def _file(self, item: CalendarFile) -> _FileRead:
        """The file's meetings, and what to remember of it: its next meeting with a contact,
        how many events were left out, or that it could not be read (a warning said why)."""
        path = item.path
        try:
            data = read_bounded(path)
            deadline = self.monotonic() + FILE_SECONDS
            result = read_calendar(
                data,
                since=self.now - timedelta(days=WINDOW_DAYS),
                until=self.now,
                ahead=self.now + LOOKAHEAD,
                zone=self.zone,
                wanted=self.wanted,
                out_of_time=lambda: self.monotonic() > deadline,
            )
        except (FileProblem, CalendarError) as exc:
            self.warn(f"calendar file {path}: {exc}")
            return _FileRead([], _FileMemo(item.signature, None, True, 0))
        except Exception as exc:  # noqa: BLE001 - a hostile file must not stop the others
            self.warn(f"calendar file {path}: not read: unexpected {type(exc).__name__}")
            return _FileRead([], _FileMemo(item.signature, None, True, 0))
        skipped = result.left_out + result.unreadable
        if skipped:
            self.warn(
                f"calendar file {path}: {skipped} event{'s' if skipped != 1 else ''} with your "
                "contacts left out (a broken date or rule, repeating more often than daily "
                "or too often to expand)"
            )
        rows = [
            row
            for occurrence in result.occurrences
            for row in meeting_rows(occurrence, self.book, self.owner, self.settings.max_attendees)
        ]
        return _FileRead(rows, _FileMemo(item.signature, result.next_start, False, skipped))


@dataclass(frozen=True)
class _FileRead:
    rows: list[Interaction]
    memo: _FileMemo


def _due(memo: _FileMemo, now: datetime) -> bool:
    return memo.next_start is not None and memo.next_start <= now


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, default=str).encode()).hexdigest()


def _time(text: Any) -> datetime:
    try:
        return parse_utc_iso(str(text))
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)  # a damaged state: read again
