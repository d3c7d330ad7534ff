"""A birthday as people and contact files write it -> `YYYY-MM-DD`, or `--MM-DD` without a
year. Read by the contact-file readers and by the birthdays typed on the command line
(core/dates.py), which need nothing else of each other."""

from __future__ import annotations

import re
from datetime import date

_BIRTHDAY = re.compile(r"^(?:(\d{4})|--)-?(\d{2})-?(\d{2})$")


def normalise_birthday(text: str) -> str | None:
    """`YYYY-MM-DD`, `YYYYMMDD`, `--MM-DD` or `--MMDD` -> `YYYY-MM-DD` / `--MM-DD`; else None.

    A time part (`1990-03-15T00:00:00Z`, as some vCard exporters write) is ignored. Year 1604
    (Apple's "no year" marker) counts as no year.
    """
    cleaned = text.strip().split("T", 1)[0]
    match = _BIRTHDAY.match(cleaned)
    if not match:
        return None
    year, month, day = match.groups()
    if year == "1604":
        year = None
    try:
        date(int(year) if year else 2000, int(month), int(day))  # 2000 is a leap year
    except ValueError:
        return None
    return f"{year}-{month}-{day}" if year else f"--{month}-{day}"
