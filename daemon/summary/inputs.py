"""The analysis inputs for a day, read from the store: the one place the report's
numbers come from (`kithkin report`, `show`, the weekly summary)."""

from __future__ import annotations

from datetime import date

from kithkin.daemon.config import AnalysisConfig
from kithkin.daemon.core.analysis import (
    WINDOW_DAYS,
    AnalysisInputs,
    analyse,
    is_resting,
    may_be_fading,
)
from kithkin.daemon.core.dates import day_number
from kithkin.daemon.core.findings import Report
from kithkin.daemon.store import Store


def gather(store: Store, as_of: date, settings: AnalysisConfig) -> AnalysisInputs:
    """Everything `analyse` reads. The days with contact, the costly part, are read only for
    the people who may be fading (most people in touch lately cannot be)."""
    today = day_number(as_of)
    contacts = store.contacts.active()
    latest = store.history.latest(today)
    candidates = [
        contact.id
        for contact in contacts
        if contact.id in latest
        and not is_resting(contact, as_of)
        and may_be_fading(contact, latest[contact.id], today, settings)
    ]
    return AnalysisInputs(
        contacts=contacts,
        latest=latest,
        days=store.history.days(today - WINDOW_DAYS, today, candidates),
        subjects=store.history.latest_subjects(today, candidates),
        runs=store.history.unanswered_runs(today, settings.one_sided_count),
        unanswered=store.history.unanswered(today),
    )


def report_for(
    store: Store, as_of: date, settings: AnalysisConfig, *, look_ahead: int = 0
) -> Report:
    """Who is fading, waiting, not answering, and whose birthday is near, as of `as_of`;
    `look_ahead`: days until the owner looks again (see `analyse`)."""
    return analyse(gather(store, as_of, settings), as_of, settings, look_ahead=look_ahead)
