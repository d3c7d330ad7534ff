"""Small, strict parsers for the dates and durations users type."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kithkin.daemon.errors import UsageError
from kithkin.parsers.contacts import normalise_birthday

_DURATION = re.compile(r"^\s*(\d{1,9})\s*([smhdwy]?)\s*$")
MAX_DURATION = timedelta(days=100 * 365)
EPOCH = date(1970, 1, 1)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def parse_duration(text: str, *, default_unit: str = "d") -> timedelta:
    """`30d`, `3w`, `5m`, `90s`, `1y`; a bare number uses `default_unit`."""
    match = _DURATION.match(str(text).lower())
    if not match:
        raise UsageError(f"not a duration: {text!r} (use e.g. 30d, 3w, 5m)")
    number, unit = int(match.group(1)), match.group(2) or default_unit
    if number <= 0:
        raise UsageError(f"duration must be positive: {text!r}")
    duration = timedelta(seconds=number * _SECONDS[unit])
    if duration > MAX_DURATION:
        raise UsageError(f"duration too long: {text!r} (at most 100 years)")
    return duration


def parse_days(text: str) -> int:
    """A cadence such as `30d` or `3w`, as whole days (at least 1)."""
    return max(1, round(parse_duration(text).total_seconds() / 86400))


MAX_LEAD_DAYS = 366


def parse_lead(text: str) -> int:
    """How long before a day to be reminded of it: `3d`, `2w`; `0d` (or `0`) is the day
    itself. At most a year."""
    if str(text).strip().lower() in ("0", "0d"):
        return 0
    days = parse_days(text)
    if days > MAX_LEAD_DAYS:
        raise UsageError(f"too long before: {text!r} (at most a year)")
    return days


def parse_date(text: str) -> date:
    """YYYY-MM-DD, between 1970 and 9999 (stored dates must sort as text)."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"not a date: {text!r} (use YYYY-MM-DD)") from None
    if day.year < 1970:
        raise UsageError(f"not a date Kithkin can use: {text!r} (1970 or later)")
    return day


def add_days(day: date, delta: timedelta) -> date:
    """`day + delta`, as a one-line error rather than OverflowError past year 9999."""
    try:
        return day + delta
    except OverflowError:
        raise UsageError(f"{day.isoformat()} + {delta.days} days is past year 9999") from None


def day_number(day: date) -> int:
    """Days since 1970-01-01: the unit every analysis aggregate counts in."""
    return (day - EPOCH).days


def local_date(moment: datetime, zone: tzinfo | None) -> date:
    """The owner's calendar day at `moment`: in `zone`, else the system's time zone."""
    return moment.astimezone(zone or local_zone()).date()


def local_zone() -> tzinfo:
    """The system's time zone with its DST rules (not just today's offset) where known."""
    name = os.environ.get("TZ", "").lstrip(":")
    try:
        if name:
            return ZoneInfo(name)
        with open("/etc/localtime", "rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime")
    except (OSError, ValueError, ZoneInfoNotFoundError):
        zone = datetime.now().astimezone().tzinfo
        return zone if zone is not None else UTC


def parse_birthday(text: str) -> str:
    """Validate and normalise a birthday to `YYYY-MM-DD` or `--MM-DD` (year unknown)."""
    birthday = normalise_birthday(text)
    if birthday is None:
        raise UsageError(f"not a birthday: {text!r} (use YYYY-MM-DD or --MM-DD)")
    return birthday


def as_utc(moment: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def utc_iso(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ`, the one form dates are stored and printed in."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
