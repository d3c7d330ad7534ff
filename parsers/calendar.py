"""Calendar files (iCalendar, RFC 5545) -> the occurrences of the events the caller wants.

icalendar parses the file (time zones included, VTIMEZONE or IANA names); recurring-ical-events
expands RRULE and RDATE, leaves out EXDATEs and puts RECURRENCE-ID overrides (a moved or
changed occurrence) in place of the occurrence they replace.

Who is in an event is read first, and an event the caller does not want (`wanted` sees its
participants) is never expanded and leaves nothing in what is returned. Every file may be
written by a stranger (an invitation is one), so the work is bounded whatever it holds:
nesting, how often a time zone or an event repeats, how many occurrences are kept, how many
participants are read; `out_of_time` lets the caller stop a file that still takes too long.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from math import prod
from typing import Any

import icalendar
import recurring_ical_events

from kithkin.parsers.addresses import normalise_address
from kithkin.parsers.text import clean_line

MAX_DEPTH = 8  # VCALENDAR > VEVENT > VALARM is 3; VTIMEZONE > STANDARD is 3
MAX_PARTICIPANTS = 10_000  # an event with more is nobody's meeting (and not read further)
MAX_OCCURRENCES_PER_EVENT = 1_000  # the most recent are kept
MAX_OCCURRENCES_PER_FILE = 50_000
MAX_RULE_STEPS = 100_000  # instances a rule may make the expansion walk through, from DTSTART
MAX_TIMES_A_DAY = 24  # BYHOUR x BYMINUTE x BYSECOND
MAX_ZONE_RULE_TIMES = 64  # the BY... lists of a time zone's rule, multiplied
SUMMARY_CHARS = 200

# The shortest and the longest period of each FREQ a meeting may have, in days.
_PERIOD_DAYS = {"DAILY": (1, 1), "WEEKLY": (7, 7), "MONTHLY": (28, 31), "YEARLY": (365, 366)}
_DAY_PARTS = ("BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH")
_TIME_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
_WEEKLY_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYDAY", "BYMONTH", *_TIME_PARTS}
_RULE_PARTS = {
    "DAILY": _WEEKLY_PARTS,
    "WEEKLY": _WEEKLY_PARTS,
    "MONTHLY": _WEEKLY_PARTS | {"BYMONTHDAY", "BYSETPOS"},
    "YEARLY": _WEEKLY_PARTS | {"BYMONTHDAY", "BYSETPOS", "BYYEARDAY", "BYWEEKNO"},
}
_LINE_START = re.compile(rb"^(BEGIN|END)[ \t]*:", re.MULTILINE | re.IGNORECASE)
_NOT_PEOPLE = {"ROOM", "RESOURCE"}
_NOT_THERE = {"DECLINED", "DELEGATED"}  # PARTSTAT: a delegate went instead


class CalendarError(ValueError):
    """The file as a whole cannot be read. Its text is ours, never the file's."""


@dataclass(frozen=True)
class Participant:
    address: str  # normalised
    declined: bool = False  # or delegated: not there
    person: bool = True  # False: a room or other resource, or a non-participant


@dataclass(frozen=True)
class Occurrence:
    uid: str
    recurrence_id: str  # which occurrence of the event: its original start, as text
    start: datetime  # aware, UTC; an all-day event's is midnight in the zone given
    all_day: date | None  # the date of an all-day event
    participants: tuple[Participant, ...]
    summary: str  # clean, at most SUMMARY_CHARS


@dataclass(frozen=True)
class CalendarRead:
    occurrences: tuple[Occurrence, ...]  # of wanted events, started in [since, until]
    next_start: datetime | None  # the first wanted start after `until`, up to `ahead`
    left_out: int  # wanted events not expanded: repeating too often, or out of time
    unreadable: int  # events that could not be read (a broken date or rule)


Wanted = Callable[[tuple[Participant, ...]], bool]


