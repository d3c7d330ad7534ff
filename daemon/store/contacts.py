"""The contact book in SQL: contacts, their addresses and tags, and the queue of addresses
whose past mail is still to be looked up (the backfill)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from kithkin.daemon.core.dates import utc_iso
from kithkin.daemon.core.records import Contact
from kithkin.daemon.errors import UsageError
from kithkin.daemon.store.connection import Subject

# A contact whose card left its address book (`[contacts] sources`): kept with its history,
# but no longer in the analysis and no longer matched against mail.
_ACTIVE = (
    "NOT EXISTS (SELECT 1 FROM contact_sources s"
    " WHERE s.contact_id = {0} AND s.removed_at IS NOT NULL)"
)


class Contacts(Subject):
    def all(self) -> list[Contact]:
        """Everyone, removed cards included (what names and addresses resolve against)."""
        return self._select("1", [])

    def active(self) -> list[Contact]:
        """Everyone but the contacts whose card was removed from its address book."""
        return self._select(_ACTIVE.format("c.id"), [])

    def get(self, contact_id: int) -> Contact:
        found = self._select("c.id = ?", [contact_id])
        if not found:
            raise UsageError(f"no contact with id {contact_id}")
        return found[0]

    def _select(self, where: str, params: list[Any]) -> list[Contact]:
        rows = self.db.execute(
            f"""SELECT c.id, c.name, c.every_days, c.birthday, c.snoozed_until, c.muted,
                   c.remind_days, c.nickname,
                   (SELECT json_group_array(address) FROM
                      (SELECT address FROM addresses WHERE contact_id = c.id ORDER BY rowid)),
                   (SELECT json_group_array(tag) FROM
                      (SELECT tag FROM contact_tags WHERE contact_id = c.id ORDER BY tag))
                FROM contacts c WHERE {where} ORDER BY c.name COLLATE NOCASE, c.id""",
            params,
        ).fetchall()
        return [
            Contact(
                id=row[0],
                name=row[1],
                every_days=row[2],
                birthday=row[3],
                snoozed_until=row[4],
                muted=bool(row[5]),
                remind_days=row[6],
                nickname=row[7],
                emails=tuple(json.loads(row[8])),
                tags=tuple(json.loads(row[9])),
            )
            for row in rows
        ]

    def owner_of(self, address: str) -> int | None:
        row = self.db.execute(
            "SELECT contact_id FROM addresses WHERE address = ?", [address]
        ).fetchone()
        return int(row[0]) if row else None

    def address_book(self) -> dict[str, int]:
        """Every known address -> its contact's id, removed cards' included (what a line of a
        reply may name); the sync matches mail against `active_address_book`."""
        return dict(self.db.execute("SELECT address, contact_id FROM addresses").fetchall())

    def active_address_book(self) -> dict[str, int]:
        """`address_book` without the contacts whose card was removed from its address book."""
        query = "SELECT address, contact_id FROM addresses a WHERE " + _ACTIVE.format(
            "a.contact_id"
        )
        return dict(self.db.execute(query).fetchall())

    def add(
        self,
        name: str,
        emails: Iterable[str],
        *,
        every_days: int | None = None,
        tags: Iterable[str] = (),
        birthday: str | None = None,
        nickname: str | None = None,
        now: datetime,
    ) -> int:
        """Insert a contact; every address must be free. Returns the new id."""
        self._writing()
        addresses = list(dict.fromkeys(emails))
        self._claim(None, addresses)
        cursor = self.db.execute(
            "INSERT INTO contacts (name, every_days, birthday, nickname, created_at)"
            " VALUES (?,?,?,?,?)",
            [name, every_days, birthday, nickname, utc_iso(now)],
        )
        contact_id = int(cursor.lastrowid or 0)
        self._add_addresses(contact_id, addresses, now)
        self._add_tags(contact_id, tags)
        return contact_id

    def update(
        self,
        contact_id: int,
        *,
        name: str | None = None,
        add_emails: Iterable[str] = (),
        remove_emails: Iterable[str] = (),
        every_days: int | None | bool = False,
        add_tags: Iterable[str] = (),
        remove_tags: Iterable[str] = (),
        birthday: str | None | bool = False,
        remind_days: int | None | bool = False,
        nickname: str | None | bool = False,
        now: datetime,
    ) -> None:
        """Change one contact; `False` means "leave as is" for the nullable fields."""
        self._writing()
        added = list(dict.fromkeys(add_emails))
        self._claim(contact_id, added)
        if name is not None:
            self.db.execute("UPDATE contacts SET name = ? WHERE id = ?", [name, contact_id])
        if every_days is not False:
            self.db.execute(
                "UPDATE contacts SET every_days = ? WHERE id = ?", [every_days, contact_id]
            )
        if birthday is not False:
            self.db.execute("UPDATE contacts SET birthday = ? WHERE id = ?", [birthday, contact_id])
        if remind_days is not False:
            self.db.execute(
                "UPDATE contacts SET remind_days = ? WHERE id = ?", [remind_days, contact_id]
            )
        if nickname is not False:
            self.db.execute("UPDATE contacts SET nickname = ? WHERE id = ?", [nickname, contact_id])
        for address in remove_emails:
            self.db.execute(
                "DELETE FROM addresses WHERE address = ? AND contact_id = ?", [address, contact_id]
            )
        self._add_addresses(contact_id, added, now)
        self._add_tags(contact_id, add_tags)
        for tag in remove_tags:
            self.db.execute(
                "DELETE FROM contact_tags WHERE contact_id = ? AND tag = ?", [contact_id, tag]
            )
        remaining = self.db.execute(
            "SELECT count(*) FROM addresses WHERE contact_id = ?", [contact_id]
        ).fetchone()[0]
        if remaining == 0:
            raise UsageError("a contact needs at least one email address")

    def set_attention(
        self,
        contact_id: int,
        *,
        snoozed_until: str | None | bool = False,
        muted: bool | None = None,
    ) -> None:
        """Snooze (until a date; None: no longer), mute or unmute."""
        self._writing()
        if snoozed_until is not False:
            self.db.execute(
                "UPDATE contacts SET snoozed_until = ? WHERE id = ?", [snoozed_until, contact_id]
            )
        if muted is not None:
            self.db.execute("UPDATE contacts SET muted = ? WHERE id = ?", [int(muted), contact_id])

    def remove(self, contact_id: int) -> int:
        """Delete a contact and every row about them in any table (by their contact_id).
        Returns how many interactions went with them."""
        self._writing()
        removed = int(
            self.db.execute(
                "SELECT count(*) FROM interactions WHERE contact_id = ?", [contact_id]
            ).fetchone()[0]
        )
        for table in self._tables_with_contact_id():
            self.db.execute(f"DELETE FROM [{table}] WHERE contact_id = ?", [contact_id])
        for table in ("pending_backfill", "backfill_done"):
            self.db.execute(
                f"DELETE FROM {table} WHERE address NOT IN (SELECT address FROM addresses)"
            )
        self.db.execute("DELETE FROM contacts WHERE id = ?", [contact_id])
        return removed

    def _tables_with_contact_id(self) -> list[str]:
        return [
            row[0]
            for row in self.db.execute(
                "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND EXISTS "
                "(SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'contact_id')"
            ).fetchall()
        ]

    def _claim(self, contact_id: int | None, emails: list[str]) -> None:
        for address in emails:
            owner = self.owner_of(address)
            if owner is not None and owner != contact_id:
                other = self.db.execute(
                    "SELECT name FROM contacts WHERE id = ?", [owner]
                ).fetchone()[0]
                raise UsageError(f"{address} already belongs to {other}")

    def _add_addresses(self, contact_id: int, emails: list[str], now: datetime) -> None:
        for address in emails:
            inserted = self.db.execute(
                "INSERT OR IGNORE INTO addresses (address, contact_id) VALUES (?, ?)",
                [address, contact_id],
            ).rowcount
            if inserted:  # new to the book: its past mail is still to be looked up
                self.db.execute(
                    "INSERT OR IGNORE INTO pending_backfill (address, queued_at) VALUES (?, ?)",
                    [address, utc_iso(now)],
                )
                self.db.execute("DELETE FROM backfill_done WHERE address = ?", [address])

    def _add_tags(self, contact_id: int, tags: Iterable[str]) -> None:
        for tag in tags:
            self.db.execute(
                "INSERT OR IGNORE INTO contact_tags (contact_id, tag) VALUES (?, ?)",
                [contact_id, tag],
            )


class Backfill(Subject):
    """Addresses added since their past mail was last looked up, in one mailbox (`mailbox`,
    one of `mailboxes`; "" alone for the single `[imap]` form): an address leaves the queue
    once each of them has looked it up."""

    def __init__(self, db: Database, mailbox: str = "", mailboxes: tuple[str, ...] = ("",)):
        super().__init__(db)
        self.mailbox = mailbox
        self.mailboxes = tuple(dict.fromkeys((*mailboxes, mailbox)))

    def pending(self) -> list[str]:
        rows = self.db.execute(
            "SELECT address FROM pending_backfill WHERE address NOT IN "
            "(SELECT address FROM backfill_done WHERE mailbox = ?) ORDER BY address",
            [self.mailbox],
        )
        return [row[0] for row in rows.fetchall()]

    def queue(self, addresses: Iterable[str], now: datetime) -> None:
        """Look up the past mail of these addresses again (a contact back from removal)."""
        self._writing()
        for address in addresses:
            self.db.execute(
                "INSERT OR IGNORE INTO pending_backfill (address, queued_at) VALUES (?, ?)",
                [address, utc_iso(now)],
            )

    def clear(self, addresses: Iterable[str]) -> None:
        self._writing()
        for address in addresses:
            self.db.execute(
                "INSERT OR IGNORE INTO backfill_done (mailbox, address) VALUES (?, ?)",
                [self.mailbox, address],
            )
        marks = ",".join("?" * len(self.mailboxes))
        finished = f"""SELECT address FROM backfill_done WHERE mailbox IN ({marks})
                       GROUP BY address HAVING count(*) = {len(self.mailboxes)}"""
        self.db.execute(
            f"DELETE FROM pending_backfill WHERE address IN ({finished})", self.mailboxes
        )
        self.db.execute(
            "DELETE FROM backfill_done WHERE address NOT IN (SELECT address FROM pending_backfill)"
        )
