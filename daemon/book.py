"""The contact book: add, import, edit, find and forget the people the owner keeps up with."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from kithkin.daemon.core.records import Contact, Interaction
from kithkin.daemon.errors import UsageError
from kithkin.daemon.store import Store
from kithkin.parsers.addresses import normalise_address
from kithkin.parsers.contacts import (
    MAX_NAME,
    ContactRecord,
    Problem,
    name_too_long,
    read_contact_file,
)
from kithkin.parsers.text import clean_line


def normalise_emails(raw: Iterable[str]) -> list[str]:
    """Clean and normalise each address; one that is not an address is a usage error naming it."""
    emails = []
    for item in raw:
        address = normalise_address(clean_line(item))
        if address is None:
            raise UsageError(f"not an email address: {item!r}")
        emails.append(address)
    return list(dict.fromkeys(emails))


def clean_name(name: str) -> str:
    """A name as given (command line, contact file): clean, non-empty, not too long."""
    cleaned = clean_line(name)
    if not cleaned:
        raise UsageError("a contact needs a name")
    if len(cleaned) > MAX_NAME:
        raise UsageError(name_too_long(cleaned))
    return cleaned


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Each tag clean, empty ones dropped, each once."""
    return list(dict.fromkeys(t for t in (clean_line(tag) for tag in tags) if t))


def add_contact(
    store: Store,
    name: str,
    emails: Iterable[str],
    *,
    every_days: int | None = None,
    tags: Iterable[str] = (),
    birthday: str | None = None,
    now: datetime,
) -> Contact:
    addresses = normalise_emails(emails)
    if not addresses:
        raise UsageError("a contact needs at least one --email")
    with store.atomic():
        contact_id = store.contacts.add(
            clean_name(name),
            addresses,
            every_days=every_days,
            tags=clean_tags(tags),
            birthday=birthday,
            now=now,
        )
    return store.contacts.get(contact_id)


def forget(store: Store, contact: Contact) -> int:
    """Delete a contact with everything about them; returns the interactions removed.

    That includes what the journal of replies says about them (by id, and in the text
    records of earlier versions by name or address), and the old pages in the WAL."""
    with store.atomic():
        removed = store.contacts.remove(contact.id)
        store.replies.forget(contact.id, [contact.name, *contact.emails])
    store.checkpoint()
    return removed


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)  # by line, warnings among them

    @property
    def skipped(self) -> int:
        """Problems that kept an entry out (a warning's entry was imported, counted above)."""
        return sum(not problem.warning for problem in self.problems)

    @property
    def warnings(self) -> int:
        return sum(problem.warning for problem in self.problems)


def import_contacts(store: Store, data: bytes, *, now: datetime) -> ImportReport:
    """Merge a vCard or CSV file into the book, keyed on email addresses.

    A person whose addresses are all new is added. One whose addresses already belong to a
    contact gains the new addresses and tags, and a birthday if none is set; names and
    settings the owner chose are never overwritten. So importing the same file twice changes
    nothing the second time.
    """
    records, problems = read_contact_file(data)
    report = ImportReport(problems=list(problems))
    for record in records:
        try:
            with store.atomic():
                outcome = _merge(store, record, now)
        except UsageError as exc:
            report.problems.append(Problem(record.line, str(exc)))
            continue
        if outcome == "added":
            report.added.append(record.name)
        elif outcome == "updated":
            report.updated.append(record.name)
        else:
            report.unchanged += 1
    report.problems.sort(key=lambda problem: problem.line)
    return report


def _merge(store: Store, record: ContactRecord, now: datetime) -> str:
    owners = {
        owner for email in record.emails if (owner := store.contacts.owner_of(email)) is not None
    }
    if len(owners) > 1:
        names = sorted(store.contacts.get(owner).name for owner in owners)
        raise UsageError(
            f"{record.name}: addresses belong to different contacts: " + ", ".join(names)
        )
    if not owners:
        store.contacts.add(
            clean_name(record.name),
            record.emails,
            tags=clean_tags(record.tags),
            birthday=record.birthday,
            now=now,
        )
        return "added"
    existing = store.contacts.get(owners.pop())
    new_emails = [email for email in record.emails if email not in existing.emails]
    new_tags = [tag for tag in clean_tags(record.tags) if tag not in existing.tags]
    new_birthday = record.birthday if record.birthday and not existing.birthday else False
    if not (new_emails or new_tags or new_birthday):
        return "unchanged"
    store.contacts.update(
        existing.id, add_emails=new_emails, add_tags=new_tags, birthday=new_birthday, now=now
    )
    return "updated"


def resolve_contact(store: Store, query: str) -> Contact:
    """Find one contact by exact name, by address, or by an unambiguous name prefix."""
    text = query.strip()
    if not text:
        raise UsageError("name a contact")
    address = normalise_address(text)
    if address is not None:
        owner = store.contacts.owner_of(address)
        if owner is not None:
            return store.contacts.get(owner)
    found = name_matches(store.contacts.all(), text)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        listed = "; ".join(clean_line(f"{c.name} <{c.emails[0]}>") for c in found[:10])
        more = f" and {len(found) - 10} more" if len(found) > 10 else ""
        raise UsageError(
            f"{query!r} matches several contacts: {listed}{more}; use the full name or an address"
        )
    raise UsageError(f"no contact matches {query!r} (see `kithkin contacts list`)")


def name_matches(contacts: Iterable[Contact], query: str) -> list[Contact]:
    """The contacts that the first matching rule finds: the exact name, else a name that
    starts so, else a word of a name that starts so (all case-insensitive)."""
    folded = query.strip().casefold()
    contacts = list(contacts)
    for matcher in (
        lambda c: c.name.casefold() == folded,
        lambda c: c.name.casefold().startswith(folded),
        lambda c: any(word.startswith(folded) for word in c.name.casefold().split()),
    ):
        found = [contact for contact in contacts if matcher(contact)]
        if found:
            return found
    return []


def log_manual(store: Store, contact: Contact, kind: str, day: date, note: str | None) -> None:
    """A call, meeting or other interaction logged by hand; it counts like a 1:1 email."""
    moment = datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)
    with store.atomic():
        store.interactions.add(
            [Interaction(contact.id, None, moment, None, None, None, 1, kind, note)]
        )
