"""`kithkin contacts ...`: the contact book on the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kithkin.daemon import book
from kithkin.daemon.app import App
from kithkin.daemon.cli.output import pass_app, print_json, sanitised
from kithkin.daemon.cli.sources import source_origins, sources
from kithkin.daemon.core.dates import parse_birthday, parse_date, parse_days, parse_lead
from kithkin.daemon.core.records import Contact
from kithkin.daemon.errors import UsageError
from kithkin.daemon.sources.wording import removed_line
from kithkin.parsers.contacts import unsupported_format
from kithkin.parsers.text import clean_line

EVERY_HELP = (
    "How often you want to be in touch: 30d, 3w, 2mo (30 days), 1y; days, weeks, months or "
    "years (`5m` is refused: write 5mo)."
)
DUPLICATE_HELP = (
    "Allow a name another contact has (case and accents aside); commands then tell them apart "
    "by address."
)


@click.group()
def contacts() -> None:
    """The people Kithkin keeps track of. Nobody else's mail is ever stored."""


def _every(value: str | None) -> int | None:
    return parse_days(value) if value else None


@contacts.command("add")
@click.argument("name")
@click.option(
    "--email",
    "emails",
    multiple=True,
    required=True,
    metavar="ADDRESS",
    help="An address of theirs; repeat for several.",
)
@click.option("--every", metavar="DURATION", help=EVERY_HELP)
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="A tag; repeat for several.")
@click.option("--birthday", metavar="DATE", help="YYYY-MM-DD, or --MM-DD when the year is unknown.")
@click.option("--nickname", metavar="NAME", help="What you call them; commands find them by it.")
@click.option("--allow-duplicate", is_flag=True, help=DUPLICATE_HELP)
@pass_app
def add(
    app: App,
    name: str,
    emails: tuple[str, ...],
    every: str | None,
    tags: tuple[str, ...],
    birthday: str | None,
    nickname: str | None,
    allow_duplicate: bool,
) -> None:
    """Add a person. Their past mail is logged on the next `kithkin sync`.

    A name another contact has already (`Jose Garcia` beside `José García`) is refused
    unless --allow-duplicate.

    \b
    Example:
      kithkin contacts add "Ada Lovelace" --email ada@example.org --every 30d --tag friends
    """
    contact = book.add_contact(
        app.store,
        name,
        emails,
        every_days=_every(every),
        tags=tags,
        birthday=parse_birthday(birthday) if birthday else None,
        nickname=nickname,
        allow_duplicate=allow_duplicate,
        now=app.clock(),
    )
    click.echo(f"Added {contact.name} <{', '.join(contact.emails)}>")


@contacts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--allow-duplicate",
    is_flag=True,
    help="Add an entry whose addresses are new even when a contact has its name.",
)
@pass_app
def import_(app: App, file: Path, allow_duplicate: bool) -> None:
    """Import a vCard (.vcf, 2.1/3.0/4.0) or CSV file (Google Contacts or any CSV with
    name and email columns).

    People are matched by email address: importing the same file again changes nothing, and
    nothing you edited in Kithkin is overwritten. An entry whose addresses are all new but
    whose name a contact has (case and accents aside) is not added: it is listed, and
    --allow-duplicate adds it as another person. Entries that cannot be read are listed with
    their line numbers; the rest is imported. A value that cannot be read (a birthday that is
    not a date) is a warning: the entry is imported without it. Exit status 1 if any entry
    was skipped.
    """
    shown = clean_line(str(file))  # a file name can hold anything too
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UsageError(f"{shown}: cannot read: {exc.strerror}") from None
    unsupported = unsupported_format(data)
    if unsupported is not None:  # a workbook renamed .csv: say so, not a page of noise
        raise UsageError(f"{shown}: {unsupported}")
    report = book.import_contacts(app.store, data, allow_duplicate=allow_duplicate, now=app.clock())
    for problem in report.problems:
        warning = "warning: " if problem.warning else ""
        click.echo(f"{shown}:{problem.line}: {warning}{clean_line(problem.message)}", err=True)
    counts = (
        f"Imported {clean_line(file.name)}: {len(report.added)} added, "
        f"{len(report.updated)} updated, {report.unchanged} unchanged, {report.skipped} skipped"
    )
    if report.warnings:
        counts += f"; {report.warnings} warning" + ("s" if report.warnings > 1 else "")
    click.echo(counts)
    if report.skipped:
        raise SystemExit(1)


