"""`kithkin sync` and `kithkin interactions`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from kithkin.daemon import book
from kithkin.daemon.app import App
from kithkin.daemon.cli.output import pass_app, print_json, sanitised
from kithkin.daemon.cli.progress import LineProgress, TerminalProgress
from kithkin.daemon.mail.credentials import get_secret
from kithkin.daemon.mail.session import ImapSession
from kithkin.daemon.steering.policy import reply_policy
from kithkin.daemon.sync import Progress, Sync, SyncReport
from kithkin.parsers.text import clean_line


@contextmanager
def open_mailbox(app: App) -> Iterator[ImapSession]:
    imap = app.config.require_imap()
    mailbox = ImapSession.connect(imap, get_secret(imap))
    try:
        yield mailbox
    finally:
        mailbox.logout()


def run_sync(
    app: App,
    *,
    backfill_all: bool = False,
    retry_set_aside: bool = False,
    progress: Progress | None = None,
) -> SyncReport:
    store = app.store
    with open_mailbox(app) as mailbox:
        engine = Sync(
            mailbox,
            store,
            app.config.me,
            clock=app.clock,
            progress=progress,
            zone=app.config.owner_zone(),
            reply_policy=reply_policy(app.config),
        )
        return engine.run(backfill_all=backfill_all, retry_set_aside=retry_set_aside)


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
    again for everyone (after changing [me] addresses, say).

    A message that cannot be read (the server fails to send it, or reading it fails) never
    stops the mail after it: it is set aside by folder and number, listed by `kithkin
    status`, and read again with --retry-skipped.

    A folder that cannot be read (one in [imap] folders that the server does not have, say)
    is named in one line on stderr, the other folders are still synced, and the exit status
    is 2 for a configured folder that does not exist, 1 for any other.
    """
    progress: TerminalProgress | LineProgress | None
    if quiet:
        progress = None
    elif sys.stderr.isatty():
        progress = TerminalProgress()
    else:
        progress = LineProgress()
    try:
        report = run_sync(
            app, backfill_all=backfill, retry_set_aside=retry_skipped, progress=progress
        )
    finally:
        if progress is not None:
            progress.close()
    click.echo(f"Synced: {clean_line(report.summary())}")
    for error in report.errors:
        click.echo(f"kithkin: error: {clean_line(error)}", err=True)
    if report.errors:
        sys.exit(2 if any(folder.missing for folder in report.folders) else 1)


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
