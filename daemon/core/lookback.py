"""How far back to look, as the owner types it: `30d`, `8w`, `6mo`, `2y`.

Months and years are calendar ones (`6mo` before 31 August is 28 or 29 February). A bare
`m` is refused: in Kithkin's other durations it means minutes (`poll_interval = "5m"`).
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta

from kithkin.daemon.errors import UsageError

_LOOKBACK = re.compile(r"^\s*(\d{1,4})\s*(d|w|mo|y)\s*$")
MAX_YEARS = 100


def lookback_start(text: str, now: datetime) -> datetime:
    """The moment `text` before `now`; a UsageError naming `text` when it is not one."""
    match = _LOOKBACK.match(str(text).lower())
    if not match:
        hint = " (6mo for months)" if str(text).strip().lower().endswith("m") else ""
        raise UsageError(f"not a period: {text!r}{hint} (use e.g. 30d, 8w, 6mo, 2y)")
    number, unit = int(match.group(1)), match.group(2)
    if number <= 0:
        raise UsageError(f"the period must be positive: {text!r}")
    months = {"mo": number, "y": 12 * number}.get(unit, 0)
    days = {"d": number, "w": 7 * number}.get(unit, 0)
    if months > 12 * MAX_YEARS or days > 366 * MAX_YEARS:
        raise UsageError(f"the period is too long: {text!r} (at most {MAX_YEARS} years)")
    if months:
        return months_before(now, months)
    return now - timedelta(days=days)


def months_before(moment: datetime, months: int) -> datetime:
    """`moment`, `months` calendar months earlier; the day clamped to the month's length."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)
