"""The contact book: add, import, edit, find and forget the people the owner keeps up with."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from kithkin.daemon.core import names
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
    nickname: str | None = None,
    allow_duplicate: bool = False,
    now: datetime,
) -> Contact:
    """Add one contact; a name another contact has (case and accents aside) is refused
    unless `allow_duplicate`."""
    addresses = normalise_emails(emails)
    if not addresses:
        raise UsageError("a contact needs at least one --email")
    cleaned = clean_name(name)
    if not allow_duplicate:
        refuse_duplicate(store, cleaned)
    with store.atomic():
        contact_id = store.contacts.add(
            cleaned,
            addresses,
            every_days=every_days,
            tags=clean_tags(tags),
            birthday=birthday,
            nickname=clean_name(nickname) if nickname else None,
            now=now,
        )
    return store.contacts.get(contact_id)


def forget(store: Store, contact: Contact) -> int:
    """Delete a contact with everything about them; returns the interactions removed.

    That includes what the journal of replies says about them (by id, and in the text
    records of earlier versions by name or address), and the old pages in the WAL."""
    origin = store.contact_sources.origin(contact.id)
    with store.atomic():
        if origin is not None and origin.removed_at is None:
            # Its card is still there: read its file again, so the card comes back as new
            # (the file's state would otherwise say there is nothing to read).
            store.contact_sources.drop_file(origin.source, origin.file)
        removed = store.contacts.remove(contact.id)
        nickname = [contact.nickname] if contact.nickname else []
        store.replies.forget(contact.id, [contact.name, *nickname, *contact.emails])
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


def import_contacts(
    store: Store, data: bytes, *, allow_duplicate: bool = False, now: datetime
) -> ImportReport:
    """Merge a vCard or CSV file into the book, keyed on email addresses.

    A person whose addresses are all new is added, unless another contact has their name
    (case and accents aside): that entry is reported as a problem, naming the contact, and
    `allow_duplicate` adds it all the same. One whose addresses already belong to a contact
    gains the new addresses and tags, and a birthday if none is set; names and settings the
    owner chose are never overwritten. So importing the same file twice changes nothing the
    second time.
    """
    records, problems = read_contact_file(data)
    report = ImportReport(problems=list(problems))
    taken = None if allow_duplicate else _names_taken(store)
    for record in records:
        try:
            with store.atomic():
                outcome = _merge(store, record, taken, now)
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


def _names_taken(store: Store) -> dict[str, str]:
    """Folded name -> the first contact of that name with an address, as shown."""
    taken: dict[str, str] = {}
    for contact in store.contacts.all():
        taken.setdefault(names.fold(contact.name), with_address(contact))
    return taken


def _merge(store: Store, record: ContactRecord, taken: dict[str, str] | None, now: datetime) -> str:
    """`taken`: the names a new contact may not have (None: duplicates allowed)."""
    owners = {
        owner for email in record.emails if (owner := store.contacts.owner_of(email)) is not None
    }
    if len(owners) > 1:
        listed = sorted(store.contacts.get(owner).name for owner in owners)
        raise UsageError(
            f"{record.name}: addresses belong to different contacts: " + ", ".join(listed)
        )
    if not owners:
        name = clean_name(record.name)
        folded = names.fold(name)
        if taken is not None and folded in taken:
            raise UsageError(
                f"{name}: a contact of that name exists ({taken[folded]}) and these addresses "
                "are not theirs; add them with `kithkin contacts edit NAME --add-email`, or "
                "import with --allow-duplicate"
            )
        contact_id = store.contacts.add(
            name,
            record.emails,
            tags=clean_tags(record.tags),
            birthday=record.birthday,
            nickname=record.nickname,
            now=now,
        )
        if taken is not None:
            taken[folded] = with_address(store.contacts.get(contact_id))
        return "added"
    existing = store.contacts.get(owners.pop())
    new_emails = [email for email in record.emails if email not in existing.emails]
    new_tags = [tag for tag in clean_tags(record.tags) if tag not in existing.tags]
    new_birthday = record.birthday if record.birthday and not existing.birthday else False
    new_nickname = record.nickname if record.nickname and not existing.nickname else False
    if not (new_emails or new_tags or new_birthday or new_nickname):
        return "unchanged"
    store.contacts.update(
        existing.id,
        add_emails=new_emails,
        add_tags=new_tags,
        birthday=new_birthday,
        nickname=new_nickname,
        now=now,
    )
    return "updated"


MAX_QUERY_SHOWN = 60  # characters of a query quoted back in an error
_NAME_AND_ADDRESS = re.compile(r"^[^<>]*<([^<>]+@[^<>]+)>$")


def shown_query(query: str) -> str:
    """A query as quoted back in an error: clean, cut short, in quotes."""
    text = clean_line(query)
    if len(text) > MAX_QUERY_SHOWN:
        text = text[: MAX_QUERY_SHOWN - 1] + "…"
    return repr(text)


def with_address(contact: Contact) -> str:
    return clean_line(f"{contact.name} <{contact.emails[0]}>" if contact.emails else contact.name)


class AmbiguousName(UsageError):
    """A name that finds several contacts; `candidates` are they, in the book's order."""

    def __init__(self, query: str, candidates: list[Contact]) -> None:
        super().__init__(ambiguous_message(query, candidates))
        self.query = query
        self.candidates = candidates


