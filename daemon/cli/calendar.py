"""`kithkin calendar read`; the calendar step of `kithkin sync`; the calendar lines of
`kithkin status`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from kithkin.daemon.app import App
from kithkin.daemon.cli.output import pass_app
from kithkin.daemon.errors import ConfigError, UsageError
from kithkin.parsers.text import clean_line

if TYPE_CHECKING:
    from kithkin.daemon.calendar.reader import CalendarReport


def warn(line: str) -> None:
    click.echo(f"kithkin: warning: {clean_line(line)}", err=True)


def read_calendars(app: App, *, force: bool = False) -> CalendarReport | None:
    """Read the changed sources (all with `force`); None: no [calendar] sources."""
    config = app.config
    if not config.calendar.sources:
        return None
    if not config.me:
        raise ConfigError(f"{config.source}: [me] addresses is missing (who you are in events)")
    from kithkin.daemon.calendar.reader import read_calendars  # icalendar: only when needed

    return read_calendars(
        app.store,
        config.calendar,
        config.me,
        config.owner_zone(),
        app.clock(),
        force=force,
        warn=warn,
    )


@click.group()
def calendar() -> None:
    """Meetings from your calendar files: [calendar] sources in the config, .ics files or
    vdirs (directories of .ics files, as vdirsyncer writes them from CalDAV).

    A past event that you and a contact attended (organised, or invited and not declined)
    is logged as a meeting with them, once per occurrence of a repeating event. Events
    without your contacts leave nothing behind. `kithkin sync` and the service read the
    sources too, whenever their files changed.
    """


@calendar.command("read")
@click.option("--all", "read_all", is_flag=True, help="Read every source, changed or not.")
@pass_app
def read(app: App, read_all: bool) -> None:
    """Read the calendar sources that changed since they were last read, and log their
    meetings with your contacts (nothing twice).

    \b
    Example config:
      [calendar]
      sources = ["~/.calendars/work/", "~/Downloads/team.ics"]
    """
    report = read_calendars(app, force=read_all)
    if report is None:
        raise UsageError(
            f"{app.config.source}: no [calendar] sources; add e.g. "
            'sources = ["~/.calendars/work/"] under [calendar]'
        )
    for result in report.sources:
        if not result.read:
            click.echo(f"{clean_line(str(result.source))}: unchanged")
            continue
        line = f"{clean_line(str(result.source))}: {result.files} file(s) read"
        line += f", {result.logged} meeting(s) logged"
        if result.unreadable:
            line += f", {result.unreadable} could not be read"
        click.echo(line + (f" ({clean_line(result.problem)})" if result.problem else ""))
    click.echo(f"Calendar: {report.summary()}")


def status_data(app: App) -> list[dict[str, Any]]:
    """What `kithkin status` shows of each configured source."""
    from kithkin.daemon.calendar.reader import source_state

    found = []
    for source in app.config.calendar.sources:
        state = source_state(app.store, source)
        keys = ("read_at", "files", "logged_total", "unreadable", "left_out", "problem")
        found.append({"source": str(source), **{key: state.get(key) for key in keys}})
    return found


def status_lines(items: list[dict[str, Any]]) -> list[str]:
    lines = []
    for item in items:
        if not item["read_at"]:
            lines.append(f"Calendar {item['source']}: not read yet")
            continue
        line = (
            f"Calendar {item['source']}: read {item['read_at']}, {item['files']} file(s), "
            f"{item['logged_total']} meeting(s) logged"
        )
        if item["problem"]:
            line += f"; {item['problem']}"
        if item["unreadable"]:
            line += f"; {item['unreadable']} file(s) could not be read"
            line += " (`kithkin calendar read --all` names them)"
        if item["left_out"]:
            line += f"; {item['left_out']} event(s) left out"
        lines.append(line)
    return lines


def register(group: click.Group) -> None:
    group.add_command(calendar)
