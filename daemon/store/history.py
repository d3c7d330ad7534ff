"""The aggregates the analysis works from, computed in SQL over the interaction log.

A message's weight is the audience rule's (core/audience.py): mail to at most three people
counts fully, mail to N > 3 people counts 3/N; entries logged by hand have audience 1.
"""

from __future__ import annotations

from typing import Any

from kithkin.daemon.core.audience import SQL_PERSONAL, SQL_WEIGHT
from kithkin.daemon.store.connection import Subject
from kithkin.daemon.store.interactions import day_bound


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

    def latest_subjects(self, last_day: int) -> dict[int, str]:
        """contact_id -> subject of the newest email with one, on or before `last_day`."""
        rows = self.db.execute(
            """SELECT c.id, i.subject FROM contacts c JOIN interactions i ON i.id = (
                   SELECT id FROM interactions
                   WHERE contact_id = c.id AND date < ? AND kind = 'email'
                     AND subject IS NOT NULL AND subject != ''
                   ORDER BY date DESC, id DESC LIMIT 1)""",
            [day_bound(last_day)],
        ).fetchall()
        return dict(rows)

    def unanswered_runs(self, last_day: int, minimum: int) -> dict[int, tuple[int, str, str]]:
        """contact_id -> (count, first, last) of personal emails sent since their last reply.

        A reply is any incoming email or any interaction logged by hand. CROSS JOIN keeps
        SQLite from scanning the whole interactions table first.
        """
        bound = day_bound(last_day)
        rows = self.db.execute(
            f"""WITH replies AS (
                   SELECT c.id AS contact_id,
                          (SELECT r.date FROM interactions r
                           WHERE r.contact_id = c.id AND r.date < ?
                             AND (r.direction = 'in' OR r.kind != 'email')
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