@contacts.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_app
def list_(app: App, as_json: bool) -> None:
    """List every contact with addresses, cadence, tags and birthday, and where a contact
    from an address book ([contacts] sources) was removed from it."""
    people = app.store.contacts.all()
    origins = source_origins(app)
    if as_json:
        print_json([{**contact.as_json(), **origins.get(contact.id, {})} for contact in people])
        return
    if not people:
        click.echo("No contacts yet. Add one with `kithkin contacts add NAME --email ADDRESS`.")
        return
    people = sanitised(people)
    width = max(len(contact.name) for contact in people)
    for contact in people:
        line = f"{contact.name:<{width}}  {describe(contact)}"
        origin = origins.get(contact.id, {})
        if "removed_at" in origin:
            day = origin["removed_at"][:10]
            line += "  " + sanitised(removed_line(contact.name, origin["source"], day))
        click.echo(line)


def describe(contact: Contact) -> str:
    parts = [", ".join(contact.emails)]
    if contact.nickname:
        parts.append(f"nickname {contact.nickname}")
    if contact.every_days:
        parts.append(f"every {contact.every_days}d")
    if contact.tags:
        parts.append("tags: " + ", ".join(contact.tags))
    if contact.birthday:
        parts.append(f"birthday {contact.birthday}")
    if contact.remind_days is not None:
        ahead = f"{contact.remind_days}d before" if contact.remind_days else "on the day"
        parts.append(f"remind {ahead}")
    if contact.muted:
        parts.append("muted")
    elif contact.snoozed_until:
        parts.append(f"snoozed until {contact.snoozed_until}")
    return "  ".join(parts)


@contacts.command("edit")
@click.argument("name")
@click.option("--name", "new_name", help="Rename (to a name another has: --allow-duplicate).")
@click.option("--add-email", "add_emails", multiple=True, metavar="ADDRESS")
@click.option("--remove-email", "remove_emails", multiple=True, metavar="ADDRESS")
@click.option("--every", metavar="DURATION", help="Set the cadence: 30d, 3w, 2mo, 1y.")
@click.option("--no-every", is_flag=True, help="Forget the cadence; learn it from history.")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Add a tag.")
@click.option("--untag", "untags", multiple=True, metavar="TAG", help="Remove a tag.")
@click.option("--birthday", metavar="DATE", help="YYYY-MM-DD or --MM-DD.")
@click.option("--no-birthday", is_flag=True, help="Remove the birthday.")
@click.option("--nickname", metavar="NAME", help="Set what you call them.")
@click.option("--no-nickname", is_flag=True, help="Remove the nickname.")
@click.option(
    "--remind",
    metavar="DURATION",
    help="How long before their birthday the summary mentions it: 3d, 2w; 0d for the week of "
    "it only (default: [analysis] birthday_days).",
)
@click.option("--no-remind", is_flag=True, help="Back to [analysis] birthday_days.")
@click.option("--allow-duplicate", is_flag=True, help=DUPLICATE_HELP)
@pass_app
def edit(
    app: App,
    name: str,
    new_name: str | None,
    add_emails: tuple[str, ...],
    remove_emails: tuple[str, ...],
    every: str | None,
    no_every: bool,
    tags: tuple[str, ...],
    untags: tuple[str, ...],
    birthday: str | None,
    no_birthday: bool,
    nickname: str | None,
    no_nickname: bool,
    remind: str | None,
    no_remind: bool,
    allow_duplicate: bool,
) -> None:
    """Change a contact. NAME is a name (case and accents aside), a nickname, a first name,
    an unambiguous start of a name, or one of their addresses (which tells two people of the
    same name apart).

    \b
    Example:
      kithkin contacts edit ada --add-email ada@work.example --every 3w
      kithkin contacts edit ada --remind 3d
    """
    if every and no_every or birthday and no_birthday or remind and no_remind:
        raise UsageError("give a value or its --no- option, not both")
    if nickname and no_nickname:
        raise UsageError("give a value or its --no- option, not both")
    contact = book.resolve_contact(app.store, name)
    renamed = book.clean_name(new_name) if new_name is not None else None
    if renamed is not None and not allow_duplicate:
        book.refuse_duplicate(app.store, renamed, contact.id)
    # An older version may have stored an address uncleaned; it can still be removed.
    stored = {clean_line(address): address for address in contact.emails}
    removed = [stored.get(address, address) for address in book.normalise_emails(remove_emails)]
    unknown = [address for address in removed if address not in contact.emails]
    if unknown:
        raise UsageError(f"{sanitised(contact.name)} has no address {unknown[0]}")
    with app.store.atomic():
        app.store.contacts.update(
            contact.id,
            name=renamed,
            add_emails=book.normalise_emails(add_emails),
            remove_emails=removed,
            every_days=None if no_every else _every(every) if every else False,
            add_tags=book.clean_tags(tags),
            remove_tags=book.clean_tags(untags),
            birthday=None if no_birthday else parse_birthday(birthday) if birthday else False,
            remind_days=None if no_remind else parse_lead(remind) if remind else False,
            nickname=None if no_nickname else book.clean_name(nickname) if nickname else False,
            now=app.clock(),
        )
    updated = sanitised(app.store.contacts.get(contact.id))
    click.echo(f"{updated.name}  {describe(updated)}")