def read_calendar(
    data: bytes,
    *,
    since: datetime,
    until: datetime,
    ahead: datetime,
    zone: tzinfo,
    wanted: Wanted,
    out_of_time: Callable[[], bool] = lambda: False,
) -> CalendarRead:
    """The occurrences of the wanted events in `data` that started between `since` and
    `until` (aware datetimes); floating times are taken to be in `zone`. Raises
    CalendarError for a file that is not iCalendar or is built to be costly."""
    calendars = _parse(data)
    for calendar in calendars:
        _check_time_zones(calendar)
    found: list[Occurrence] = []
    upcoming: list[datetime] = []
    left_out = unreadable = 0
    for calendar, components in _series(calendars):
        try:
            if not any(wanted(participants(component)) for component in components):
                continue
        except (ValueError, TypeError, KeyError):
            unreadable += 1
            continue
        if out_of_time() or len(found) >= MAX_OCCURRENCES_PER_FILE:
            left_out += 1
            continue
        try:
            if not all(_rules_bounded(component, ahead, zone) for component in components):
                left_out += 1
                continue
            occurrences = list(_expand(calendar, components, since, ahead, zone))
        except Exception:  # noqa: BLE001 - whatever a broken event makes the libraries raise
            unreadable += 1
            continue
        verdicts: dict[int, bool] = {}  # occurrences of one component share participants
        for o in occurrences:
            if id(o.participants) not in verdicts:
                verdicts[id(o.participants)] = wanted(o.participants)
        chosen = [o for o in occurrences if verdicts[id(o.participants)]]
        past = sorted((o for o in chosen if o.start <= until), key=lambda o: o.start)
        found.extend(past[-MAX_OCCURRENCES_PER_EVENT:])
        upcoming.extend(o.start for o in chosen if o.start > until)
    return CalendarRead(tuple(found), min(upcoming, default=None), left_out, unreadable)


def participants(component: Any) -> tuple[Participant, ...]:
    """ORGANIZER and ATTENDEEs, each address once (declined if any of its entries declined;
    a person if any entry is one); () when there are more than MAX_PARTICIPANTS."""
    entries = _values(component.get("ATTENDEE"))
    if len(entries) > MAX_PARTICIPANTS:
        return ()
    found: dict[str, Participant] = {}
    for entry, is_organizer in [(v, True) for v in _values(component.get("ORGANIZER"))] + [
        (v, False) for v in entries
    ]:
        address = _address(entry)
        if address is None:
            continue
        declined = not is_organizer and _param(entry, "PARTSTAT").upper() in _NOT_THERE
        person = is_organizer or (
            _param(entry, "CUTYPE").upper() not in _NOT_PEOPLE
            and _param(entry, "ROLE").upper() != "NON-PARTICIPANT"
        )
        before = found.get(address)
        if before is not None:
            declined, person = declined or before.declined, person or before.person
        found[address] = Participant(address, declined, person)
    return tuple(found.values())


def _parse(data: bytes) -> list[Any]:
    depth = 0
    for match in _LINE_START.finditer(data):
        depth += 1 if match.group(1).upper() == b"BEGIN" else -1
        if depth > MAX_DEPTH:
            raise CalendarError("not a calendar file: its parts are nested too deeply")
    try:
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except Exception:  # noqa: BLE001 - the parser's errors quote the file: never shown
        raise CalendarError("not a calendar file (iCalendar, RFC 5545)") from None
    calendars = [c for c in calendars if getattr(c, "name", None) == "VCALENDAR"]
    if not calendars:
        raise CalendarError("not a calendar file: no VCALENDAR in it")
    return calendars


def _check_time_zones(calendar: Any) -> None:
    """A time zone whose offset changes more often than yearly would make every conversion
    into it walk through millions of changes: refuse the file."""
    for timezone in calendar.subcomponents:
        if timezone.name != "VTIMEZONE":
            continue
        for part in timezone.subcomponents:
            for rule in _values(part.get("RRULE")):
                freq = str(_first(rule, "FREQ", "")).upper()
                times = prod(len(_values(rule.get(key))) or 1 for key in rule if key != "FREQ")
                if freq != "YEARLY" or times > MAX_ZONE_RULE_TIMES:
                    raise CalendarError(
                        "not read: a time zone in it changes more often than once a year"
                    )


def _series(calendars: Iterable[Any]) -> Iterator[tuple[Any, list[Any]]]:
    """(calendar, the VEVENTs of one UID): an event with its overrides."""
    for calendar in calendars:
        groups: dict[str, list[Any]] = {}
        for index, component in enumerate(calendar.subcomponents):
            if component.name == "VEVENT":
                uid = _text(component, "UID") or f"\0{index}"  # no UID: on its own
                groups.setdefault(uid, []).append(component)
        for components in groups.values():
            yield calendar, components


