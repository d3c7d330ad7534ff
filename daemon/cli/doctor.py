"""`kithkin doctor`: check the config, the mailbox, the store, delivery and the service."""

from __future__ import annotations

import click

from kithkin.daemon.app import App
from kithkin.daemon.cli.output import pass_app, print_json
from kithkin.daemon.doctor import Context, Result, exit_code, run_doctor

LABELS = {"ok": "OK", "warn": "WARN", "fail": "FAIL", "skip": "SKIP", "info": "NOTE"}
NAME_WIDTH = 18


def line_of(result: Result) -> str:
    """`FAIL  imap login          127.0.0.1:143: login failed: ...`, and the hint below it."""
    text = f"{LABELS[result.status]:<5} {result.name:<{NAME_WIDTH}} {result.message}"
    if result.hint:
        text += f"\n{'':<5} {'':<{NAME_WIDTH}} hint: {result.hint}"
    return text


def verdict(results: list[Result]) -> str:
    failures = sum(result.status == "fail" for result in results)
    warnings = sum(result.status == "warn" for result in results)
    also = f" and {warnings} warning{'s' * (warnings != 1)}" if warnings else ""
    if failures:
        return f"{failures} problem{'s' * (failures != 1)} to fix{also}."
    if warnings:
        return f"Kithkin should work; {warnings} warning{'s' * (warnings != 1)} to look at."
    return "Everything checked is OK."


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 3600),
    help="Seconds for each network step. Default: [imap] timeout, at most 10.",
)
@pass_app
def doctor(app: App, as_json: bool, timeout: float | None) -> None:
    """Check everything Kithkin needs, one line each: OK, or what to change.

    \b
    The config file (valid, private), the password's source (never the password), DNS,
    TCP, TLS and login of the IMAP server, its capabilities, the folders a sync reads and
    how they were found, their message counts and an estimate of the first sync, the
    store (writable), summary delivery (INBOX or SMTP, without sending), and the systemd
    unit. A check that needs one that failed is skipped.

    Read-only: nothing on the server changes and nothing is written. Exit status 0 only
    when all is well (notes allowed), 3 when Kithkin should work but a warning says what to
    change, 1 when something failed.
    """
    context = Context(config_path=app.config_path, timeout=timeout)
    results = run_doctor(context, None if as_json else lambda r: click.echo(line_of(r)))
    code = exit_code(results)
    if as_json:
        print_json({"ok": code == 0, "checks": [result.as_json() for result in results]})
    else:
        click.echo(verdict(results))
    raise SystemExit(code)


def register(group: click.Group) -> None:
    group.add_command(doctor)
