"""`kithkin init`: find the mail settings and write a commented config; `kithkin credentials`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kithkin.daemon.app import App
from kithkin.daemon.cli.files import write_private
from kithkin.daemon.cli.output import pass_app
from kithkin.daemon.config import (
    ServerConfig,
    default_config_path,
    default_store_path,
    load_config,
)
from kithkin.daemon.errors import ConfigError, UsageError
from kithkin.daemon.mail.credentials import store_in_keyring
from kithkin.daemon.setup.advice import InitChoices, config_text, password_steps, where
from kithkin.daemon.setup.discover import Discovery, Server, discover
from kithkin.daemon.setup.network import make_network
from kithkin.daemon.setup.presets import preset_for_domain
from kithkin.parsers.addresses import normalise_address
from kithkin.parsers.text import clean_line


@click.command()
@click.option("--email", help="Your address. Asked for on a terminal when missing.")
@click.option("--imap-host", help="Use this IMAP server (port 993, TLS) and look nothing up.")
@click.option("--username", help="IMAP login. Default: what your provider expects.")
@click.option("--password-command", help='Command printing the password, e.g. "pass show mail".')
@click.option("--no-lookup", is_flag=True, help="No network at all: only the built-in presets.")
@click.option(
    "--nameserver",
    metavar="ADDRESS[:PORT]",
    help="Ask this DNS server instead of the system's (/etc/resolv.conf).",
)
@click.option("--https-port", type=int, default=443, hidden=True)  # tests: a local server
@click.option("--https-ca-file", type=click.Path(path_type=Path, dir_okay=False), hidden=True)
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@pass_app
def init(
    app: App,
    email: str | None,
    imap_host: str | None,
    username: str | None,
    password_command: str | None,
    no_lookup: bool,
    nameserver: str | None,
    https_port: int,
    https_ca_file: Path | None,
    force: bool,
) -> None:
    """Write a commented config file (mode 0600) with your mail server's settings.

    Only your email address is needed. The settings come from, in this order: a preset for
    the big providers (Gmail, Outlook.com, Microsoft 365, Fastmail, iCloud, Yahoo, GMX,
    WEB.DE, mailbox.org, Posteo, Zoho, Proton Mail Bridge); your domain's SRV records (RFC
    6186); its autoconfig file (https://autoconfig.DOMAIN/mail/config-v1.1.xml); its MX
    records, when they point at one of those providers. The file says where each setting
    came from and what to do about the password. Lookups happen only here, never in the
    service; --no-lookup makes none.

    Nothing is stored about your password: point `password_command` at your password
    manager, or run `kithkin credentials set imap` to use the system keyring.
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
    if imap_host:
        discovery = Discovery(
            imap=Server(imap_host, 993, "tls", address), smtp=None, source="given with --imap-host"
        )
    else:
        network = None
        if not no_lookup:
            network = make_network(nameserver, https_port=https_port, ca_file=https_ca_file)
        domain = address.rpartition("@")[2]
        if network is not None and preset_for_domain(domain) is None:
            click.echo(clean_line(f"Looking up the mail settings of {domain} ..."))
        discovery = discover(address, network)
    choices = InitChoices(address, username=username, password_command=password_command)
    text = config_text(discovery, choices, store_path=str(default_store_path()))
    write_private(path, text)
    try:
        load_config(path)
    except ConfigError as exc:  # pragma: no cover - the template is tested
        raise ConfigError(f"wrote a config that does not load, please report: {exc}") from None
    show_discovery(path, discovery, choices)


def show_discovery(path: Path, discovery: Discovery, choices: InitChoices) -> None:
    for note in discovery.notes:
        click.echo(f"  looked up: {clean_line(note)}")
    imap = discovery.imap
    login = choices.username or imap.username
    click.echo(f"Wrote {path}")
    summary = f"[imap] {imap.host}:{imap.port} ({imap.security}), login {login}"
    click.echo(clean_line(f"{summary}: {where(discovery)}"))
    for step in password_steps(discovery, choices.address):
        click.echo(clean_line(step))
    if not discovery.found:
        click.echo("Check [imap] in that file: nothing was found, its host is a guess.")
    click.echo("Next: `kithkin doctor` checks the settings, then `kithkin sync`.")


@click.group()
def credentials() -> None:
    """Passwords. Kithkin looks in $CREDENTIALS_DIRECTORY (systemd LoadCredential=), then
    runs password_command, then asks the system keyring."""


@credentials.command("set")
@click.argument("which", metavar="imap|smtp|imap-NAME")
@pass_app
def credentials_set(app: App, which: str) -> None:
    """Store the IMAP or SMTP password in the system keyring; `imap-NAME` for the
    `[[mailbox]]` named NAME.

    The password is read from the terminal without echo (or one line from stdin).
    """
    server = _server_named(app, which)
    if sys.stdin.isatty():
        secret = click.prompt(f"Password for {server.username}@{server.host}", hide_input=True)
    else:
        secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:
        raise UsageError("empty password, nothing stored")
    store_in_keyring(server, secret)
    click.echo(f"Stored the {which} password for {server.username}@{server.host} in the keyring.")


def _server_named(app: App, which: str) -> ServerConfig:
    if which == "smtp":
        return app.config.require_smtp()
    mailboxes = app.config.require_mailboxes()
    for mailbox in mailboxes:
        if which == mailbox.kind or (which == "imap" and len(mailboxes) == 1):
            return mailbox
    kinds = ", ".join(mailbox.kind for mailbox in mailboxes)
    raise UsageError(f"no server {which!r} in the config: say smtp or one of {kinds}")


def register(group: click.Group) -> None:
    group.add_command(init)
    group.add_command(credentials)
