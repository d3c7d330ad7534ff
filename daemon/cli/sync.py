"""`kithkin sync` and `kithkin interactions`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import click

from kithkin.daemon import book
from kithkin.daemon.app import App
from kithkin.daemon.cli.calendar import read_calendars
from kithkin.daemon.cli.output import pass_app, print_json, sanitised
from kithkin.daemon.cli.progress import LineProgress, TerminalProgress
from kithkin.daemon.cli.sources import echo_reports, read_sources
from kithkin.daemon.config import ImapConfig
from kithkin.daemon.errors import CredentialError, MailboxError
from kithkin.daemon.mail.credentials import Credential
from kithkin.daemon.mail.session import ImapSession
from kithkin.daemon.steering.policy import reply_policy
from kithkin.daemon.sync import Progress, Sync, SyncReport
from kithkin.parsers.text import clean_line


@contextmanager
def open_mailbox(imap: ImapConfig) -> Iterator[ImapSession]:
    mailbox = ImapSession.connect(imap, Credential(imap))
    try:
        yield mailbox
    finally:
        mailbox.logout()


@dataclass
class MailboxResult:
    """How the sync of one mailbox went: its report, or the one line that stopped it."""

    mailbox: ImapConfig
    report: SyncReport | None = None
    error: str | None = None


def run_sync(
    app: App,
    *,
    backfill_all: bool = False,
    retry_set_aside: bool = False,
    progress: Progress | None = None,
) -> list[MailboxResult]:
    """Each mailbox in turn, each with its own cursors; one that fails does not stop the
    others (with a single mailbox, its failure is raised)."""
    mailboxes = app.config.require_mailboxes()
    names = tuple(mailbox.name for mailbox in mailboxes)
    results = []
    for imap in mailboxes:
        store = app.store.of_mailbox(imap.name, names)
        if imap is mailboxes[0]:
            with store.atomic():
                store.folders.adopt_unnamed()
        try:
            with open_mailbox(imap) as mailbox:
                engine = Sync(
                    mailbox,
                    store,
                    app.config.me,
                    clock=app.clock,
                    progress=_Named(progress, imap.name) if progress and imap.name else progress,
                    zone=app.config.owner_zone(),
                    reply_policy=reply_policy(app.config),
                )
                report = engine.run(backfill_all=backfill_all, retry_set_aside=retry_set_aside)
        except (MailboxError, CredentialError) as exc:
            if len(mailboxes) == 1:
                raise
            results.append(MailboxResult(imap, error=str(exc)))
            continue
        results.append(MailboxResult(imap, report))
    return results


@dataclass
class _Named:
    """Progress with folders shown as `mailbox/folder`."""

    progress: Progress
    mailbox: str

    def folder(self, name: str, total: int) -> None:
        self.progress.folder(f"{self.mailbox}/{name}", total)

    def advance(self, messages: int, logged: int) -> None:
        self.progress.advance(messages, logged)


@click.command()
@click.option(
    "--backfill",
    is_flag=True,
    help="Also look for past mail of every contact, not only newly added ones.",
)
@click.option(
    "--retry-skipped",
    is_flag=True,
    help="Also read again the messages set aside because they could not be read "
    "(see `kithkin status`), after an upgrade say.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the final line.")
@pass_app
def sync(app: App, backfill: bool, retry_skipped: bool, quiet: bool) -> None:
    """Read new mail headers (read-only) and log mail exchanged with your contacts.

    Only headers are read, with EXAMINE and BODY.PEEK: nothing on the server changes, no
    message is marked as read. Mail that involves none of your contacts is skipped and
    nothing of it is stored. Safe to interrupt: the next run resumes where this one stopped.

    Past mail of contacts added since the last sync is found automatically; --backfill looks
    again for everyone (after changing [me] addresses, say). The address books of [contacts]
    sources are read first (only the files changed since).

    A message that cannot be read (the server fails to send it, or reading it fails) never
    stops the mail after it: it is set aside by folder and number, listed by `kithkin
    status`, and read again with --retry-skipped.

    The [calendar] sources that changed are read first (see `kithkin calendar read`).

    A folder that cannot be read (one in [imap] folders that the server does not have, say)
    is named in one line on stderr, the other folders are still synced, and the exit status
    is 2 for a configured folder that does not exist, 1 for any other.
    """
    if app.config.contacts.sources:
        reports = read_sources(app)  # first: mail of people new on a card is matched
        echo_reports([r for r in reports if not quiet or r.problems or r.error], every=False)
    meetings = read_calendars(app)  # [calendar] sources that changed, before the mailbox
    if meetings is not None and not quiet:
        click.echo(f"Calendar: {meetings.summary()}")
    progress: TerminalProgress | LineProgress | None
    if quiet:
        progress = None
    elif sys.stderr.isatty():
        progress = TerminalProgress()
    else:
        progress = LineProgress()
    try:
        results = run_sync(
            app, backfill_all=backfill, retry_set_aside=retry_skipped, progress=progress
        )
    finally:
        if progress is not None:
            progress.close()
    errors = 0
    missing = False
    for result in results:
        name = result.mailbox.name
        failed = f"kithkin: error: {name}: " if name else "kithkin: error: "
        if result.report is None:
            click.echo(failed + clean_line(result.error or ""), err=True)
            errors += 1
            continue
        click.echo(f"Synced{' ' + name if name else ''}: {clean_line(result.report.summary())}")
        for error in result.report.errors:
            click.echo(failed + clean_line(error), err=True)
            errors += 1
        missing = missing or any(folder.missing for folder in result.report.folders)
    if errors:
        sys.exit(2 if missing else MailboxError.exit_code)


@click.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option("--limit", type=int, default=0, help="Show only the newest N.")
@pass_app
def interactions(app: App, name: str | None, as_json: bool, limit: int) -> None:
    """List logged interactions, newest first; all of them or one person's.

    NAME is a name, an unambiguous prefix, or an address. Emails are synced; calls,
    meetings and other entries are the ones you logged with `kithkin log` (remove one with
    `kithkin unlog ID`).
    """
    contact_id = book.resolve_contact(app.store, name).id if name else None
    rows = app.store.interactions.list(contact_id, limit=limit)
    if as_json:
        keys = ("id", "contact", "date", "kind", "direction", "message_id", "subject", "note")
        print_json([{key: row[key] for key in keys} for row in rows])
        return
    if not rows:
        click.echo("Nothing logged yet." if not name else "Nothing logged with them yet.")
        return
    for row in sanitised(rows):
        what = {"in": "<- email", "out": "-> email"}.get(row["direction"] or "", row["kind"])
        text = row["subject"] or row["note"] or ""
        click.echo(f"#{row['id']:<6} {row['date'][:10]}  {what:<8}  {row['contact']:<20}  {text}")


def register(group: click.Group) -> None:
    group.add_command(sync)
    group.add_command(interactions)
