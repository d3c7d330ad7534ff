"""Small, strict parsers for the dates and durations users type."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kithkin.daemon.errors import UsageError
from kithkin.parsers.birthdays import normalise_birthday

_DURATION = re.compile(r"^\s*(\d{1,9})\s*([smhdwy]?)\s*$")
MAX_DURATION = timedelta(days=100 * 365)
EPOCH = date(1970, 1, 1)
_SHOWN = 40  # characters of a bad value quoted back


def shown(text: str) -> str:
    """A value as quoted back in an error: cut short, in quotes."""
    text = str(text)
    return repr(text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…")


_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def parse_duration(text: str, *, default_unit: str = "d") -> timedelta:
    """An interval such as `poll_interval`: `90s`, `5m` (minutes), `1h`, `30d`, `3w`, `1y`;
    a bare number uses `default_unit`. Cadences and lead times are `parse_days`."""
    match = _DURATION.match(str(text).lower())
    if not match:
        raise UsageError(f"not a duration: {shown(text)} (use e.g. 90s, 5m, 1h)")
    number, unit = int(match.group(1)), match.group(2) or default_unit
    if number <= 0:
        raise UsageError(f"duration must be positive: {shown(text)}")
    duration = timedelta(seconds=number * _SECONDS[unit])
    if duration > MAX_DURATION:
        raise UsageError(f"duration too long: {shown(text)} (at most 100 years)")
    return duration


# A cadence, a lead time or a snooze counts in days: these units only (a month is 30 days).
_DAYS_TEXT = re.compile(r"^\s*(\d{1,9})\s*([a-z]*)\s*$")
_DAY_UNITS = {"": 1, "d": 1, "day": 1, "days": 1, "w": 7, "week": 7, "weeks": 7,
              "mo": 30, "month": 30, "months": 30, "y": 365, "year": 365, "years": 365}  # fmt: skip
_SHORTER_UNITS = {"s", "sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes",
                  "h", "hr", "hrs", "hour", "hours"}  # fmt: skip
DAYS_EXAMPLES = "30d, 3w, 2mo, 1y"


def parse_days(text: str) -> int:
    """A cadence, a lead time or a snooze: `30d`, `3w`, `2mo` (30 days each), `1y` (365),
    or a bare number of days; whole days, at least 1. `5m` is refused with "months? use
    5mo" (m is minutes elsewhere), and seconds, minutes and hours are too short."""
    match = _DAYS_TEXT.match(str(text).lower())
    if not match:
        raise UsageError(f"not a duration: {shown(text)} (use e.g. {DAYS_EXAMPLES})")
    number, unit = int(match.group(1)), match.group(2)
    if unit == "m":
        raise UsageError(f"not a duration in days: {shown(text)} — months? use {number}mo")
    if unit in _SHORTER_UNITS:
        raise UsageError(f"too short: {shown(text)} (this counts in days or more: {DAYS_EXAMPLES})")
    if unit not in _DAY_UNITS:
        raise UsageError(f"not a duration: {shown(text)} (use e.g. {DAYS_EXAMPLES})")
    if number <= 0:
        raise UsageError(f"duration must be positive: {shown(text)}")
    days = number * _DAY_UNITS[unit]
    if days > MAX_DURATION.days:
        raise UsageError(f"duration too long: {shown(text)} (at most 100 years)")
    return days


MAX_LEAD_DAYS = 366


def parse_lead(text: str) -> int:
    """How long before a day to be reminded of it: `3d`, `2w`; `0d` (or `0`) is the day
    itself. At most a year."""
    if str(text).strip().lower() in ("0", "0d"):
        return 0
    days = parse_days(text)
    if days > MAX_LEAD_DAYS:
        raise UsageError(f"too long before: {shown(text)} (at most a year)")
    return days


def parse_date(text: str) -> date:
    """YYYY-MM-DD, between 1970 and 9999 (stored dates must sort as text)."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"not a date: {shown(text)} (use YYYY-MM-DD)") from None
    if day.year < 1970:
        raise UsageError(f"not a date Kithkin can use: {shown(text)} (1970 or later)")
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
        raise UsageError(f"not a birthday: {shown(text)} (use YYYY-MM-DD or --MM-DD)")
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
