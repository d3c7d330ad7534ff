"""Small, strict parsers for the dates and durations users type."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from kithkin.daemon.errors import UsageError
from kithkin.parsers.contactfile import normalise_birthday

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdwy]?)\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def parse_duration(text: str, *, default_unit: str = "d") -> timedelta:
    """`30d`, `3w`, `5m`, `90s`, `1y`; a bare number uses `default_unit`."""
    match = _DURATION.match(str(text).lower())
    if not match:
        raise UsageError(f"not a duration: {text!r} (use e.g. 30d, 3w, 5m)")
    number, unit = int(match.group(1)), match.group(2) or default_unit
    if number <= 0:
        raise UsageError(f"duration must be positive: {text!r}")
    return timedelta(seconds=number * _SECONDS[unit])


def parse_days(text: str) -> int:
    """A cadence such as `30d` or `3w`, as whole days (at least 1)."""
    return max(1, round(parse_duration(text).total_seconds() / 86400))


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


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
