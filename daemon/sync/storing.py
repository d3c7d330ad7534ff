"""A batch's rows into the store: in bulk, or message by message when the store refuses some.

The bulk insert runs in the batch's transaction without a savepoint of its own: a savepoint
makes SQLite copy every page it touches into a statement journal, which costs more than the
insert itself. When a message's rows are refused, `store_all` raises RowsRefused, the caller
rolls the whole transaction back and writes it again with `store_each`, each message in a
savepoint, the refused ones set aside.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from kithkin.daemon.mail.records import FetchedHeader
from kithkin.daemon.store import Store
from kithkin.daemon.sync.failures import caused_by_the_message
from kithkin.daemon.sync.plan import BatchPlan
from kithkin.daemon.sync.replies import Answer


class RowsRefused(Exception):
    """The store refused a message's rows in a bulk insert; the transaction must go."""


@dataclass
class BatchCommit:
    """What one batch's transaction writes, and what it wrote."""

    uids: list[int]
    fetched: list[FetchedHeader]
    unfetchable: list[int]
    plan: BatchPlan
    answers: list[Answer]
    added: int = 0
    failed_rows: list[int] = field(default_factory=list)
    set_aside: list[int] = field(default_factory=list)


def store_all(store: Store, plan: BatchPlan, before_each: Callable[[int], None]) -> int:
    """Insert every row of `plan` in the caller's transaction; returns how many were new.
    RowsRefused when the store refuses a message's rows (or `before_each` raises for one)."""
    try:
        rows = plan.stored_rows()
        for uid in rows:
            before_each(uid)
        return store.interactions.add_stored(row for per in rows.values() for row in per)
    except Exception as exc:
        if not caused_by_the_message(exc):
            raise
        raise RowsRefused from exc


def store_each(
    store: Store, plan: BatchPlan, before_each: Callable[[int], None]
) -> tuple[int, list[int]]:
    """Insert each message's rows in a savepoint of its own; a message whose rows the store
    refuses is left out. Returns (rows added, UIDs whose rows were refused)."""
    added, failed = 0, []
    messages: list[tuple[int, Callable[[], int]]] = [
        *((uid, partial(store.interactions.add_stored, per)) for uid, per in plan.stored.items()),
        *((uid, partial(store.interactions.add, per)) for uid, per in plan.rows.items()),
    ]
    for uid, add in messages:
        try:
            with store.atomic():
                before_each(uid)
                added += add()
        except Exception as exc:
            if not caused_by_the_message(exc):
                raise
            failed.append(uid)
    return added, failed
