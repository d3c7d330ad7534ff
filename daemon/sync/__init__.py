"""The sync engine: mailbox -> interactions, one committed batch at a time.

    engine.py     folders, cursors, UIDVALIDITY, backfill, set-aside retries
    pipeline.py   a folder's UIDs batch by batch: fetched, planned, committed with the cursor
    batches.py    UIDs in batches of one UID FETCH, the next ones sent ahead
    plan.py       a batch planned purely: rows to log, reply candidates, messages to set aside
    planner.py    where a batch is planned: here, or one batch ahead in a child process
    replies.py    the reply stage after the plan (steering/ applies the commands)
    narrowing.py  a FETCH that keeps failing, halved down to the message that causes it
    backfill.py   the targeted search for new contacts' past mail
    failures.py   a message's failure, or the machine's
    report.py     what a sync did
    source.py     what the engine needs from a mailbox (MailSource) and from its caller

May import: core, store, steering (not its summary), mail's records (not its session),
parsers. Never jinja2 or the summary.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kithkin.daemon.sync.batches import FETCH_BATCH
    from kithkin.daemon.sync.engine import Sync
    from kithkin.daemon.sync.plan import BatchPlan, plan_batch
    from kithkin.daemon.sync.report import FolderReport, SyncReport
    from kithkin.daemon.sync.source import MailSource, NoProgress, Progress, Stopped

_HOMES = {"FETCH_BATCH": "batches", "Sync": "engine", "BatchPlan": "plan", "plan_batch": "plan",
          "FolderReport": "report", "SyncReport": "report", "MailSource": "source",
          "NoProgress": "source", "Progress": "source", "Stopped": "source"}  # fmt: skip


def __getattr__(name: str) -> Any:
    """Each name imported from its module when first asked for: a planning child
    (planner.py) imports plan.py without the engine, the store or the mail session."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(name)
    return getattr(import_module(f"kithkin.daemon.sync.{home}"), name)


__all__ = [
    "FETCH_BATCH",
    "BatchPlan",
    "FolderReport",
    "MailSource",
    "NoProgress",
    "Progress",
    "Stopped",
    "Sync",
    "SyncReport",
    "plan_batch",
]
