"""One source's cards applied to the contact book, inside the transaction of its read.

A card changes only what it changed: each field is compared with what the card said when it
was last applied (stored with it), so a name, address, tag, nickname, birthday or note the
owner changed in Kithkin stays until the card changes that field too; cadence, snooze, mute,
remind and the owner's own notes and tags are never touched. Tags from the card are told from
tags added in Kithkin the same way.

A card whose addresses belong to someone else (a contact added in Kithkin, another card, or
several contacts) is skipped with one problem; the others go on. A card that comes back (the
same UID, or the addresses of a contact whose card was removed) takes that contact back with
its history, and its past mail is looked up again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kithkin.daemon.config.contacts import ContactsConfig, ContactSource
from kithkin.daemon.core.records import Contact
from kithkin.daemon.errors import UsageError
from kithkin.daemon.sources.cards import Card
from kithkin.daemon.store import Store
from kithkin.daemon.store.sources import TrackedCard


class CardSkipped(Exception):
    """This card is left out; the message says why (it names the file and line elsewhere)."""


@dataclass
class Outcome:
    kind: str  # "added", "updated", "adopted", "restored", "unchanged"
    name: str


class Merge:
    """The cards of one read of `source`, applied one by one (each in a savepoint)."""

    def __init__(
        self,
        store: Store,
        source: ContactSource,
        config: ContactsConfig,
        *,
        where: dict[str, str],
        now: datetime,
        today: date,
        adopt: bool = False,
    ) -> None:
        self.store = store
        self.source = source
        self.config = config
        self.configured = [s.key for s in config.sources]
        self.where = where  # file name -> how messages name it
        self.now = now
        self.today = today
        self.adopt = adopt
        self.tracked = store.contact_sources.cards(source.key)
        self.keys = {tracked.contact_id: key for key, tracked in self.tracked.items()}
        self.unseen: dict[str, TrackedCard] = {}  # set by the caller: may still be claimed
        self.listed: set[str] = set()  # the files of the source now
        self.read: set[str] = set()  # the files read in this round

    def apply(self, card: Card) -> Outcome:
        """Apply one card; CardSkipped (nothing of it written) when it cannot be."""
        try:
            with self.store.atomic():
                return self._apply(card)
        except UsageError as exc:
            raise CardSkipped(f"{exc}; card skipped") from None

    def remove(self, tracked: TrackedCard) -> str:
        self.store.contact_sources.mark_removed(tracked.contact_id, self.now)
        return self.store.contacts.get(tracked.contact_id).name

    # --- which contact a card is --------------------------------------------------------

    def _apply(self, card: Card) -> Outcome:
        tracked = self.tracked.get(card.key)
        if (
            tracked is not None
            and tracked.removed_at is None
            and tracked.file != card.file
            and tracked.file in self.listed
            and tracked.file not in self.read
        ):
            raise CardSkipped(f"the same card (UID) as {self._shown_file(tracked)}; card skipped")
        if tracked is None:
            tracked = self.store.contact_sources.claimable(card.key, self.configured)
        if tracked is None:
            tracked = self._owner(card)
        if tracked is None:
            return self._add(card)
        return self._update(tracked, card)

    def _owner(self, card: Card) -> TrackedCard | None:
        """The contact that already has this card's addresses, if it may become this card's."""
        contacts = self.store.contacts
        owners = {
            address: owner
            for address in card.record.emails
            if (owner := contacts.owner_of(address)) is not None
        }
        if not owners:
            return None
        ids = sorted(set(owners.values()))
        if len(ids) > 1:
            names = ", ".join(contacts.get(owner).name for owner in ids)
            raise CardSkipped(f"its addresses belong to different contacts: {names}; card skipped")
        owner = ids[0]
        address = next(iter(owners))
        name = contacts.get(owner).name
        origin = self.store.contact_sources.origin(owner)
        if origin is None:
            if self.adopt:
                return TrackedCard(owner, self.source.key, card.key, card.file, {}, None, None)
            raise CardSkipped(
                f"{address} belongs to {name}, a contact added in Kithkin; card skipped "
                f"(`kithkin contacts sources --adopt` lets the card keep {name} up to date, "
                "history kept)"
            )
        if origin.removed_at is not None or origin.source not in self.configured:
            return origin
        if origin.source == self.source.key and origin.key in self.unseen:
            return origin  # the same person under a new UID (or a new file, UID-less)
        raise CardSkipped(
            f"{address} is already {name}'s, from {self._shown_file(origin)}; card skipped"
        )

    def _shown_file(self, tracked: TrackedCard) -> str:
        if tracked.source == self.source.key and tracked.file in self.where:
            return self.where[tracked.file]
        shown = self.config.shown(tracked.source)
        return shown if tracked.file == "" else f"{shown.rstrip('/')}/{tracked.file}"

    # --- writing ----------------------------------------------------------------------------

    def _add(self, card: Card) -> Outcome:
        record = card.record
        contact_id = self.store.contacts.add(
            record.name,
            record.emails,
            tags=record.tags,
            birthday=record.birthday,
            nickname=record.nickname,
            now=self.now,
        )
        note_id = None
        if record.note:
            note_id = self.store.notes.add(contact_id, record.note, self.today, self.now)
        self._track(contact_id, card, note_id)
        return Outcome("added", record.name)

    def _update(self, tracked: TrackedCard, card: Card) -> Outcome:
        old, new = tracked.card, card.fields()
        moved = tracked.source != self.source.key or tracked.removed_at is not None
        if old == new and not moved and (tracked.key, tracked.file) == (card.key, card.file):
            return Outcome("unchanged", new["name"])  # the usual case: nothing to look up
        contact = self.store.contacts.get(tracked.contact_id)
        changes = _changes(old, new, contact)
        for address in changes.get("add_emails", ()):
            owner = self.store.contacts.owner_of(address)
            if owner is not None and owner != contact.id:
                other = self.store.contacts.get(owner).name
                raise CardSkipped(f"{address} already belongs to {other}; card skipped")
        if changes:
            self.store.contacts.update(contact.id, now=self.now, **changes)
        note_id, note_changed = self._note(tracked, old.get("note"), new["note"])
        if old != new or moved or tracked.key != card.key or tracked.file != card.file:
            self._track(contact.id, card, note_id)
        name = new["name"] if "name" in changes else contact.name
        if moved:
            self.store.backfill.queue(self.store.contacts.get(contact.id).emails, self.now)
            return Outcome("restored", name)
        if not old:
            return Outcome("adopted", name)
        return Outcome("updated" if changes or note_changed else "unchanged", name)

    def _note(
        self, tracked: TrackedCard, old: str | None, new: str | None
    ) -> tuple[int | None, bool]:
        """The card's NOTE kept as one of the contact's notes: (its id, whether it changed)."""
        notes = self.store.notes
        if old == new:
            return tracked.note_id, False
        if new is None:
            if tracked.note_id is not None:
                notes.remove(tracked.note_id)
            return None, True
        if tracked.note_id is not None and notes.replace(tracked.note_id, new, self.today):
            return tracked.note_id, True
        return notes.add(tracked.contact_id, new, self.today, self.now), True

    def _track(self, contact_id: int, card: Card, note_id: int | None) -> None:
        self.store.contact_sources.track(
            contact_id, self.source.key, card.key, card.file, card.fields(), note_id, self.now
        )
        previous = self.keys.pop(contact_id, None)
        if previous is not None:
            self.tracked.pop(previous, None)
            self.unseen.pop(previous, None)
        self.keys[contact_id] = card.key
        self.tracked[card.key] = TrackedCard(
            contact_id, self.source.key, card.key, card.file, card.fields(), note_id, None
        )


def _changes(old: dict[str, Any], new: dict[str, Any], contact: Contact) -> dict[str, Any]:
    """The `Contacts.update` arguments for what the card changed since it was last applied."""
    changes: dict[str, Any] = {}
    if new["name"] != old.get("name") and new["name"] != contact.name:
        changes["name"] = new["name"]
    for key, current in (("nickname", contact.nickname), ("birthday", contact.birthday)):
        if new[key] != old.get(key) and new[key] != current:
            changes[key] = new[key]
    for field, have in (("emails", contact.emails), ("tags", contact.tags)):
        before, after = old.get(field, []), new[field]
        added = [item for item in after if item not in before and item not in have]
        removed = [item for item in before if item not in after and item in have]
        if added:
            changes[f"add_{field}"] = added
        if removed:
            changes[f"remove_{field}"] = removed
    return changes
