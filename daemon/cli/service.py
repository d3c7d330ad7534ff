"""`kithkin run` (the service) and `kithkin status`."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import Any

import click

from kithkin.daemon.app import App
from kithkin.daemon.cli.calendar import status_data as calendar_status
from kithkin.daemon.cli.calendar import status_lines as calendar_lines
from kithkin.daemon.cli.output import pass_app, print_json, sanitised
from kithkin.daemon.cli.sources import source_origins
from kithkin.daemon.cli.times import parse_moment, shown, zone_name
from kithkin.daemon.core.dates import utc_iso
from kithkin.daemon.core.timing import next_scheduled
from kithkin.daemon.service import liveness
from kithkin.daemon.service.loop import Service
from kithkin.daemon.sources.wording import removed_line
from kithkin.daemon.steering.journal import shown_reply
from kithkin.daemon.steering.policy import describe_ignored, ignored_counts

REMOVED_SHOWN = 10  # contacts whose card was removed, and files with problems, listed


@click.command()
@pass_app
def run(app: App) -> None:
    """Run as a service: sync every [daemon] poll_interval, send the summary on schedule.

    Meant for systemd (Type=notify; see systemd/ and README). SIGTERM stops after the current
    batch, SIGHUP reloads the config. Logs go to stderr.
    """
    raise SystemExit(Service(app).run())


def status_data(app: App, now: datetime | None = None) -> dict[str, Any]:
    store = app.store
    config = app.config
    summary = config.summary
    zone = config.owner_zone()
    now = now or app.clock()
    last = store.summaries.last_sent()
    records = {key: store.meta.get(key) for key in liveness.KEYS}
    timeout = config.imap.timeout if config.imap else 60.0
    alive = liveness.assess(
        records, now, alive=liveness.kithkin_alive, stale=liveness.stale_after(timeout)
    )
    since = utc_iso(alive.since) if alive and alive.since else None
    return {
        "as_of": utc_iso(now),
        "zone": zone_name(zone, now),
        "folders": [
            ({"mailbox": folder.mailbox} if folder.mailbox else {})
            | {
                "name": folder.name,
                "last_sync_at": folder.last_sync_at,
                "messages_seen": folder.messages_seen,
                "interactions_logged": folder.interactions_logged,
                "last_error": folder.last_error,
            }
            for folder in store.folders.everywhere()
        ],
        "service": {
            "running": alive.running if alive else None,
            "liveness": alive.state if alive else None,  # running, stopped, gone, not responding
            "stopped_at": since if alive and alive.state == "stopped" else None,
            "last_seen_at": since,
            "state": store.meta.get("service.state"),
            "last_poll_at": store.meta.get("service.last_poll_at"),
            "last_result": store.meta.get("service.last_result"),
            "last_error": store.meta.get("service.last_error"),
            "next_poll_at": store.meta.get("service.next_poll_at"),
            "waiting": store.meta.get("service.waiting"),  # "IDLE on INBOX", "polling"
            "failing_mailboxes": json.loads(store.meta.get("service.mailboxes_failing") or "{}"),
        },
        "next_summary_at": utc_iso(next_scheduled(now, summary.weekday, summary.time, zone)),
        "last_summary": {"week": last["week"], "sent_at": last["sent_at"]} if last else None,
        "contacts": len(store.contacts.active()),
        "pending_backfill": len(store.backfill.pending()),
        "set_aside": [record.as_json() for record in store.set_aside.all()],
        "replies": [
            {"received_at": reply["received_at"], **shown_reply(store, reply)}
            for reply in store.replies.recent()
        ],
        "replies_ignored": ignored_counts(store),
        **sources_status(app),
        "calendar": calendar_status(app),
    }


def sources_status(app: App) -> dict[str, Any]:
    """Each configured address book's last read, and the contacts whose card was removed."""
    store = app.store
    counts = store.contact_sources.counts()
    problems = store.contact_sources.problem_files()
    books: list[dict[str, Any]] = []
    for source in app.config.contacts.sources:
        read_at, error = store.contact_sources.last_read(source.key)
        books.append(
            {
                "source": source.shown,
                "cards": counts.get(source.key, 0),
                "read_at": read_at,
                "error": error,
                "problems": {
                    name: list(lines) for name, lines in problems.get(source.key, {}).items()
                },
            }
        )
    origins = source_origins(app)
    removed = [
        {"name": contact.name, **origins[contact.id]}
        for contact in store.contacts.all()
        if "removed_at" in origins.get(contact.id, {})
    ]
    return {"contact_sources": books, "removed_contacts": removed}


