"""The analysis inputs for a day, read from the store: the one place the report's
numbers come from (`kithkin report`, `show`, the weekly summary)."""

from __future__ import annotations

from datetime import date

from kithkin.daemon.config import AnalysisConfig
from kithkin.daemon.core.analysis import WINDOW_DAYS, AnalysisInputs, analyse
from kithkin.daemon.core.dates import day_number
from kithkin.daemon.core.findings import Report
from kithkin.daemon.store import Store


def gather(store: Store, as_of: date, settings: AnalysisConfig) -> AnalysisInputs:
    today = day_number(as_of)
    return AnalysisInputs(
        contacts=store.contacts.all(),
        stats=store.history.stats(today - WINDOW_DAYS, today),
        latest=store.history.latest(today),
        subjects=store.history.latest_subjects(today),
        runs=store.history.unanswered_runs(today, settings.one_sided_count),
    )


def report_for(store: Store, as_of: date, settings: AnalysisConfig) -> Report:
    """Who is fading, waiting, not answering, and whose birthday is near, as of `as_of`."""
    return analyse(gather(store, as_of, settings), as_of, settings)
