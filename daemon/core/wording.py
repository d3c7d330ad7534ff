"""Durations in the owner's words: "1 week", "every 3 weeks", "2 months ago"."""

from __future__ import annotations


def duration(days: int) -> str:
    """7 -> "7 days", 45 -> "6 weeks", 120 -> "4 months", 800 -> "2 years"."""
    if days < 14:
        return _plural(days, "day")
    if days < 60:
        return _plural(round(days / 7), "week")
    if days < 365:
        return _plural(round(days / 30.4), "month")
    return _plural(round(days / 365), "year")


def every(days: int) -> str:
    text = duration(days)
    return "every " + (text.removeprefix("1 "))


def ago(days: int) -> str:
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    return f"{duration(days)} ago"


def as_long_as(days: int, like: int) -> str:
    """`days` in words, the unit left out when it is the unit of `like`: after "every 3
    weeks", 49 days is just "7". After "every year" (no number to echo) it stays "2 years"."""
    text, other = duration(days), duration(like)
    number, _, unit = text.partition(" ")
    like_number, _, like_unit = other.partition(" ")
    if like_number != "1" and unit.rstrip("s") == like_unit.rstrip("s"):
        return number
    return text


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
