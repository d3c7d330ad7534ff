"""`kithkin suggest`: the people you correspond with who are not contacts yet, read from
your Sent folder and INBOX into memory. Nothing is written unless you add someone."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time
from pathlib import Path

import click

from kithkin.daemon import book
from kithkin.daemon.app import App
from kithkin.daemon.cli.output import pass_app, print_json, sanitised
from kithkin.daemon.cli.progress import LineProgress, TerminalProgress
from kithkin.daemon.cli.sync import open_mailbox
from kithkin.daemon.core.dates import local_date, parse_date
from kithkin.daemon.core.lookback import lookback_start
from kithkin.daemon.core.suggestions import Correspondence, Suggestion
from kithkin.daemon.errors import UsageError
from kithkin.daemon.store.readonly import open_read_only
from kithkin.daemon.suggest.reading import ReadReport, read_correspondence
from kithkin.parsers.text import clean_line

MAX_ANSWER = 4096  # characters of one answer read at a prompt
NAME_COLUMN = 28

Ask = Callable[[str], str]  # prompt -> the answer; EOFError at the end of input
Say = Callable[[str], None]
Add = Callable[[Suggestion, str], str]  # (suggestion, name) -> what was done; UsageError


@click.command()
@click.option(
    "--since",
    default="2y",
    show_default=True,
    metavar="PERIOD",
    help="How far back to read: 30d, 8w, 6mo, 2y.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    metavar="N",
    default=30,
    show_default=True,
    help="Show at most this many people.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option(
    "--add", "ask", is_flag=True, help="Ask about each person whether to add them (a terminal)."
)
@click.option(
    "--add-top",
    type=click.IntRange(1, 1000),
    metavar="N",
    help="Add the first N people as contacts without asking.",
)
@click.option("--as-of", "as_of", metavar="DATE", help="Rank as of this day (YYYY-MM-DD).")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
@pass_app
def suggest(
    app: App,
    since: str,
    limit: int,
    as_json: bool,
    ask: bool,
    add_top: int | None,
    as_of: str | None,
    quiet: bool,
) -> None:
    """Suggest contacts: the people you correspond with, from your own mail.

    Reads the headers of your Sent folder and INBOX (read-only, like `kithkin sync`),
    keeps them in memory only and ranks who you write with: personal mail above mail to
    many, exchanges both ways above mail only you wrote, recent above old. Nothing about
    anyone is written unless you add them. Left out: mailing lists, automatic mail,
    no-reply and role addresses (info@, support@ ...), your own addresses, your contacts,
    and anyone who only ever wrote to you.

    \b
    Examples:
      kithkin suggest                    the top 30 of the last two years
      kithkin suggest --since 6mo --limit 10
      kithkin suggest --add              asks about each: y, n, e (edit the name), q
      kithkin suggest --add-top 5        adds the first five without asking
    """
    if ask and add_top:
        raise UsageError("choose one: --add (asks about each) or --add-top N")
    if as_json and (ask or add_top):
        raise UsageError("--json only lists; leave it out to add people")
    if ask and not sys.stdin.isatty():
        raise UsageError(
            "--add asks about each person and needs a terminal; "
            "use --add-top N to add the first N without asking"
        )
    now = _now(app, as_of)
    start = lookback_start(since, now)
    config = app.config
    mailboxes = config.require_mailboxes()
    addresses, names = known_contacts(config.store_path)
    correspondence = Correspondence(
        now=now, start=start, me=config.me, contacts=addresses, contact_names=names
    )
    progress: TerminalProgress | LineProgress | None = None
    if not quiet:
        progress = TerminalProgress("counted") if sys.stderr.isatty() else LineProgress("counted")
    report = ReadReport()
    try:
        for imap in mailboxes:  # one tally: a person written to from two mailboxes is one
            with open_mailbox(imap) as mailbox:
                read = read_correspondence(mailbox, correspondence, progress=progress)
            where = f"{imap.name}/" if imap.name else ""
            for folder, count in read.folders.items():
                report.folders[where + folder] = count
            report.unreadable += read.unreadable
            report.unavailable.extend(where + problem for problem in read.unavailable)
    finally:
        if progress is not None:
            progress.close()
    found = correspondence.suggestions(max(limit, add_top or 0))
    if not quiet:
        click.echo(read_line(report, start), err=True)
    if as_json:
        print_json([suggestion.as_json() for suggestion in found[:limit]])
        return
    day = _day_of(app)
    if not found:
        click.echo(f"Nobody to suggest from your mail since {start:%Y-%m-%d}.")
        return
    if add_top:
        add_first(app, found[:add_top], add_top, day)
    elif ask:
        added = ask_each(found[:limit], ask=_ask, say=click.echo, add=_adder(app), day=day)
        click.echo(f"Added {added} contact(s)." + (_LATER if added else ""))
    else:
        print_suggestions(found[:limit], start, day)


_LATER = " Their past mail is logged on the next `kithkin sync`."


def known_contacts(path: Path) -> tuple[set[str], list[str]]:
    """The contacts' addresses and names, from the store opened read-only (none yet when
    there is no store)."""
    store = open_read_only(path)
    if store is None:
        return set(), []
    try:
        return set(store.contacts.address_book()), [c.name for c in store.contacts.all()]
    finally:
        store.close()


def _now(app: App, as_of: str | None) -> datetime:
    """Now, or the end of `as_of` in the owner's time zone."""
    if not as_of:
        return app.clock()
    day = parse_date(as_of)
    return datetime.combine(day, time(23, 59, 59), app.config.owner_zone()).astimezone(UTC)