class UnknownName(UsageError):
    """A name that finds nobody; `suggestions` are the closest names, perhaps none."""

    def __init__(self, query: str, suggestions: list[Contact]) -> None:
        super().__init__(unknown_message(query, suggestions))
        self.query = query
        self.suggestions = suggestions


def ambiguous_message(query: str, candidates: list[Contact]) -> str:
    """ "'Ad' matches several contacts: Ada Lovelace <ada@...>; Adam Smith <adam@...>; use
    the full name or an address" (only "an address" when they all have the same name)."""
    listed = "; ".join(with_address(contact) for contact in candidates[:10])
    more = f" and {len(candidates) - 10} more" if len(candidates) > 10 else ""
    same = len({names.fold(contact.name) for contact in candidates}) == 1
    hint = "use one of the addresses" if same else "use the full name or an address"
    return f"{shown_query(query)} matches several contacts: {listed}{more}; {hint}"


def unknown_message(query: str, suggestions: list[Contact]) -> str:
    """ "no contact 'Lina' — did you mean Lena Fischer?", with an address where two of the
    suggestions have the same name; without suggestions, where to look instead."""
    if not suggestions:
        return f"no contact {shown_query(query)} (see `kithkin contacts list`)"
    folded = [names.fold(contact.name) for contact in suggestions]
    shown = [
        with_address(contact) if folded.count(key) > 1 else clean_line(contact.name)
        for contact, key in zip(suggestions, folded, strict=True)
    ]
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
    return f"no contact {shown_query(query)} — did you mean {listed}?"


def checked_query(query: str) -> str:
    """A name as typed for a search: stripped, not empty, without control characters and
    not longer than a name can be; otherwise one line saying which."""
    if any(unicodedata.category(char) == "Cc" for char in query):
        raise UsageError("a name to look for cannot hold control characters")
    text = " ".join(query.split())
    if not text:
        raise UsageError("name a contact")
    if len(text) > MAX_NAME:
        raise UsageError(f"no contact has a name that long ({len(text)} characters)")
    return text


class ContactFinder:
    """Finds the contact a command or a reply line names: by address, else by the rules of
    core/names.py. The index of names is built once, on first use, and serves every lookup
    of the command or reply (whose lines change no name nor address)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._index: names.NameIndex | None = None

    @property
    def index(self) -> names.NameIndex:
        if self._index is None:
            self._index = names.NameIndex(self.store.contacts.all())
        return self._index

    def resolve(self, query: str) -> Contact:
        """The one contact `query` names; AmbiguousName or UnknownName otherwise. `Name
        <address>` (as errors list people) is the owner of the address."""
        text = checked_query(query)
        named = _NAME_AND_ADDRESS.match(text)  # "Ana Silva <ana@work.example>", as listed
        if named:
            text = named.group(1)
        address = normalise_address(text) if "@" in text else None
        if address is not None:
            owner = self.store.contacts.owner_of(address)
            if owner is None:
                raise UsageError(f"no contact has the address {shown_query(address)}")
            return self.store.contacts.get(owner)
        found = self.index.find(text)
        if len(found) == 1:
            return self.store.contacts.get(found[0].id)
        if found:
            raise AmbiguousName(text, found)
        raise UnknownName(text, self.index.closest(text))

    def owner_of(self, word: str) -> int | None:
        """The contact whose address `word` is, if it is one."""
        address = normalise_address(word) if "@" in word else None
        return self.store.contacts.owner_of(address) if address is not None else None


def resolve_contact(store: Store, query: str) -> Contact:
    """Find one contact by address, name, nickname, first name or a start of a name (see
    core/names.py), case and accents aside."""
    return ContactFinder(store).resolve(query)


def refuse_duplicate(store: Store, name: str, contact_id: int | None = None) -> None:
    """A usage error when a contact other than `contact_id` has this name (case and accents
    aside)."""
    index = names.NameIndex(store.contacts.all())
    others = [contact for contact in index.named(name) if contact.id != contact_id]
    if others:
        raise UsageError(
            f"there is already a contact named {with_address(others[0])}; "
            "--allow-duplicate adds another of that name (commands tell them apart by address)"
        )


def log_manual(store: Store, contact: Contact, kind: str, day: date, note: str | None) -> None:
    """A call, meeting or other interaction logged by hand; it counts like a 1:1 email."""
    moment = datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)
    with store.atomic():
        store.interactions.add(
            [Interaction(contact.id, None, moment, None, None, None, 1, kind, note)]
        )