def _rules_bounded(component: Any, ahead: datetime, zone: tzinfo) -> bool:
    """Whether expanding `component` up to `ahead` stays within MAX_RULE_STEPS.

    At most daily, at most MAX_TIMES_A_DAY a day, not from centuries ago; and only the parts
    RFC 5545 allows with each FREQ, less those that can make a daily or weekly rule match
    nothing at all (BYMONTHDAY, BYSETPOS; BYDAY every 7th day): dateutil would walk such a
    rule day by day until the year 9999, whatever its COUNT or UNTIL."""
    rules = _values(component.get("RRULE"))
    if not rules:
        return True
    start = _moment(component["DTSTART"].dt, zone)
    for rule in rules:
        freq = str(_first(rule, "FREQ", "")).upper()
        if freq not in _PERIOD_DAYS or not set(rule) <= _RULE_PARTS[freq]:
            return False
        interval = max(1, int(_first(rule, "INTERVAL", 1)))
        if freq == "DAILY" and interval % 7 == 0 and "BYDAY" in rule:
            return False
        times = prod(len(_values(rule.get(key))) or 1 for key in _TIME_PARTS)
        if times > MAX_TIMES_A_DAY:
            return False
        shortest, longest = _PERIOD_DAYS[freq]
        days = longest if any(rule.get(key) for key in _DAY_PARTS) else 1
        periods = max(0, (ahead - start).days) // (shortest * interval) + 1
        if periods * days * times > MAX_RULE_STEPS:
            return False
    return True


def _expand(
    calendar: Any, components: list[Any], since: datetime, ahead: datetime, zone: tzinfo
) -> Iterator[Occurrence]:
    one = icalendar.Calendar()
    for key in ("X-WR-TIMEZONE",):
        if key in calendar:
            one[key] = calendar[key]
    for component in components:
        component.subcomponents = []  # alarms: not needed, and not walked
        one.add_component(component)
    query = recurring_ical_events.of(one)
    people: dict[tuple[int, int], tuple[Participant, ...]] = {}
    for event in query.between(since - timedelta(days=1), ahead + timedelta(days=1)):
        if _text(event, "STATUS").upper() == "CANCELLED":
            continue
        value = event["DTSTART"].dt
        start = _moment(value, zone)
        if not since <= start <= ahead:
            continue
        original = event.get("RECURRENCE-ID")
        shared = (id(event.get("ATTENDEE")), id(event.get("ORGANIZER")))  # a shallow copy's
        if shared not in people:
            people[shared] = participants(event)
        summary = clean_line(_text(event, "SUMMARY"))[:SUMMARY_CHARS]
        yield Occurrence(
            uid=_text(event, "UID") or f"no UID: {summary}",  # stable while its title is
            recurrence_id=_occurrence_id(original.dt if original is not None else value),
            start=start,
            all_day=value if not isinstance(value, datetime) else None,
            participants=people[shared],
            summary=summary,
        )


def _moment(value: date | datetime, zone: tzinfo) -> datetime:
    """Aware UTC: a date is its midnight in `zone`, a floating time is in `zone`."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _occurrence_id(value: date | datetime) -> str:
    if not isinstance(value, datetime):
        return value.isoformat()
    if value.tzinfo is None or value.utcoffset() is None:
        return value.strftime("%Y%m%dT%H%M%S")
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _address(entry: Any) -> str | None:
    value = str(entry)
    address = normalise_address(value) if "@" in value else None
    if address is None:
        email = _param(entry, "EMAIL")  # RFC 7986: where the value is not a mailto: URI
        address = normalise_address(email) if email else None
    return address


def _param(entry: Any, name: str) -> str:
    params = getattr(entry, "params", None)
    value = params.get(name, "") if params is not None else ""
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).strip().strip('"')


def _text(component: Any, key: str) -> str:
    """A text property's first value ("" if none): a repeated one is a list."""
    values = _values(component.get(key))
    return str(values[0]) if values else ""


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _first(rule: Any, key: str, default: Any) -> Any:
    values = _values(rule.get(key))
    return values[0] if values else default