@contacts.command("forget")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def forget(app: App, name: str, yes: bool) -> None:
    """Delete a contact and every interaction logged with them."""
    contact = book.resolve_contact(app.store, name)
    shown = sanitised(contact.name)
    if not yes and sys.stdin.isatty():
        click.confirm(f"Forget {shown} and everything logged with them?", abort=True)
    origin = app.store.contact_sources.origin(contact.id)
    removed = book.forget(app.store, contact)
    click.echo(f"Forgot {shown} and {removed} logged interaction(s).")
    if origin is not None and origin.removed_at is None:
        click.echo(
            f"Their card is still in {sanitised(app.config.contacts.shown(origin.source))}: "
            "it is read again, as a new contact with no history, unless you delete it there."
        )


@contacts.command("snooze")
@click.argument("name")
@click.option("--until", "until", required=True, metavar="DATE", help="YYYY-MM-DD.")
@pass_app
def snooze(app: App, name: str, until: str) -> None:
    """Leave someone out of the summary until a date."""
    contact = book.resolve_contact(app.store, name)
    day = parse_date(until)
    with app.store.atomic():
        app.store.contacts.set_attention(contact.id, snoozed_until=day.isoformat())
    click.echo(f"Snoozed {sanitised(contact.name)} until {day.isoformat()}.")


@contacts.command("mute")
@click.argument("name")
@pass_app
def mute(app: App, name: str) -> None:
    """Leave someone out of every summary until `unmute`. Their mail is still logged."""
    contact = book.resolve_contact(app.store, name)
    with app.store.atomic():
        app.store.contacts.set_attention(contact.id, muted=True)
    click.echo(f"Muted {sanitised(contact.name)}.")


@contacts.command("unmute")
@click.argument("name")
@pass_app
def unmute(app: App, name: str) -> None:
    """Undo `mute` and any snooze."""
    contact = book.resolve_contact(app.store, name)
    with app.store.atomic():
        app.store.contacts.set_attention(contact.id, muted=False, snoozed_until=None)
    click.echo(f"Unmuted {sanitised(contact.name)}.")


contacts.add_command(sources)


def register(group: click.Group) -> None:
    group.add_command(contacts)
