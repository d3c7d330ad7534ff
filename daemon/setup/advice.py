"""A Discovery -> the config file's text, with comments saying where each setting came from
and what to do about the password; and the same advice as lines for the terminal."""

from __future__ import annotations

from dataclasses import dataclass

from kithkin.daemon.config.starter import StarterServer, starter_config
from kithkin.daemon.setup.discover import Discovery

KEYRING_STEP = (
    "Then store it with `kithkin credentials set imap` (the system keyring), or point "
    "password_command at your password manager."
)
OAUTH2_STEP = (
    "Your provider wants OAuth2: password_command must print an access token, from a helper "
    "such as oama, pizauth or mutt_oauth2.py."
)


@dataclass(frozen=True)
class InitChoices:
    """What the user said on the command line, beside the address."""

    address: str
    username: str | None = None
    password_command: str | None = None


def config_text(discovery: Discovery, choices: InitChoices, store_path: str) -> str:
    imap, smtp = discovery.imap, discovery.smtp
    username = choices.username or imap.username
    smtp_username = choices.username or (smtp.username if smtp else username)
    preset = discovery.preset
    return starter_config(
        address=choices.address,
        host=imap.host,
        port=imap.port,
        security=imap.security,
        auth="xoauth2" if discovery.oauth2 else "password",
        username=username,
        password_command=choices.password_command,
        store_path=store_path,
        ca_file_hint=preset.ca_file if preset else None,
        imap_comments=source_comments(discovery),
        password_comments=password_steps(discovery, choices.address),
        smtp=StarterServer(smtp.host, smtp.port, smtp.security, smtp_username, smtp.auth)
        if smtp
        else None,
        smtp_comments=[f"Found with [imap]: {discovery.source}."] if smtp else [],
    )


def source_comments(discovery: Discovery) -> list[str]:
    lines = [f"Where these came from: {where(discovery)}."]
    if not discovery.found:
        lines.append("Check host, port and security with your provider.")
    if discovery.preset is not None:
        lines.extend(discovery.preset.notes)
    return lines


def where(discovery: Discovery) -> str:
    if discovery.found:
        return discovery.source
    return f"nowhere, imap.<your domain> is a guess ({discovery.source})"


def password_steps(discovery: Discovery, address: str) -> list[str]:
    """What to do about the password, most specific first."""
    preset = discovery.preset
    steps = []
    if preset is not None:
        steps.append(f"Password: {preset.password.advice.replace('%s', address)}.")
        if preset.password.url:
            steps.append(f"See {preset.password.url}")
    elif discovery.oauth2:
        steps.append(OAUTH2_STEP)
    else:
        steps.append(
            "Password: your mail password, or an app password if your provider has "
            "two-factor authentication on."
        )
    if discovery.enable_url:
        steps.append(f"Switch on IMAP access first: {discovery.enable_url}")
    if not discovery.oauth2:
        steps.append(KEYRING_STEP)
    return steps
