"""The summary job: analyse, render, deliver, and remember what was sent.

A summary is recorded (with its token) before it is delivered and marked sent after, so a
crash in between re-sends the same summary, with the same Message-ID, at most once more; where
the owner's INBOX can be searched, even that duplicate is avoided.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage

from kithkin.daemon.config import Config, ServerConfig
from kithkin.daemon.core.dates import parse_utc_iso
from kithkin.daemon.core.digest import NEXT_SUMMARY_DAYS
from kithkin.daemon.errors import CredentialError, unexpected
from kithkin.daemon.mail.credentials import Credential
from kithkin.daemon.mail.delivery import already_in_inbox, append_imap, send_smtp
from kithkin.daemon.steering.tokens import new_token
from kithkin.daemon.store import Store
from kithkin.daemon.summary.extras import SummaryExtras, summary_extras
from kithkin.daemon.summary.inputs import report_for
from kithkin.daemon.summary.render import RenderedSummary, build_message, render_summary, week_of

log = logging.getLogger("kithkin.summary")


@dataclass(frozen=True)
class Outcome:
    status: str  # "sent", "empty" (nothing to say, send_when_empty off), "already-sent"
    week: str
    token: str | None = None
    subject: str | None = None
    sent_at: datetime | None = None  # for "already-sent": when that one went out


def prepare(
    store: Store, config: Config, as_of: date, token: str
) -> tuple[RenderedSummary, SummaryExtras]:
    report = report_for(store, as_of, config.analysis, look_ahead=NEXT_SUMMARY_DAYS)
    extras = summary_extras(store, as_of)
    rendered = render_summary(
        report,
        owner=config.summary_recipient(),
        max_people=config.summary.max_people,
        token=token,
        extras=extras,
    )
    return rendered, extras


def deliver(message: EmailMessage, config: Config) -> None:
    if config.summary.delivery == "imap":
        imap = config.require_imap()
        append_imap(message, imap, Credential(imap))
    else:
        smtp = config.require_smtp()
        send_smtp(message, smtp, _optional_credential(smtp))


def _optional_credential(server: ServerConfig) -> Credential | None:
    credential = Credential(server)
    try:
        credential.get()
    except CredentialError:
        if server.password_command:
            raise
        return None  # a local relay without authentication
    return credential


def send_summary(
    store: Store,
    config: Config,
    *,
    as_of: date,
    now: datetime,
    trigger: str = "manual",
    week: str | None = None,
    force: bool = False,
) -> Outcome:
    """Render and deliver one summary, at most one per week and trigger: the schedule's,
    and the owner's `summary --send` (unless `force`). The week is `as_of`'s, a day in the
    owner's time zone."""
    week = week or week_of(as_of)
    existing = None  # a scheduled one left pending by a crash: sent again, the same
    if trigger == "schedule":
        existing = store.summaries.for_week(week, trigger)
        if existing and existing["sent_at"]:
            return Outcome("already-sent", week, existing["token"])
    elif not force and (sent := store.summaries.sent_in_week(week, trigger)):
        return Outcome("already-sent", week, sent["token"], sent_at=parse_utc_iso(sent["sent_at"]))
    token = existing["token"] if existing else new_token()
    if not existing:
        with store.atomic():
            store.summaries.new(week, token, trigger, now)
    rendered, extras = prepare(store, config, as_of, token)
    if rendered.empty and not extras.reply_keys and not config.summary.send_when_empty:
        if trigger == "schedule":  # this week's job is done; a `--send` may try again
            with store.atomic():
                store.summaries.mark_sent(token, now)
        return Outcome("empty", week, token, rendered.subject)
    message = build_message(rendered, owner=config.summary_recipient(), now=now)
    if existing and _delivered_before(message, config):
        log.info("summary for %s was delivered before a restart; not sending it again", week)
    else:
        deliver(message, config)
    with store.atomic():
        store.summaries.mark_sent(token, now)
        store.replies.mark_reported(extras.reply_keys, token)
        store.set_aside.mark_reported(token)
    return Outcome("sent", week, token, rendered.subject)


def _delivered_before(message: EmailMessage, config: Config) -> bool:
    """For a summary left pending by a crash: is it in the owner's INBOX already?"""
    if config.imap is None or config.summary_recipient() not in config.me:
        return False
    try:
        return already_in_inbox(str(message["Message-ID"]), config.imap, Credential(config.imap))
    except Exception as exc:  # noqa: BLE001 - unsure means send: at most one duplicate
        log.info("could not check the INBOX for an earlier copy: %s", unexpected(exc))
        return False
