"""The domain's own autoconfig file (Thunderbird's format), over HTTPS only:
`https://autoconfig.<domain>/mail/config-v1.1.xml`, then
`https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml`. Reading the file is
parsers/mailconfig.py's job; here it is fetched, bounded, and each failure becomes a note."""

from __future__ import annotations

from dataclasses import dataclass

from kithkin.daemon.setup.fetch import FetchError, fetch
from kithkin.daemon.setup.network import Network
from kithkin.parsers.mailconfig import MAX_BYTES, MailConfig, MailConfigError, parse_mail_config


@dataclass(frozen=True)
class AutoconfigAnswer:
    config: MailConfig
    url: str


def autoconfig_urls(domain: str) -> list[str]:
    return [
        f"https://autoconfig.{domain}/mail/config-v1.1.xml",
        f"https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml",
    ]


def lookup_autoconfig(
    network: Network, domain: str, address: str, notes: list[str]
) -> AutoconfigAnswer | None:
    """The first autoconfig file for `domain` that names an IMAP server."""
    for url in autoconfig_urls(domain):
        try:
            data = fetch(network, url, MAX_BYTES)
            config = parse_mail_config(data, address)
        except (FetchError, MailConfigError) as exc:
            notes.append(f"autoconfig {url}: {exc}")
            continue
        notes.extend(f"autoconfig {url}: {warning}" for warning in config.warnings)
        if config.imap is None:
            notes.append(f"autoconfig {url}: no IMAP server Kithkin can use in it")
            continue
        return AutoconfigAnswer(config, url)
    return None
