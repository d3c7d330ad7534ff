"""Each person's rhythm, learned the way a person would: from the gaps between days with
contact, with robust statistics, recent gaps counting more than old ones.

1. Days with contact in the last two years (`WINDOW_DAYS`), each weighted by its audience
   (core/audience.py; a day counts at most 1). Fractions add up: ten days with only mail to
   thirty people (3/30 each) make one whole day of contact.
2. The gaps between consecutive whole days. A gap counts for its recency: fully when it
   ended today, less the older it is, nothing once it ended two years ago (a straight line,
   so nothing jumps when old mail leaves the window).
3. A long gap: longer than nine in ten of the gaps (each counted by its recency).
4. Typical gap: the median of the gaps over time: each gap counted by its length (but at most
   the long gap's) times its recency, so half of the time between contacts lay in gaps this
   long or shorter. Five quick replies in one week do not make a monthly friend a daily
   one, and one silence of a year does not make a weekly friend a yearly one.
5. Overdue gap: the long gap, but at least `OVERDUE_FACTOR` and at most `OVERDUE_MAX_FACTOR`
   times the typical gap (with few gaps, the longest one is the long gap). Fading starts
   past it.
6. Enough history: at least `MIN_GAPS` gaps, spread over at least `MIN_SPAN_GAPS` typical
   gaps, so that one busy week is not a rhythm; otherwise the configured default applies.
   Bounds: typical 7-365 days, overdue at most 730.

Pure, and written with C-level builtins (sorted, map, accumulate, bisect) over whole lists:
the report learns thousands of rhythms at once.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import mul, sub, truediv

WINDOW_DAYS = 730
MIN_GAPS = 3
MIN_SPAN_GAPS = 4
OVERDUE_QUANTILE = 0.9
OVERDUE_FACTOR = 1.5
OVERDUE_MAX_FACTOR = 3
TYPICAL_BOUNDS = (7, 365)
OVERDUE_MAX = 730
# The shortest overdue gap a learned rhythm can have: who is worth learning a rhythm for.
MIN_OVERDUE = math.ceil(TYPICAL_BOUNDS[0] * OVERDUE_FACTOR)
_NEARLY = 1e-9  # fractions that add up to 1, give or take rounding


@dataclass(frozen=True)
class ContactDays:
    """One person's days with contact in the window, ascending: the whole days (a personal
    message, a call) and the days with only a fraction of one (mail to many people)."""

    whole: list[int]
    fractions: list[tuple[int, float]]
    weighted: float  # the sum of every day's weight

    @property
    def count(self) -> int:
        return len(self.whole) + len(self.fractions)


@dataclass(frozen=True)
class Learned:
    """What a history says: the rhythm if there is enough of it, and the figures behind it."""

    typical: int | None  # None: too little history to learn from
    overdue: int | None
    gaps: int  # gaps between whole days of contact
    first_day: int | None  # the first whole day of contact in the window
    last_day: int | None  # the last one


def whole_days(days: ContactDays) -> list[int]:
    """The whole days, and the days on which the fractions, added up in day order, reach
    another whole one."""
    if not days.fractions:
        return days.whole
    reached = []
    total = 0.0
    for day, weight in days.fractions:
        before = math.floor(total + _NEARLY)
        total += weight
        if math.floor(total + _NEARLY) > before:
            reached.append(day)
    return sorted(days.whole + reached)


def weighted_quantile(values: list[int], weights: list[float], q: float) -> int:
    """The smallest value whose weight, with that of every smaller value, reaches q of all."""
    order = sorted(range(len(values)), key=values.__getitem__)
    return _quantile(list(map(values.__getitem__, order)), list(map(weights.__getitem__, order)), q)


def _quantile(ordered: list[int], weights: list[float], q: float) -> int:
    """weighted_quantile, the values already in ascending order (weights alongside)."""
    reached = list(accumulate(weights))
    index = bisect_left(reached, q * reached[-1] - _NEARLY)
    return ordered[min(index, len(ordered) - 1)]


def learn(days: ContactDays, today: int) -> Learned:
    """The rhythm in one person's days with contact, as of day `today`."""
    whole = whole_days(days)
    if len(whole) <= MIN_GAPS:
        first, last = (whole[0], whole[-1]) if whole else (None, None)
        return Learned(None, None, max(0, len(whole) - 1), first, last)
    first, last = whole[0], whole[-1]
    ends = whole[1:]
    gaps = list(map(sub, ends, whole))  # each whole day minus the one before
    recency = list(map(truediv, map(sub, ends, repeat(today - WINDOW_DAYS)), repeat(WINDOW_DAYS)))
    order = sorted(range(len(gaps)), key=gaps.__getitem__)
    ordered, weights = list(map(gaps.__getitem__, order)), list(map(recency.__getitem__, order))
    high_gap = _quantile(ordered, weights, OVERDUE_QUANTILE)
    over_time = list(map(mul, map(min, ordered, repeat(high_gap)), weights))
    low, high = TYPICAL_BOUNDS
    typical = min(high, max(low, _quantile(ordered, over_time, 0.5)))
    if last - first < MIN_SPAN_GAPS * typical:
        return Learned(None, None, len(gaps), first, last)
    shortest, longest = math.ceil(OVERDUE_FACTOR * typical), OVERDUE_MAX_FACTOR * typical
    overdue = min(OVERDUE_MAX, longest, max(high_gap, shortest))
    return Learned(typical, overdue, len(gaps), first, last)
