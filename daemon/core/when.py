"""The day something happened, as people type it: `today`, `yesterday`, `-3d`, `-2w`, a
weekday, or `YYYY-MM-DD`; counted from the owner's today (which the caller gets from its
injected clock, in the owner's time zone). A day after today is refused unless asked for."""

from __future__ import annotations

import re
from datetime import date, timedelta

from kithkin.daemon.core.dates import day_number, parse_date, shown
from kithkin.daemon.errors import UsageError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_NAMES = {
    **{name: index for index, name in enumerate(WEEKDAYS)},
    **{name[:3]: index for index, name in enumerate(WEEKDAYS)},
    "tues": 1, "weds": 2, "thur": 3, "thurs": 3,
}  # fmt: skip
_AGO = re.compile(r"^-\s*(\d{1,6})\s*(d|w)$")
_AHEAD = re.compile(r"^\+?\s*(\d{1,6})\s*(d|w)$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FORMS = "YYYY-MM-DD, today, yesterday, -3d, -2w or a weekday"


def parse_day(
    text: str, today: date, *, future: bool = False, future_hint: str = "--future allows it"
) -> date:
    """The day `text` names, counted from `today`: a weekday is the latest such day up to
    today (`monday` on a Monday is that day), `-3d` three days ago, `-2w` two weeks ago.
    A day after `today` is a usage error ending in `future_hint`, unless `future`."""
    word = " ".join(str(text).split()).lower()
    if word == "today":
        day = today
    elif word == "yesterday":
        day = _back(today, 1, text)
    elif word in _WEEKDAY_NAMES:
        day = _back(today, (today.weekday() - _WEEKDAY_NAMES[word]) % 7, text)
    elif match := _AGO.match(word):
        day = _back(today, int(match.group(1)) * (7 if match.group(2) == "w" else 1), text)
    elif _ISO.match(word):
        day = parse_date(word)
    elif match := _AHEAD.match(word):
        raise UsageError(f"not a date: {shown(text)} — {match.group(1)}{match.group(2)} ago? "
                         f"use -{match.group(1)}{match.group(2)}")  # fmt: skip
    else:
        raise UsageError(f"not a date: {shown(text)} (use {FORMS})")
    if day > today and not future:
        raise UsageError(
            f"{day.isoformat()} is in the future (today is {today.isoformat()}); {future_hint}"
        )
    return day


def is_day(text: str) -> bool:
    """Whether `text` has one of the forms `parse_day` reads (valid or not), weekdays
    spelled out: how a reply line tells `called Ada yesterday` from a name (`Sun` and `Sat`
    are names too)."""
    word = " ".join(str(text).split()).lower()
    return word in ("today", "yesterday", *WEEKDAYS) or bool(_AGO.match(word) or _ISO.match(word))


def _back(today: date, days: int, text: str) -> date:
    if days > day_number(today):
        raise UsageError(f"not a date Kithkin can use: {shown(text)} (1970 or later)")
    return today - timedelta(days=days)