def service_line(service: dict[str, Any], zone: tzinfo) -> str:
    """`Service: running (ok), last poll …, next poll …` or `Service: not running (stopped
    at …)`, the times in `zone`."""
    last_poll = f"last poll {shown(service['last_poll_at'], zone)}"
    since = shown(service["last_seen_at"], zone, never="unknown")
    if service["liveness"] == "stopped":
        return f"Service: not running (stopped at {since}), {last_poll}"
    if service["liveness"] == "gone":
        return f"Service: not running (last seen at {since}), {last_poll}"
    if service["liveness"] == "not responding":
        return f"Service: not responding (last seen at {since}), {last_poll}"
    return (
        f"Service: running ({service['state'] or 'starting'}), {last_poll}"
        f", next poll {shown(service['next_poll_at'], zone, never='soon')}"
        + (f"; new mail: {service['waiting']}" if service["waiting"] else "")
    )


@click.command()
@click.option(
    "--as-of",
    "as_of",
    metavar="MOMENT",
    help="Say it as of this moment (YYYY-MM-DDTHH:MM, in your time zone unless it ends in "
    "Z or +HH:MM) instead of now.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (times in UTC).")
@pass_app
def status(app: App, as_of: str | None, as_json: bool) -> None:
    """Per folder: last sync, messages seen, interactions logged, last error; then whether
    the service is running (or when it stopped or was last seen), its next poll and the next
    summary. Times are in your time zone ([summary] timezone, else the system's)."""
    zone = app.config.owner_zone()
    now = parse_moment(as_of, zone) if as_of else None
    data = sanitised(status_data(app, now))
    if as_json:
        print_json(data)
        return
    click.echo(f"Times in {data['zone']}.")
    if not data["folders"]:
        click.echo("Never synced. Run `kithkin sync` or start the service.")
    for folder in data["folders"]:
        name = f"{folder['mailbox']}/{folder['name']}" if "mailbox" in folder else folder["name"]
        line = (
            f"{name:<20} last sync {shown(folder['last_sync_at'], zone)}, "
            f"{folder['messages_seen']} messages seen, "
            f"{folder['interactions_logged']} interactions logged"
        )
        click.echo(line)
        if folder["last_error"]:
            click.echo(f"{'':<20} last error: {folder['last_error']}")
    service = data["service"]
    if service["liveness"]:
        click.echo(service_line(service, zone))
        if service["last_error"]:
            click.echo(f"  last error: {service['last_error']}")
        for name, error in service["failing_mailboxes"].items():
            click.echo(f"  mailbox {name} failing: {error}")
    last = data["last_summary"]
    click.echo(
        f"Next summary: {shown(data['next_summary_at'], zone)}"
        + (f" (last sent {shown(last['sent_at'], zone)}, {last['week']})" if last else "")
    )
    for reply in data["replies"]:
        click.echo(f"Reply of {shown(reply['received_at'], zone)}:")
        if reply.get("ignored"):
            click.echo(f"  ignored: {reply['ignored']}")
        for line in reply.get("applied", []):
            click.echo(f"  done: {line}")
        for line, reason in reply.get("not_understood", []):
            click.echo(f"  not understood: {line} ({reason})")
    ignored = describe_ignored(data["replies_ignored"])
    if ignored:
        click.echo(ignored)
    if data["set_aside"]:
        click.echo(
            f"{len(data['set_aside'])} message(s) could not be read and were set aside "
            "(`kithkin sync --retry-skipped` tries them again):"
        )
        for record in data["set_aside"]:
            reason = (
                "the server failed to send it"
                if record["stage"] == "fetch"
                else ("reading it failed")
            )
            click.echo(
                f"  {record['folder']} UID {record['uid']} (UIDVALIDITY {record['uidvalidity']})"
                f": {reason}, {record['attempts']} time(s), last {shown(record['last_at'], zone)}"
            )
    echo_sources(data)
    if data["pending_backfill"]:
        click.echo(f"{data['pending_backfill']} new address(es) to look up at the next sync")
    for line in calendar_lines(data["calendar"]):
        click.echo(line)


def echo_sources(data: dict[str, Any]) -> None:
    for source in data["contact_sources"]:
        if source["error"]:
            click.echo(f"Contacts from {source['source']}: {source['error']}; nothing changed")
            continue
        read = f", read {source['read_at']}" if source["read_at"] else ", not read yet"
        click.echo(f"Contacts from {source['source']}: {source['cards']} card(s){read}")
        if source["problems"]:
            where = "; ".join(
                f"{name} line {', '.join(map(str, lines))}".replace(" line 0", " (the file)")
                for name, lines in list(source["problems"].items())[:REMOVED_SHOWN]
            )
            more = len(source["problems"]) - REMOVED_SHOWN
            where += f" and {more} more files" if more > 0 else ""
            click.echo(
                f"  problems at its last read: {where} (`kithkin contacts sources` says what)"
            )
    removed = data["removed_contacts"]
    for person in removed[:REMOVED_SHOWN]:
        line = removed_line(person["name"], person["source"], person["removed_at"])
        click.echo(f"{person['name']}: {line}")
    if len(removed) > REMOVED_SHOWN:
        click.echo(f"and {len(removed) - REMOVED_SHOWN} more removed (`kithkin contacts list`)")


def register(group: click.Group) -> None:
    group.add_command(run)
    group.add_command(status)