def _day_of(app: App) -> Callable[[datetime], str]:
    zone = app.config.owner_zone()
    return lambda moment: local_date(moment, zone).isoformat()


def read_line(report: ReadReport, start: datetime) -> str:
    folders = ", ".join(clean_line(name) for name in report.folders) or "no folder"
    line = f"Read {report.messages} message(s) since {start:%Y-%m-%d} in {folders}"
    if report.unreadable:
        line += f"; {report.unreadable} could not be read"
    for problem in report.unavailable:
        line += f"; not opened: {clean_line(problem)}"
    return line + "."


def print_suggestions(found: Sequence[Suggestion], start: datetime, day: Callable[[datetime], str],
                      ) -> None:  # fmt: skip
    shown = sanitised(list(found))
    width = min(NAME_COLUMN, max(len(s.name) for s in shown))
    column = max(len(s.emails[0]) for s in shown)
    click.echo(f"People you correspond with, not contacts yet (mail since {start:%Y-%m-%d}):\n")
    click.echo(f"  #  {'name':<{width}}  {'address':<{column}}  to them  from them  last")
    for number, s in enumerate(shown, 1):
        click.echo(
            f"{number:>3}  {_cut(s.name, width):<{width}}  {s.emails[0]:<{column}}  "
            f"{s.sent:>7}  {s.received:>9}  {day(s.last_exchange)}"
        )
        for other in s.emails[1:]:
            click.echo(f"     {'':<{width}}  {other}")
    click.echo(
        "\nAdd them: `kithkin suggest --add` asks about each, "
        "`kithkin suggest --add-top N` adds the first N."
    )


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def describe(suggestion: Suggestion, day: Callable[[datetime], str]) -> str:
    s = sanitised(suggestion)
    return (
        f"{s.name} <{', '.join(s.emails)}>: {s.sent} to them, {s.received} from them, "
        f"last {day(s.last_exchange)}"
    )


def ask_each(
    found: Sequence[Suggestion], *, ask: Ask, say: Say, add: Add, day: Callable[[datetime], str]
) -> int:
    """Ask about each suggestion in turn: y adds them, n passes, e asks for another name
    first, q (or the end of input) stops. Returns how many were added."""
    added = 0
    for number, suggestion in enumerate(found, 1):
        say(f"\n{number}/{len(found)}  {describe(suggestion, day)}")
        while True:
            try:
                answer = ask("Add? [y]es, [n]o, [e]dit the name, [q]uit: ").strip().lower()
                if answer in ("q", "quit"):
                    return added
                if answer in ("n", "no"):
                    break
                if answer in ("y", "yes"):
                    name = suggestion.name
                elif answer in ("e", "edit"):
                    typed = ask(f"Name [{sanitised(suggestion.name)}]: ").strip()
                    name = typed or suggestion.name
                else:
                    say("Please answer y, n, e or q.")
                    continue
            except EOFError:
                return added
            try:
                say(add(suggestion, name))
            except UsageError as exc:
                say(f"Not added: {clean_line(str(exc))}")
                continue
            added += 1
            break
    return added


def add_first(app: App, found: Sequence[Suggestion], wanted: int, day: Callable[[datetime], str],
              ) -> None:  # fmt: skip
    """--add-top: add each without asking; one that cannot be is named, the rest added."""
    add = _adder(app)
    failed = 0
    for suggestion in found:
        try:
            click.echo(add(suggestion, suggestion.name))
        except UsageError as exc:
            failed += 1
            shown = sanitised(suggestion.name)
            click.echo(f"kithkin: error: not added: {shown}: {clean_line(str(exc))}", err=True)
    if len(found) < wanted:
        click.echo(f"Only {len(found)} people to suggest.", err=True)
    added = len(found) - failed
    click.echo(f"Added {added} contact(s)." + (_LATER if added else ""))
    if failed:
        raise SystemExit(1)


def _adder(app: App) -> Add:
    def add(suggestion: Suggestion, name: str) -> str:
        contact = book.add_contact(app.store, name, suggestion.emails, now=app.clock())
        shown = sanitised(contact)
        return f"Added {shown.name} <{', '.join(shown.emails)}>"

    return add


def _ask(prompt: str) -> str:
    click.echo(prompt, nl=False)
    line = sys.stdin.readline(MAX_ANSWER)
    if not line:
        raise EOFError
    return clean_line(line)


def register(group: click.Group) -> None:
    group.add_command(suggest)
