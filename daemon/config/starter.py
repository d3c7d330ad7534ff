"""The commented config file `kithkin init` writes."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from kithkin.parsers.text import clean_line

TEMPLATE = """\
# Kithkin configuration. Every key is documented in README.md ("Configuration").
# Secrets never go in this file: see password_command below, or use
# `kithkin credentials set imap` (system keyring) or systemd's LoadCredential=.

[imap]
{imap_comments}host = {host}
port = {port}
security = {security}{security_pad}# "tls" (port 993), "starttls" (143) or "none" (loopback only)
username = {username}
{password_comments}\
# A command that prints the password (or an OAuth2 access token with auth = "xoauth2").
# Run as an argument list, never through a shell. Examples:
#   password_command = "pass show mail/imap"
#   password_command = ["secret-tool", "lookup", "service", "imap"]
{password_command_line}
{auth_line}
# folders = ["INBOX", "Sent"]    # default: INBOX plus \\Sent folders, or \\All on Gmail
{ca_file_line}
# timeout = 60                   # seconds for every network operation

[me]
# Your own addresses and aliases: mail from these is "you".
addresses = [{address}]

[summary]
to = {address}
schedule = "monday 08:00"        # weekday and 24-hour time
# timezone = "Europe/Berlin"     # default: the system time zone
delivery = "imap"                # "imap": put the summary into your INBOX (no SMTP needed)
                                 # "smtp": send it through [smtp] below
send_when_empty = true           # a short "all good" note when nobody is fading
max_people = 7                   # people in the summary; `kithkin report` shows all
# Replies to the summary steer Kithkin. With this set to the name your receiving mail server
# writes into Authentication-Results (look at a mail you sent yourself), a reply counts only
# if that server saw DKIM or SPF pass for your own domain. A list names several servers.
# reply_authserv_id = "mx.example.org"

{smtp_comments}# [smtp]
# host = {smtp_host}
# port = {smtp_port}
# security = {smtp_security}{smtp_security_pad}# "tls" (465) or "starttls" (587)
# username = {smtp_username}
# password_command = "pass show mail/smtp"
{smtp_auth_line}
# [analysis]
# default_cadence_days = 60      # for people with too little history to learn from
# fading_ratio = 1.0             # fading past this many times their overdue gap
# awaiting_reply_days = 3
# one_sided_count = 3
# birthday_days = 14             # per person: kithkin contacts edit NAME --remind 3d

# [contacts]
# Address books kept elsewhere, read on every poll: a vdir (vdirsyncer, khard) or a .vcf file.
# sources = ["~/.contacts/friends/", "~/family.vcf"]

# [daemon]
# poll_interval = "5m"
# idle = true                    # new mail in INBOX within seconds (IMAP IDLE), if the server
#                                # has it; false: only every poll_interval

# [store]
# path = "{store_path}"

# Meetings with your contacts from calendar files: .ics files, or vdirs (vdirsyncer).
# [calendar]
# sources = ["~/.calendars/work/", "~/Downloads/team.ics"]
# max_attendees = 100            # more people than this besides you: nobody's meeting
"""


COMMENT_WIDTH = 94


@dataclass(frozen=True)
class StarterServer:
    """The [smtp] settings written (commented out: the summary goes by IMAP by default)."""

    host: str
    port: int
    security: str
    username: str
    auth: str = "password"


def starter_config(
    *,
    address: str,
    host: str,
    username: str,
    password_command: str | None,
    store_path: str,
    port: int = 993,
    security: str = "tls",
    auth: str = "password",
    ca_file_hint: str | None = None,
    imap_comments: Sequence[str] = (),
    password_comments: Sequence[str] = (),
    smtp: StarterServer | None = None,
    smtp_comments: Sequence[str] = (),
) -> str:
    """The config text. `*_comments` are sentences (where the settings came from, what to do
    about the password) written as `#` lines; `ca_file_hint` a path for a commented ca_file."""
    if password_command:
        command_line = f"password_command = {json.dumps(password_command)}"
    else:
        command_line = '# password_command = "pass show mail/imap"'
    if auth == "xoauth2":
        auth_line = 'auth = "xoauth2"                 # password_command prints an OAuth2 token'
    else:
        auth_line = '# auth = "password"              # or "xoauth2"'
    if ca_file_hint:
        ca_file_line = f"# ca_file = {json.dumps(ca_file_hint)}   # the certificate to trust"
    else:
        ca_file_line = (
            '# ca_file = "/path/to/ca.pem"    # trust this CA in addition to the system store'
        )
    mail = smtp or StarterServer("smtp.example.org", 465, "tls", username)
    return TEMPLATE.format(
        imap_comments=comment_lines(imap_comments),
        host=json.dumps(host),
        port=port,
        security=json.dumps(security),
        security_pad=_pad(security),
        username=json.dumps(username),
        password_comments=comment_lines(password_comments),
        address=json.dumps(address),
        password_command_line=command_line,
        auth_line=auth_line,
        ca_file_line=ca_file_line,
        smtp_comments=comment_lines(smtp_comments),
        smtp_host=json.dumps(mail.host),
        smtp_port=mail.port,
        smtp_security=json.dumps(mail.security),
        smtp_security_pad=_pad(mail.security, indent=2),
        smtp_username=json.dumps(mail.username),
        smtp_auth_line='# auth = "xoauth2"\n' if mail.auth == "xoauth2" else "",
        store_path=store_path,
    )


def comment_lines(sentences: Sequence[str]) -> str:
    """Each sentence as `# ` lines of at most COMMENT_WIDTH columns (a URL never broken)."""
    lines: list[str] = []
    for sentence in sentences:
        text = clean_line(sentence)
        wrapped = textwrap.wrap(text, COMMENT_WIDTH - 2, break_long_words=False,
                                break_on_hyphens=False)  # fmt: skip
        lines.extend(f"# {line}\n" for line in wrapped or [""])
    return "".join(lines)


def _pad(security: str, indent: int = 0) -> str:
    """Spaces that keep the comment after `security = "..."` in column 33."""
    return " " * max(1, 20 - indent - len(security))
