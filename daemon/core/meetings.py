"""A calendar occurrence -> the meetings it makes: one interaction with each contact in it.

Who was there: the ORGANIZER and every ATTENDEE who did not decline, rooms and resources
aside. You must be among them (an event in a shared calendar that you did not attend, or
declined, is not your meeting); you are not one of its contacts. Its audience is the number
of people in it besides you, as a message's is its recipients besides its sender, so the
audience rule weighs a meeting of twelve as it weighs a message to eleven.

The date is the occurrence's start, in UTC as every timed entry; an all-day event is dated
at noon UTC of its day, as what is logged by hand. Its key names the event (UID) and the
occurrence (its original start, which a moved occurrence keeps), so each occurrence is
logged once per contact however often its calendar is read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime

from kithkin.daemon.core.records import Interaction
from kithkin.parsers.calendar import Occurrence, Participant

KEY_PREFIX = "ics:"


@dataclass(frozen=True)
class Attendance:
    contact_ids: tuple[int, ...]
    audience: int  # the people there besides you


def attendance(
    participants: tuple[Participant, ...],
    book: Mapping[str, int],
    me: AbstractSet[str],
    max_attendees: int,
) -> Attendance | None:
    """Whose meeting this was, or None: you not there, no contact there, or too crowded."""
    present = {p.address for p in participants if p.person and not p.declined}
    if not present & me:
        return None
    others = present - me
    people = {book.get(address, address) for address in others}  # a contact's 2 addresses: 1
    if len(people) > max_attendees:
        return None
    contacts = sorted(person for person in people if isinstance(person, int))
    if not contacts:
        return None
    return Attendance(tuple(contacts), max(1, len(people)))


def meeting_rows(
    occurrence: Occurrence, book: Mapping[str, int], me: AbstractSet[str], max_attendees: int
) -> list[Interaction]:
    found = attendance(occurrence.participants, book, me, max_attendees)
    if found is None:
        return []
    key = meeting_key(occurrence.uid, occurrence.recurrence_id)
    when = meeting_date(occurrence)
    subject = occurrence.summary or None
    return [
        Interaction(contact_id, None, when, key, None, subject, found.audience, "meeting")
        for contact_id in found.contact_ids
    ]


def meeting_key(uid: str, recurrence_id: str) -> str:
    text = f"{uid}\n{recurrence_id}".encode("utf-8", "backslashreplace")
    return KEY_PREFIX + hashlib.sha256(text).hexdigest()[:40]


def meeting_date(occurrence: Occurrence) -> datetime:
    day = occurrence.all_day
    if day is not None:
        return datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)
    return occurrence.start
