"""`kithkin contacts sources`, and the read of `[contacts] sources` that `kithkin sync` does
first: what changed on stdout, each problem on stderr as `file:line: message`."""

from __future__ import annotations

import click

from kithkin.daemon.app import App
from kithkin.daemon.cli.output import pass_app
from kithkin.daemon.core.dates import parse_utc_iso
from kithkin.daemon.errors import UsageError
from kithkin.daemon.sources import SourceReport, refresh_sources
from kithkin.daemon.sources.wording import change_line
from kithkin.parsers.text import clean_line


def read_sources(app: App, *, full: bool = False, adopt: bool = False) -> list[SourceReport]:
    return refresh_sources(
        app.store, app.config.contacts, now=app.clock(), today=app.today(), full=full, adopt=adopt
    )


def source_origins(app: App) -> dict[int, dict[str, str]]:
    """contact id -> {"source"} for contacts from [contacts] sources, and "removed_at" (the
    owner's day) for those whose card was removed."""
    tracked = app.store.contact_sources.origins()
    if not tracked:
        return {}
    zone = app.config.owner_zone()
    found: dict[int, dict[str, str]] = {}
    for contact_id, card in tracked.items():
        found[contact_id] = {"source": app.config.contacts.shown(card.source)}
        if card.removed_at:
            removed = parse_utc_iso(card.removed_at).astimezone(zone).date().isoformat()
            found[contact_id]["removed_at"] = removed
    return found


def echo_reports(reports: list[SourceReport], *, every: bool) -> None:
    """Problems on stderr; a line per source (`every`), or per source that changed."""
    for report in reports:
        for note in report.notes if every else ():
            click.echo(clean_line(note), err=True)
        for problem in report.problems:
            click.echo(clean_line(str(problem)), err=True)
        if every or report.changed or report.problems or report.error_is_new:
            click.echo(clean_line(change_line(report)))


@click.command("sources")
@click.option(
    "--adopt",
    is_flag=True,
    help="Let a card take over the contact added in Kithkin (or imported) that has its "
    "addresses: the card's name, tags, birthday and note apply from then on; history, "
    "cadence and your own tags and notes are kept.",
)
@pass_app
def sources(app: App, adopt: bool) -> None:
    """Read the address books of [contacts] sources now and say what changed.

    Every file is read, changed or not (the service and `kithkin sync` read only the files
    that changed since). A card removed from its address book leaves its contact marked
    removed, with its history, until `kithkin contacts forget NAME`. Exit status 1 if a
    source or a card could not be read; the rest is read all the same.

    \b
    Example, in the config file:
      [contacts]
      sources = ["~/.contacts/friends/", "~/family.vcf"]
    """
    if not app.config.contacts.sources:
        raise UsageError(
            f"no [contacts] sources in {app.config.source}; "
            'see "Address books kept elsewhere" in the README'
        )
    reports = read_sources(app, full=True, adopt=adopt)
    echo_reports(reports, every=True)
    if any(report.error or report.problems for report in reports):
        raise SystemExit(1)
