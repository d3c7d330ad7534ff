"""`kithkin init`: write a commented starter config."""

from __future__ import annotations

import sys

import click

from kithkin.daemon.app import App
from kithkin.daemon.cli.files import write_private
from kithkin.daemon.cli.output import pass_app
from kithkin.daemon.config import default_config_path, default_store_path, load_config
from kithkin.daemon.config.starter import starter_config
from kithkin.daemon.errors import ConfigError, UsageError
from kithkin.daemon.mail.credentials import store_in_keyring
from kithkin.parsers.addresses import normalise_address


@click.command()
@click.option("--email", help="Your address. Asked for on a terminal when missing.")
@click.option("--imap-host", help="Default: imap.<your domain>.")
@click.option("--username", help="IMAP login. Default: your address.")
@click.option("--password-command", help='Command printing the password, e.g. "pass show mail".')
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@pass_app
def init(
    app: App,
    email: str | None,
    imap_host: str | None,
    username: str | None,
    password_command: str | None,
    force: bool,
) -> None:
    """Write a commented starter config file (mode 0600).

    Only your email address is needed; everything else has a default you can change in the
    file later. Nothing is stored about your password: point `password_command` at your
    password manager, or run `kithkin credentials set imap` to use the system keyring.
    """
    path = app.config_path or default_config_path()
    if path.exists() and not force:
        raise UsageError(f"{path} already exists (use --force to overwrite)")
    if not email:
        if not sys.stdin.isatty():
            raise UsageError("--email is needed when not run on a terminal")
        email = click.prompt("Your email address")
    address = normalise_address(email)
    if address is None:
        raise UsageError(f"not an email address: {email!r}")
    domain = address.rpartition("@")[2]
    text = starter_config(
        address=address,
        host=imap_host or f"imap.{domain}",
        username=username or address,
        password_command=password_command,
        store_path=str(default_store_path()),
    )
    write_private(path, text)
    try:
        load_config(path)
    except ConfigError as exc:  # pragma: no cover - the template is tested
        raise ConfigError(f"wrote a config that does not load, please report: {exc}") from None
    click.echo(f"Wrote {path}")
    click.echo("Next: check [imap] in that file, then `kithkin contacts add` and `kithkin sync`.")


@click.group()
def credentials() -> None:
    """Passwords. Kithkin looks in $CREDENTIALS_DIRECTORY (systemd LoadCredential=), then
    runs password_command, then asks the system keyring."""


@credentials.command("set")
@click.argument("which", type=click.Choice(["imap", "smtp"]))
@pass_app
def credentials_set(app: App, which: str) -> None:
    """Store the IMAP or SMTP password in the system keyring.

    The password is read from the terminal without echo (or one line from stdin).
    """
    server = app.config.require_imap() if which == "imap" else app.config.require_smtp()
    if sys.stdin.isatty():
        secret = click.prompt(f"Password for {server.username}@{server.host}", hide_input=True)
    else:
        secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:
        raise UsageError("empty password, nothing stored")
    store_in_keyring(server, secret)
    click.echo(f"Stored the {which} password for {server.username}@{server.host} in the keyring.")


def register(group: click.Group) -> None:
    group.add_command(init)
    group.add_command(credentials)
