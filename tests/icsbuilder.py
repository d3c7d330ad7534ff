"""iCalendar text for tests, written the way calendar clients write it (CRLF lines, a
VTIMEZONE for every TZID used), and vdirs as vdirsyncer lays them out (<uid>.ics)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

ME = "me@home.example"

LOS_ANGELES = """BEGIN:VTIMEZONE
TZID:America/Los_Angeles
BEGIN:DAYLIGHT
TZOFFSETFROM:-0800
TZOFFSETTO:-0700
TZNAME:PDT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0700
TZOFFSETTO:-0800
TZNAME:PST
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE
"""


def when(value: date | datetime, tzid: str | None = None) -> str:
    """`;VALUE=DATE:20260310`, `:20260310T100000Z`, `;TZID=X:20260310T100000` or floating."""
    if not isinstance(value, datetime):
        return f";VALUE=DATE:{value:%Y%m%d}"
    if tzid:
        return f";TZID={tzid}:{value:%Y%m%dT%H%M%S}"
    if value.tzinfo is not None:
        return f":{value:%Y%m%dT%H%M%SZ}"
    return f":{value:%Y%m%dT%H%M%S}"


def event(
    uid: str,
    start: date | datetime,
    *,
    tzid: str | None = None,
    summary: str = "Meeting",
    organizer: str | None = ME,
    attendees: Iterable[str | tuple[str, str]] = (),
    rrule: str | None = None,
    exdates: Iterable[datetime] = (),
    recurrence_id: date | datetime | None = None,
    status: str | None = None,
    extra: str = "",
) -> str:
    """One VEVENT; an attendee is an address or (address, PARTSTAT)."""
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20260101T000000Z",
        f"DTSTART{when(start, tzid)}",
    ]
    lines.append("DURATION:PT1H" if isinstance(start, datetime) else "DURATION:P1D")
    if recurrence_id is not None:
        lines.append(f"RECURRENCE-ID{when(recurrence_id, tzid)}")
    if rrule:
        lines.append(f"RRULE:{rrule}")
    lines += [f"EXDATE{when(day, tzid)}" for day in exdates]
    if organizer:
        lines.append(f"ORGANIZER;CN=Organizer:mailto:{organizer}")
    for attendee in attendees:
        address, partstat = attendee if isinstance(attendee, tuple) else (attendee, "ACCEPTED")
        lines.append(f"ATTENDEE;PARTSTAT={partstat};RSVP=TRUE:mailto:{address}")
    if status:
        lines.append(f"STATUS:{status}")
    lines.append(f"SUMMARY:{summary}")
    if extra:
        lines.append(extra.rstrip("\n"))
    lines.append("END:VEVENT")
    return "\n".join(lines) + "\n"


def calendar(*events: str, timezones: str = LOS_ANGELES) -> bytes:
    body = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Kithkin tests//EN\n"
    body += timezones + "".join(events) + "END:VCALENDAR\n"
    return body.replace("\n", "\r\n").encode("utf-8")


def write_vdir(directory: Path, events: dict[str, str]) -> Path:
    """One event (with its overrides) per file, `<uid>.ics`, as vdirsyncer writes them."""
    directory.mkdir(parents=True, exist_ok=True)
    for uid, text in events.items():
        (directory / f"{uid}.ics").write_bytes(calendar(text))
    return directory
