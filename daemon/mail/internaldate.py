"""INTERNALDATE as sent (`02-Jun-2021 03:47:24 +0000`) -> an aware datetime, as imapclient
reads it, without its general date parser for the one shape servers send (RFC 3501).

imapclient's `parse_to_datetime` goes through `email.utils.parsedate_tz`: about 5 µs a
message, the costliest step of matching a contact's mail. `parse_internaldate` reads
`date-day-fixed "-" date-month "-" date-year SP time SP zone` with one regex and gives the
very value imapclient gives (its FixedOffset zone, the same instant); anything else, or a
value that does not make a date, goes to imapclient's parser. tests/test_internaldate.py
holds the two to the same results.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from imapclient.datetime_util import parse_to_datetime
from imapclient.fixed_offset import FixedOffset

_SHAPE = re.compile(
    rb"( ?[0-9]{1,2})-([A-Za-z]{3})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{4})"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        (b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct",
         b"nov", b"dec"), 1
    )
}  # fmt: skip


def parse_internaldate(value: bytes) -> datetime:
    """imapclient's `parse_to_datetime(value, normalise=False)`; raises as it raises."""
    shape = _SHAPE.fullmatch(value)
    if shape is not None:
        day, month_name, year, hour, minute, second, sign, zone = shape.groups()
        month = _MONTHS.get(month_name.lower())
        number = int(zone)
        offset = (number // 100) * 3600 + (number % 100) * 60  # as parsedate_tz counts it
        if month is not None and offset < 86400 and int(year) >= 100:
            tzinfo = _zone(-offset if sign == b"-" else offset)
            try:
                return datetime(int(year), month, int(day), int(hour), int(minute), int(second),
                                tzinfo=tzinfo)  # fmt: skip
            except ValueError:
                pass  # not a date (30 February): imapclient says how it fails
    parsed: datetime = parse_to_datetime(value, normalise=False)
    return parsed


@lru_cache(maxsize=256)
def _zone(seconds: int) -> FixedOffset:
    return FixedOffset(seconds / 60)
