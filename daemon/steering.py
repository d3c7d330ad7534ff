"""Steering Kithkin by replying to its summary (filled in by the reply-commands feature)."""

from __future__ import annotations

from kithkin.daemon.analysis import Report
from kithkin.daemon.store import Store
from kithkin.daemon.summary import SummaryExtras


def summary_extras(store: Store, report: Report) -> SummaryExtras:
    return SummaryExtras()
