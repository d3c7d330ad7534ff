"""Moments as the owner reads them: stored UTC (`YYYY-MM-DDTHH:MM:SSZ`) shown in their time
zone (`Config.owner_zone()`), the zone named once by the caller; and `--as-of` moments."""

from __future__ import annotations

import os
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from kithkin.daemon.core.dates import parse_utc_iso
from kithkin.daemon.errors import UsageError

LOCALTIME = "/etc/localtime"


def zone_name(zone: tzinfo, now: datetime) -> str:
    """`Europe/Berlin`: the zone's IANA name where known (the system zone's from the
    /etc/localtime link), else its abbreviation at `now` (`CET`)."""
    key = getattr(zone, "key", None) if isinstance(zone, ZoneInfo) else None
    if key and key != "localtime":
        return str(key)
    try:
        target = os.path.realpath(LOCALTIME)
    except OSError:
        target = ""
    if key == "localtime" and "/zoneinfo/" in target:
        return target.split("/zoneinfo/", 1)[1]
    return now.astimezone(zone).tzname() or "UTC"


def shown(stored: str | None, zone: tzinfo, *, never: str = "never") -> str:
    """A stored UTC moment as `2026-03-01 10:30` in `zone`; `never` when there is none, and
    a value that is not a stored moment as it is (an older Kithkin's, say)."""
    if not stored:
        return never
    try:
        moment = parse_utc_iso(stored)
    except ValueError:
        return stored
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def parse_moment(text: str, zone: tzinfo) -> datetime:
    """`--as-of`: `2026-03-01T10:30`, with seconds, `Z` or an offset; a bare day is its
    midnight. Without an offset, in the owner's zone. Aware UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"not a moment: {text!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM, with Z or +HH:MM)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)
