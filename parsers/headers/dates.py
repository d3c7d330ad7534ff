"""RFC 5322 Date header text -> aware UTC, and the choice between it and INTERNALDATE.

**Dates**: one regex for RFC 5322 dates (with the obsolete two-digit years and named zones),
`email.utils.parsedate_tz` for anything else. A date that does not parse, has a zone beyond
±14 h, lies before 1970, or lies more than two days after INTERNALDATE is replaced by
INTERNALDATE (`date_from_header=False`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_tz

_MAX_DATE_AHEAD = timedelta(days=2)
_MAX_ZONE = 14 * 3600

_DATE = re.compile(
    r"""
    ^(?:[A-Za-z]+\s*,?\s*)?                                 # day of week
    (\d{1,2})\s+([A-Za-z]{3})[A-Za-z]*\.?\s+(\d{1,4})\s+    # day month year
    (\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?            # time
    \s*(?:([+-])(\d{2})(\d{2})|([A-Za-z]+)\b)?              # zone
    """,
    re.VERBOSE | re.ASCII,
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_ZONES = {"est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7}


def choose_date(text: str, internaldate: datetime | None) -> tuple[datetime | None, bool]:
    """The Date header when it is believable, else INTERNALDATE; and whether it was the header."""
    parsed = parse_date(text) if text else None
    if parsed is not None and (internaldate is None or not _too_late(parsed, internaldate)):
        return parsed, True
    return internaldate, False


def _too_late(parsed: datetime, internaldate: datetime) -> bool:
    return parsed - internaldate > _MAX_DATE_AHEAD


def parse_date(text: str) -> datetime | None:
    """An RFC 5322 date (obsolete forms included) as aware UTC, or None when bogus."""
    match = _DATE.match(text.strip())
    try:
        moment = _from_match(match) if match else _from_stdlib(text)
    except (ValueError, OverflowError, IndexError, TypeError):
        return None
    if moment is None or moment.year < 1970:
        return None
    return moment


def _from_match(match: re.Match[str]) -> datetime | None:
    day, month_name, year_text, hour, minute, second, sign, zone_hours, zone_minutes, zone_name = (
        match.groups()
    )
    month = _MONTHS.get(month_name.lower())
    year = _full_year(year_text)
    if month is None or year is None:
        return None
    if sign:
        if int(zone_minutes) >= 60:
            return None
        offset = (int(zone_hours) * 3600 + int(zone_minutes) * 60) * (-1 if sign == "-" else 1)
    else:
        offset = _ZONES.get((zone_name or "").lower(), 0) * 3600  # unknown zone: as -0000
    seconds = min(int(second or 0), 59)  # a leap second lands on :59
    return _to_utc(year, month, int(day), int(hour), int(minute), seconds, offset)


def _full_year(text: str) -> int | None:
    """RFC 5322 §4.3: two digits are 1950-2049, three digits add 1900; one digit is bogus."""
    year = int(text)
    if len(text) == 2:
        return year + (2000 if year < 50 else 1900)
    if len(text) == 3:
        return year + 1900
    return year if len(text) == 4 else None


def _from_stdlib(text: str) -> datetime | None:
    parts = parsedate_tz(text)
    if parts is None:
        return None
    year, month, day, hour, minute, second = parts[:6]
    return _to_utc(year, month, day, hour, minute, min(second, 59), parts[9] or 0)


def _to_utc(
    year: int, month: int, day: int, hour: int, minute: int, second: int, offset: int
) -> datetime | None:
    if abs(offset) > _MAX_ZONE:
        return None
    local = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return local - timedelta(seconds=offset)


def as_utc(moment: datetime | None) -> datetime | None:
    """Aware UTC; a naive datetime is taken to be UTC already; anything else is None."""
    if not isinstance(moment, datetime):
        return None
    try:
        if moment.tzinfo is None or moment.utcoffset() is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
