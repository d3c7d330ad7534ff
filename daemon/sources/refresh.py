"""Reading the configured address books: on every poll, at `kithkin sync`, and on demand.

Cheap when nothing changed: each source is listed and every file's (size, mtime, ctime,
inode) compared with the state saved at its last read; only new and changed files are
parsed, and a source where nothing changed costs no write. The changes of one source commit
in one transaction, with the new file states, so a crash leaves the read before or after.

A card gone from its source (its file deleted, or the card taken out of the single file)
marks its contact removed: kept with its history until `kithkin contacts forget`, but no
longer in the analysis and no longer matched against mail. What cannot be read is one
problem each (the file and line) and changes nothing of what it held before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from kithkin.daemon.config.contacts import ContactsConfig, ContactSource
from kithkin.daemon.sources.cards import Card, keyed_cards, skipped_keys
from kithkin.daemon.sources.files import (
    MAX_BOOK_FILE,
    MAX_CARD_FILE,
    FileUnreadable,
    Listing,
    Reader,
    SourceUnavailable,
    list_source,
    read_capped,
)
from kithkin.daemon.sources.merge import CardSkipped, Merge
from kithkin.daemon.store import Store
from kithkin.daemon.store.sources import FileState
from kithkin.parsers.contacts import Problem, read_vcard_file

HEARTBEAT_CARDS = 256


@dataclass(frozen=True)
class SourceProblem:
    where: str  # the file, as the owner wrote the source: "~/.contacts/friends/ada.vcf"
    line: int  # 0: the whole file
    message: str

    def __str__(self) -> str:
        line = f":{self.line}" if self.line else ""
        return f"{self.where}{line}: {self.message}"


@dataclass
class SourceReport:
    """What one read of one source did."""

    source: str  # as configured
    cards: int = 0  # cards of the source in the book now
    files_read: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    problems: list[SourceProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # names passed over, hints
    error: str | None = None  # the source could not be read at all: nothing changed
    error_is_new: bool = False  # not the error of the attempt before
    skipped_files: set[str] = field(default_factory=set)  # names: a card skipped for a conflict
    reread: set[str] = field(default_factory=set)  # the files read, as shown

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.adopted or self.restored or self.removed)


@dataclass
class _File:
    name: str
    state: FileState
    cards: list[Card]
    problems: list[Problem]
    unreadable: str | None = None


def refresh_sources(
    store: Store,
    config: ContactsConfig,
    *,
    now: datetime,
    today: date,
    full: bool = False,
    adopt: bool = False,
    reader: Reader = read_capped,
    heartbeat: Callable[[], None] = lambda: None,
) -> list[SourceReport]:
    """Read every configured source; `full`: every file, changed or not (`kithkin contacts
    sources`); `adopt`: a card may take over a contact added in Kithkin with its addresses;
    `heartbeat` is called between files and cards (the service feeds its watchdog).

    A card moved from one source to another may be read in the second before the first has
    let it go: when a read removed anyone, the files whose cards were skipped for addresses
    taken are read once more, in the same pass."""

    def read(source: ContactSource, force: frozenset[str] = frozenset()) -> SourceReport:
        return refresh_source(
            store,
            source,
            config,
            now=now,
            today=today,
            full=full,
            adopt=adopt,
            reader=reader,
            heartbeat=heartbeat,
            force=force,
        )

    reports = [read(source) for source in config.sources]
    if any(report.removed for report in reports):
        for index, source in enumerate(config.sources):
            if reports[index].skipped_files:
                again = read(source, frozenset(reports[index].skipped_files))
                reports[index] = _combined(reports[index], again)
    return reports


def _combined(first: SourceReport, again: SourceReport) -> SourceReport:
    """The report of a read and of the second read of some of its files."""
    reread = {problem.where for problem in again.problems} | again.reread
    return SourceReport(
        source=first.source,
        cards=again.cards,
        files_read=first.files_read + again.files_read,
        added=first.added + again.added,
        updated=first.updated + again.updated,
        adopted=first.adopted + again.adopted,
        restored=first.restored + again.restored,
        removed=first.removed + again.removed,
        unchanged=first.unchanged,
        problems=[p for p in first.problems if p.where not in reread] + again.problems,
        notes=first.notes,
        error=again.error,
        error_is_new=first.error_is_new or again.error_is_new,
        skipped_files=again.skipped_files,
    )


def refresh_source(
    store: Store,
    source: ContactSource,
    config: ContactsConfig,
    *,
    now: datetime,
    today: date,
    full: bool = False,
    adopt: bool = False,
    reader: Reader = read_capped,
    heartbeat: Callable[[], None] = lambda: None,
    force: frozenset[str] = frozenset(),
) -> SourceReport:
    """One source read; `force`: files read even if unchanged."""
    report = SourceReport(source.shown)
    _, previous_error = store.contact_sources.last_read(source.key)
    try:
        listing = list_source(source)
    except SourceUnavailable as exc:
        report.error = str(exc)
        report.error_is_new = report.error != previous_error
        if report.error_is_new:
            with store.atomic():
                store.contact_sources.save_read(source.key, read_at=None, error=report.error)
        report.cards = store.contact_sources.counts().get(source.key, 0)
        return report
    report.notes = _notes(listing, source)
    known = store.contact_sources.files(source.key)
    listed = {entry.name for entry in listing.entries}
    changed = [
        entry
        for entry in listing.entries
        if full
        or adopt
        or entry.name in force
        or entry.name not in known
        or known[entry.name].state != entry.state
    ]
    gone = sorted(set(known) - listed)
    if not changed and not gone:
        if previous_error is not None:
            with store.atomic():
                store.contact_sources.save_read(source.key, read_at=None, error=None)
        report.cards = store.contact_sources.counts().get(source.key, 0)
        return report
    where = {entry.name: _where(source, listing, entry.name) for entry in listing.entries}
    report.reread = {where[entry.name] for entry in changed}
    files = []
    for entry in changed:
        heartbeat()
        files.append(_read(entry.name, entry.path, entry.state, listing, reader))
        report.files_read += files[-1].unreadable is None
    with store.atomic():
        merge = Merge(store, source, config, where=where, now=now, today=today, adopt=adopt)
        _apply(merge, files, gone, listed, report, vdir=listing.vdir, heartbeat=heartbeat)
        for file in files:
            lines = [p.line for p in file.problems] if file.unreadable is None else [0]
            store.contact_sources.save_file(source.key, file.name, file.state, lines)
        for name in gone:
            store.contact_sources.drop_file(source.key, name)
        store.contact_sources.save_read(source.key, read_at=now, error=None)
    report.cards = store.contact_sources.counts().get(source.key, 0)
    return report


def _read(name: str, path: Path, state: FileState, listing: Listing, reader: Reader) -> _File:
    try:
        data, state = reader(path, MAX_CARD_FILE if listing.vdir else MAX_BOOK_FILE)
    except FileUnreadable as exc:
        return _File(name, state, [], [], unreadable=str(exc))
    records, problems = read_vcard_file(data)
    return _File(name, state, keyed_cards(records, name, vdir=listing.vdir), problems)


def _apply(
    merge: Merge,
    files: list[_File],
    gone: list[str],
    listed: set[str],
    report: SourceReport,
    *,
    vdir: bool,
    heartbeat: Callable[[], None],
) -> None:
    """Every card of the files read, then the removals: tracked cards of the files read or
    gone that no longer appear (those of a file that could not be read, or in a vdir held a
    card that could not be, are kept as they were)."""
    merge.listed = listed
    merge.read = {file.name for file in files if file.unreadable is None}
    kept_files = {f.name for f in files if f.unreadable or (vdir and _skipped_any(f))}
    kept_keys = skipped_keys([p for f in files for p in f.problems])
    affected = (merge.read | set(gone)) - kept_files
    seen: dict[str, str] = {}
    for file in files:
        for card in file.cards:
            seen.setdefault(card.key, file.name)
    merge.unseen = {
        key: tracked
        for key, tracked in merge.tracked.items()
        if tracked.removed_at is None
        and tracked.file in affected
        and key not in seen
        and key not in kept_keys
    }
    firsts: dict[str, tuple[str, int]] = {}
    for file in files:
        shown = merge.where[file.name]
        if file.unreadable:
            report.problems.append(SourceProblem(shown, 0, file.unreadable))
            continue
        report.problems.extend(SourceProblem(shown, p.line, p.message) for p in file.problems)
        for card in file.cards:
            if len(firsts) % HEARTBEAT_CARDS == 0:
                heartbeat()
            first = firsts.setdefault(card.key, (file.name, card.record.line))
            if first != (file.name, card.record.line):
                message = f"the same card (UID) as {merge.where[first[0]]}:{first[1]}; card skipped"
                file.problems.append(Problem(card.record.line, message, skipped=True))
                report.problems.append(SourceProblem(shown, card.record.line, message))
                continue
            try:
                outcome = merge.apply(card)
            except CardSkipped as exc:
                report.skipped_files.add(file.name)
                file.problems.append(Problem(card.record.line, str(exc), skipped=True))
                report.problems.append(SourceProblem(shown, card.record.line, str(exc)))
                continue
            if outcome.kind == "unchanged":
                report.unchanged += 1
            else:
                getattr(report, outcome.kind).append(outcome.name)
    for tracked in sorted(merge.unseen.values(), key=lambda t: t.contact_id):
        report.removed.append(merge.remove(tracked))


def _skipped_any(file: _File) -> bool:
    return any(problem.skipped for problem in file.problems)


def _where(source: ContactSource, listing: Listing, name: str) -> str:
    if not listing.vdir:
        return source.shown
    return f"{source.shown.rstrip('/')}/{name}"


def _notes(listing: Listing, source: ContactSource) -> list[str]:
    notes = [f"{source.shown.rstrip('/')}/{item}; passed over" for item in listing.ignored]
    if listing.vdir and not listing.entries and listing.subdirectories:
        notes.append(
            f"{source.shown}: no .vcf files, but {listing.subdirectories} folder(s): name the "
            "address book's own folder (a vdir collection), like ~/.contacts/friends/"
        )
    return notes
