"""When the weekly summary is due: pure functions of an aware "now", in the owner's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def last_scheduled(now: datetime, weekday: str, at: str, zone: tzinfo) -> datetime:
    """The most recent scheduled moment at or before `now` (aware, in `zone`)."""
    local = now.astimezone(zone)
    hour, minute = (int(part) for part in at.split(":"))
    days_back = (local.weekday() - WEEKDAYS.index(weekday)) % 7
    day = local.date() - timedelta(days=days_back)
    moment = _at(day, hour, minute, zone)
    if moment > now:
        moment = _at(day - timedelta(days=7), hour, minute, zone)
    return moment


def next_scheduled(now: datetime, weekday: str, at: str, zone: tzinfo) -> datetime:
    previous = last_scheduled(now, weekday, at, zone)
    hour, minute = (int(part) for part in at.split(":"))
    return _at(previous.astimezone(zone).date() + timedelta(days=7), hour, minute, zone)


def _at(day: date, hour: int, minute: int, zone: tzinfo) -> datetime:
    """Wall time on `day` in `zone`; a time skipped by a DST change moves forward past it."""
    naive = datetime.combine(day, time(hour, minute))
    moment = naive.replace(tzinfo=zone)
    round_trip = moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != naive:  # in a DST gap: use the first valid instant after it
        moment = (naive + timedelta(hours=1)).replace(tzinfo=zone)
    return moment
