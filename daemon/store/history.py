"""The aggregates the analysis works from, computed in SQL over the interaction log.

A message's weight is the audience rule's (core/audience.py): mail to at most three people
counts fully, mail to N > 3 people counts 3/N; entries logged by hand have audience 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from kithkin.daemon.core.audience import SQL_PERSONAL, SQL_WEIGHT
from kithkin.daemon.core.rhythm import ContactDays
from kithkin.daemon.store.connection import Subject
from kithkin.daemon.store.interactions import day_bound

# What answers a message from them: your email to at most three people, or a call or meeting
# (of at most three besides you: a meeting from the calendar has its audience), which answers
# all of that day's mail (one logged by hand is dated noon UTC).
_ANSWER = f"({SQL_PERSONAL} AND (kind != 'email' OR direction = 'out'))"


class History(Subject):
    def stats(
        self, first_day: int, last_day: int, *, weighted: bool = True
    ) -> dict[int, tuple[int, int, float]]:
        """contact_id -> (first day, last day, weighted days with contact) in the window.

        A day's weight is the sum of its interactions' weights, capped at 1 (or simply 1 with
        weighted=False).
        """
        weight = f"MIN(1.0, SUM({SQL_WEIGHT}))" if weighted else "1.0"
        rows = self.db.execute(
            f"""WITH days AS (
                   SELECT contact_id, day, {weight} AS weight
                   FROM interactions WHERE day BETWEEN ? AND ? GROUP BY contact_id, day)
               SELECT contact_id, MIN(day), MAX(day), SUM(weight) FROM days GROUP BY contact_id""",
            [first_day, last_day],
        ).fetchall()
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    def days(
        self, first_day: int, last_day: int, contact_ids: Iterable[int]
    ) -> dict[int, ContactDays]:
        """contact_id -> their days with contact in the window, for the contacts named.

        A day's weight is the sum of its interactions' weights, capped at 1. One indexed range
        per contact named (contact_id, day, audience; `IN`, which keeps the index order, where
        a join with json_each would sort), and one row per person with the whole days and the
        days with only a fraction as two lists: parsing those is much cheaper in Python than
        a row per day.
        """
        rows = self.db.execute(
            f"""SELECT contact_id,
                   group_concat(CASE WHEN weight >= 1.0 THEN day END),
                   group_concat(CASE WHEN weight < 1.0 THEN day || ':' || weight END),
                   SUM(weight)
               FROM (SELECT contact_id, day, MIN(1.0, SUM({SQL_WEIGHT})) AS weight
                     FROM interactions
                     WHERE contact_id IN (SELECT value FROM json_each(?))
                       AND day BETWEEN ? AND ?
                     GROUP BY contact_id, day)
               GROUP BY contact_id""",
            [json.dumps(sorted(set(contact_ids))), first_day, last_day],
        ).fetchall()
        found = {}
        for contact_id, whole, fractions, weighted in rows:
            days = sorted(map(int, whole.split(","))) if whole else []
            parts = sorted(_fraction(item) for item in fractions.split(",")) if fractions else []
            found[contact_id] = ContactDays(days, parts, float(weighted))
        return found

    def latest(self, last_day: int) -> dict[int, dict[str, Any]]:
        """contact_id -> the newest interaction on or before `last_day`.

        Written as one indexed lookup per contact (contact_id, date): a GROUP BY over the
        whole table would visit every row (about 1.3 s for a million interactions).
        """
        rows = self.db.execute(
            """SELECT c.id, i.date, i.day, i.direction, i.kind, i.subject, i.audience
               FROM contacts c JOIN interactions i ON i.id = (
                   SELECT id FROM interactions
                   WHERE contact_id = c.id AND date < ?
                   ORDER BY date DESC, id DESC LIMIT 1)""",
            [day_bound(last_day)],
        ).fetchall()
        keys = ("date", "day", "direction", "kind", "subject", "audience")
        return {row[0]: dict(zip(keys, row[1:], strict=True)) for row in rows}

    def latest_subjects(
        self, last_day: int, contact_ids: Iterable[int] | None = None
    ) -> dict[int, str]:
        """contact_id -> subject of the newest email with one, on or before `last_day`; for
        everyone, or for the contacts named."""
        people = "contacts c" if contact_ids is None else "(SELECT value AS id FROM json_each(?)) c"
        params = [] if contact_ids is None else [json.dumps(sorted(set(contact_ids)))]
        rows = self.db.execute(
            f"""SELECT c.id, i.subject FROM {people} JOIN interactions i ON i.id = (
                   SELECT id FROM interactions
                   WHERE contact_id = c.id AND date < ? AND kind = 'email'
                     AND subject IS NOT NULL AND subject != ''
                   ORDER BY date DESC, id DESC LIMIT 1)""",
            [*params, day_bound(last_day)],
        ).fetchall()
        return dict(rows)

    def unanswered(self, last_day: int) -> dict[int, dict[str, Any]]:
        """contact_id -> their newest direct email (to at most three people) on or before
        `last_day` that nothing of yours answered since: no email from you to at most three
        people and nothing logged by hand after it (a call logged for a day answers all of
        that day's mail). What they sent to larger threads after it does not matter.

        Per contact, three indexed lookups: the newest answer (contact_id, date), whether a
        call or meeting was logged that day (contact_id, day), then the newest direct email
        after it.
        """
        bound = day_bound(last_day)
        rows = self.db.execute(
            f"""WITH newest AS (
                   SELECT c.id AS contact_id,
                          (SELECT a.id FROM interactions a
                           WHERE a.contact_id = c.id AND a.date < ? AND {_ANSWER}
                           ORDER BY a.date DESC LIMIT 1) AS answer
                   FROM contacts c),
               answered AS (  -- a call that day answers the day's mail, later than noon too
                   SELECT n.contact_id,
                          CASE WHEN EXISTS (SELECT 1 FROM interactions h
                                            WHERE h.contact_id = n.contact_id
                                              AND h.day = a.day AND h.kind != 'email'
                                              AND h.{SQL_PERSONAL})
                               THEN substr(a.date, 1, 10) || 'T23:59:59Z'
                               ELSE a.date END AS date
                   FROM newest n LEFT JOIN interactions a ON a.id = n.answer)
               SELECT r.contact_id, i.date, i.day, i.subject
               FROM answered r JOIN interactions i ON i.id = (
                   SELECT id FROM interactions
                   WHERE contact_id = r.contact_id AND date > COALESCE(r.date, '')
                     AND date < ? AND kind = 'email' AND direction = 'in' AND {SQL_PERSONAL}
                   ORDER BY date DESC, id DESC LIMIT 1)""",
            [bound, bound],
        ).fetchall()
        keys = ("date", "day", "subject")
        return {row[0]: dict(zip(keys, row[1:], strict=True)) for row in rows}

    def unanswered_runs(self, last_day: int, minimum: int) -> dict[int, tuple[int, str, str]]:
        """contact_id -> (count, first, last) of personal emails sent since their last reply.

        A reply is any incoming email, or a call or meeting of at most three people besides
        you (all that is logged by hand; a meeting from the calendar may be larger). CROSS
        JOIN keeps SQLite from scanning the whole interactions table first.
        """
        bound = day_bound(last_day)
        rows = self.db.execute(
            f"""WITH replies AS (
                   SELECT c.id AS contact_id,
                          (SELECT r.date FROM interactions r
                           WHERE r.contact_id = c.id AND r.date < ?
                             AND (r.direction = 'in' OR (r.kind != 'email' AND r.{SQL_PERSONAL}))
                           ORDER BY r.date DESC LIMIT 1) AS date
                   FROM contacts c)
               SELECT i.contact_id, COUNT(*), MIN(i.date), MAX(i.date)
               FROM replies r CROSS JOIN interactions i
                 ON i.contact_id = r.contact_id AND i.date > COALESCE(r.date, '')
                    AND i.date < ?
               WHERE i.direction = 'out' AND i.kind = 'email' AND i.{SQL_PERSONAL}
               GROUP BY i.contact_id HAVING COUNT(*) >= ?""",
            [bound, bound, minimum],
        ).fetchall()
        return {row[0]: (row[1], row[2], row[3]) for row in rows}


def _fraction(item: str) -> tuple[int, float]:
    day, _, weight = item.partition(":")
    return int(day), float(weight)
