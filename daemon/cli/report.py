"""`kithkin report` and `kithkin summary`."""

from __future__ import annotations

from datetime import date
from email import policy
from pathlib import Path

import click

from kithkin.daemon.app import App
from kithkin.daemon.cli.files import private_directory, write_into
from kithkin.daemon.cli.output import pass_app, print_json, sanitised
from kithkin.daemon.core.dates import parse_date
from kithkin.daemon.core.findings import Report
from kithkin.daemon.core.wording import ago
from kithkin.daemon.errors import UsageError
from kithkin.daemon.steering.tokens import new_token
from kithkin.daemon.summary import weekly
from kithkin.daemon.summary.inputs import report_for
from kithkin.daemon.summary.render import build_message

AS_OF_HELP = "Compute everything as of this day (YYYY-MM-DD) instead of today."


def as_of_day(app: App, text: str | None) -> date:
    return parse_date(text) if text else app.today()


@click.command()
@click.option("--as-of", "as_of", metavar="DATE", help=AS_OF_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@pass_app
def report(app: App, as_of: str | None, as_json: bool) -> None:
    """Who is fading, who is waiting for your reply, who is not answering, and birthdays.

    \b
    Fading: longer out of touch than usual. The rhythm is the one you set with
    `contacts add/edit --every`, or one learned from the gaps between your days with
    contact; fading starts past the overdue gap (longer than nine in ten of your gaps,
    and at least 1.5 times the typical one), times [analysis] fading_ratio.
    """
    result = report_for(app.store, as_of_day(app, as_of), app.config.analysis)
    if as_json:
        print_json(result.as_json())
    elif result.is_empty and not result.never_in_touch and not app.store.contacts.all():
        click.echo(f"As of {result.as_of.isoformat()}\n{NO_CONTACTS}")
    else:
        print_report(sanitised(result))


NO_CONTACTS = """\
No contacts yet, so there is nothing to report. Add the people you want to keep up with:
  kithkin contacts add NAME --email ADDRESS
  kithkin contacts import FILE    (a vCard or CSV file, e.g. exported from your phone)
  kithkin suggest                 (people you exchange mail with, to choose from)"""


def print_report(result: Report) -> None:
    click.echo(f"As of {result.as_of.isoformat()}")
    if result.is_empty:
        click.echo("All good: nobody is fading, nobody is waiting for you.")
    if result.fading:
        click.echo("\nFading (time to write):")
        for item in result.fading:
            click.echo(
                f"  {item.contact.name}: last in touch {ago(item.days_since)} "
                f"({item.overdue_ratio:.1f}x the overdue gap)"
            )
            click.echo(f"      {item.why()}")
    if result.awaiting_reply:
        click.echo("\nWaiting for your reply:")
        for waiting in result.awaiting_reply:
            subject = f': "{waiting.subject}"' if waiting.subject else ""
            click.echo(f"  {waiting.contact.name}: {waiting.days_waiting} days{subject}")
    if result.one_sided:
        click.echo("\nNot answering:")
        for quiet in result.one_sided:
            click.echo(
                f"  {quiet.contact.name}: your last {quiet.unanswered} messages since "
                f"{quiet.first_unanswered[:10]} got no reply"
            )
    if result.birthdays:
        click.echo("\nBirthdays:")
        for birthday in result.birthdays:
            turning = f", turns {birthday.turning}" if birthday.turning else ""
            click.echo(f"  {birthday.contact.name}: {birthday.on:%a %d %b}{turning}")
    if result.never_in_touch:
        names = ", ".join(contact.name for contact in result.never_in_touch)
        click.echo(f"\nNothing logged yet with: {names}")


@click.command()
@click.option(
    "--preview",
    "preview_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write summary.txt, summary.html and summary.eml into DIR (into a new private "
    "directory inside it if DIR is shared with other users).",
)
@click.option("--send", is_flag=True, help="Deliver it now ([summary] delivery).")
@click.option("--force", is_flag=True, help="With --send: send even if --send sent one this week.")
@click.option("--as-of", "as_of", metavar="DATE", help=AS_OF_HELP)
@pass_app
def summary(app: App, preview_dir: Path | None, send: bool, force: bool, as_of: str | None) -> None:
    """Render the weekly summary: preview it in a folder, or send it to yourself.

    It goes only to you ([summary] to, one of your [me] addresses), by SMTP or, with
    `delivery = "imap"`, straight into your INBOX. No images, no tracking, no links except
    mailto:. Templates can be overridden in $XDG_CONFIG_HOME/kithkin/templates/.

    `--send` sends one a week (the week of --as-of, in your time zone; the scheduled one
    of `kithkin run` is counted apart): run again, it says when it was sent and sends
    nothing, unless --force.
    """
    if bool(preview_dir) == send:
        raise UsageError("choose one: --preview DIR or --send")
    if force and not send:
        raise UsageError("--force goes with --send")
    day = as_of_day(app, as_of)
    if send:
        outcome = weekly.send_summary(
            app.store, app.config, as_of=day, now=app.clock(), force=force
        )
        if outcome.status == "already-sent" and outcome.sent_at is not None:
            when = outcome.sent_at.astimezone(app.config.owner_zone())
            click.echo(
                f"A summary was already sent this week, on {when:%Y-%m-%d at %H:%M}: "
                "nothing sent (--force sends another)."
            )
        elif outcome.status == "empty":
            click.echo("Nothing to report and send_when_empty = false: nothing sent.")
        else:
            click.echo(f'Sent "{outcome.subject}" to {app.config.summary_recipient()}.')
        return
    rendered, _extras = weekly.prepare(app.store, app.config, day, new_token())
    message = build_message(rendered, owner=app.config.summary_recipient(), now=app.clock())
    assert preview_dir is not None
    files: dict[str, str | bytes] = {
        "summary.txt": rendered.text,
        "summary.html": rendered.html,
        "summary.eml": message.as_bytes(policy=policy.SMTP),
    }
    # The preview holds names and subjects: private files, never in a directory others share.
    with private_directory(preview_dir, prefix="kithkin-preview-") as target:
        for name, content in files.items():
            write_into(target.fd, name, content, shown_as=target.path / name)
    click.echo(rendered.text)
    if target.inside_shared:
        click.echo(
            f"{preview_dir} is shared with other users; wrote the preview into {target.path}/"
        )
    click.echo(f"HTML preview: {(target.path / 'summary.html').absolute()}")


def register(group: click.Group) -> None:
    group.add_command(report)
    group.add_command(summary)
