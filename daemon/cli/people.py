"""`kithkin log`, `unlog`, `note` and `show`: the relationship beyond email."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from kithkin.daemon import book
from kithkin.daemon.app import App
from kithkin.daemon.cli.output import pass_app, print_json, sanitised
from kithkin.daemon.core.analysis import WINDOW_DAYS, cadence_for
from kithkin.daemon.core.dates import day_number, parse_date
from kithkin.daemon.core.records import Contact
from kithkin.daemon.core.when import parse_day
from kithkin.daemon.core.wording import ago
from kithkin.daemon.errors import UsageError
from kithkin.parsers.text import clean_line

KINDS = ("call", "meeting", "message", "other")
DATE_HELP = (
    "When: YYYY-MM-DD, today, yesterday, -3d, -2w, or a weekday (the latest one up to today; "
    "`monday` on a Monday is today). Default: today."
)
FUTURE_HELP = "Allow a --date after today."


def _day(app: App, when: str | None, future: bool) -> date:
    """The day of `--date`, counted from the owner's today (the app's clock, their zone)."""
    if when is None:
        return app.today()
    return parse_day(when, app.today(), future=future, future_hint="add --future to use it")


@click.command("log")
@click.argument("name")
@click.option("--kind", type=click.Choice(KINDS), default="call", show_default=True)
@click.option("--date", "when", metavar="DATE", help=DATE_HELP)
@click.option("--future", is_flag=True, help=FUTURE_HELP)
@click.option("--note", help="A few words about it.")
@pass_app
def log_(app: App, name: str, kind: str, when: str | None, future: bool, note: str | None) -> None:
    """Log a call, meeting or other contact by hand. It counts exactly like an email:
    for the cadence, for fading, and as an answer to a message waiting for your reply.

    NAME is a name (case and accents aside: `jose` is José), a nickname, a first name, the
    start of a name, or one of their addresses.

    \b
    Example:
      kithkin log ada --kind meeting --date 2026-11-20 --note "coffee at the museum"
      kithkin log jose --date yesterday
    """
    contact = book.resolve_contact(app.store, name)
    day = _day(app, when, future)
    book.log_manual(app.store, contact, kind, day, note=clean_line(note) if note else None)
    click.echo(f"Logged a {kind} with {sanitised(contact.name)} on {day.isoformat()}.")


@click.command()
@click.argument("interaction_id", metavar="ID", type=int)
@pass_app
def unlog(app: App, interaction_id: int) -> None:
    """Remove an interaction you logged by hand (IDs: `kithkin interactions NAME`).

    Synced emails cannot be removed: the next sync would log them again. Use `contacts
    forget` to drop a person with everything logged about them.
    """
    row = app.store.interactions.get(interaction_id)
    if row is None:
        raise UsageError(f"no interaction with ID {interaction_id}")
    if row["kind"] == "email":
        raise UsageError(
            f"interaction {interaction_id} is a synced email; it would come back with the next "
            "sync (use `kithkin contacts forget NAME` to drop a person entirely)"
        )
    with app.store.atomic():
        app.store.interactions.delete(interaction_id)
    click.echo(f"Removed the {sanitised(row['kind'])} of {sanitised(row['date'][:10])}.")


@click.command()
@click.argument("name")
@click.argument("text", nargs=-1, required=True)
@click.option("--date", "when", metavar="DATE", help=DATE_HELP)
@click.option("--future", is_flag=True, help=FUTURE_HELP)
@pass_app
def note(app: App, name: str, text: tuple[str, ...], when: str | None, future: bool) -> None:
    """Add a dated note about someone ("new job at the museum"). The newest note appears
    next to their name in the summary, so you remember what to write about."""
    contact = book.resolve_contact(app.store, name)
    words = clean_line(" ".join(text))
    if not words:
        raise UsageError("the note is empty")
    day = _day(app, when, future)
    with app.store.atomic():
        app.store.notes.add(contact.id, words, day, app.clock())
    click.echo(f"Noted for {sanitised(contact.name)} ({day.isoformat()}): {words}")


def person_page(app: App, contact: Contact, as_of: date) -> dict[str, Any]:
    store = app.store
    last_day = day_number(as_of)
    days = store.history.days(last_day - WINDOW_DAYS, last_day, [contact.id]).get(contact.id)
    cadence = cadence_for(contact, days, last_day, app.config.analysis.default_cadence_days)
    latest = store.history.latest(last_day).get(contact.id)
    recent = store.interactions.list(contact.id, limit=200, until=as_of)
    subjects = [row["subject"] for row in recent if row["kind"] == "email" and row["subject"]]
    counts = store.interactions.counts(contact.id, as_of)
    return {
        "name": contact.name,
        "emails": list(contact.emails),
        "tags": list(contact.tags),
        "birthday": contact.birthday,
        "remind_days": contact.remind_days,
        "muted": contact.muted,
        "snoozed_until": contact.snoozed_until,
        "cadence": {
            "days": cadence.days,
            "source": cadence.source,
            "overdue_days": cadence.overdue_days,
            "why": cadence.describe(app.config.analysis.fading_ratio),
            "gaps": cadence.gaps,
            "weighted_exchanges": round(days.weighted, 1) if days else 0.0,
            "days_with_contact": days.count if days else 0,
        },
        "last_interaction": latest
        and {
            "date": latest["date"],
            "days_ago": last_day - latest["day"],
            "kind": latest["kind"],
            "direction": latest["direction"],
        },
        "recent_subjects": list(dict.fromkeys(subjects))[:5],
        "interactions": counts,
        "notes": [
            {"date": n["date"], "text": n["text"]}
            for n in store.notes.list(contact.id, until=as_of)
        ],
    }


def duration_before(days: int) -> str:
    """A birthday lead time in words: "on the day", "1 day before", "3 days before"."""
    if days == 0:
        return "on the day"
    return f"{days} day{'s' if days != 1 else ''} before"


def how(kind: str, direction: str | None) -> str:
    if kind == "email":
        return "email from them" if direction == "in" else "email from you"
    return {"call": "a call", "meeting": "a meeting", "message": "a message"}.get(kind, kind)


@click.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.option("--as-of", "as_of", metavar="DATE", help="Compute as of this day.")
@pass_app
def show(app: App, name: str, as_json: bool, as_of: str | None) -> None:
    """Everything about one person: addresses, tags, birthday, the cadence in use and why,
    when you were last in touch and how, recent subjects, and your notes."""
    contact = book.resolve_contact(app.store, name)
    page = sanitised(person_page(app, contact, parse_date(as_of) if as_of else app.today()))
    if as_json:
        print_json(page)
        return
    click.echo(page["name"])
    click.echo(f"  addresses: {', '.join(page['emails'])}")
    if page["tags"]:
        click.echo(f"  tags:      {', '.join(page['tags'])}")
    if page["birthday"]:
        remind = page["remind_days"]
        lead = ""
        if remind is not None:
            lead = f" (reminded {duration_before(remind)})"
        click.echo(f"  birthday:  {page['birthday']}{lead}")
    if page["muted"]:
        click.echo("  muted")
    elif page["snoozed_until"]:
        click.echo(f"  snoozed until {page['snoozed_until']}")
    cadence = page["cadence"]
    click.echo(f"  cadence:   {cadence['why']}")
    if cadence["source"] == "learned" and cadence["days_with_contact"]:
        click.echo(
            f"             {cadence['days_with_contact']} days with contact in two years count "
            f"as {cadence['weighted_exchanges']} (mail to more than 3 people counts less)"
        )
    last = page["last_interaction"]
    if last:
        click.echo(f"  last:      {ago(last['days_ago'])}, {how(last['kind'], last['direction'])}")
    else:
        click.echo("  last:      nothing logged yet")
    counts = page["interactions"]
    if counts:
        click.echo(
            "  logged:    "
            + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items()))
        )
    for subject in page["recent_subjects"]:
        click.echo(f"  subject:   {subject}")
    for item in page["notes"]:
        click.echo(f"  note {item['date']}: {item['text']}")


def register(group: click.Group) -> None:
    for command in (log_, unlog, note, show):
        group.add_command(command)
