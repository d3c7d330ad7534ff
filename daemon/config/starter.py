"""The commented config file `kithkin init` writes."""

from __future__ import annotations

import json

TEMPLATE = """\
# Kithkin configuration. Every key is documented in README.md ("Configuration").
# Secrets never go in this file: see password_command below, or use
# `kithkin credentials set imap` (system keyring) or systemd's LoadCredential=.

[imap]
host = {host}
port = {port}
security = "tls"                 # "tls" (port 993), "starttls" (143) or "none" (loopback only)
username = {username}
# A command that prints the password (or an OAuth2 access token with auth = "xoauth2").
# Run as an argument list, never through a shell. Examples:
#   password_command = "pass show mail/imap"
#   password_command = ["secret-tool", "lookup", "service", "imap"]
{password_command_line}
# auth = "password"              # or "xoauth2"
# folders = ["INBOX", "Sent"]    # default: INBOX plus \\Sent folders, or \\All on Gmail
# ca_file = "/path/to/ca.pem"    # trust this CA in addition to the system store
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

# [smtp]
# host = "smtp.example.org"
# port = 465
# security = "tls"               # "tls" (465) or "starttls" (587)
# username = {username}
# password_command = "pass show mail/smtp"

# [analysis]
# default_cadence_days = 60      # for people with too little history to learn from
# fading_ratio = 1.0             # fading past this many times their overdue gap
# awaiting_reply_days = 3
# one_sided_count = 3
# birthday_days = 14             # per person: kithkin contacts edit NAME --remind 3d

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


def starter_config(
    *,
    address: str,
    host: str,
    username: str,
    password_command: str | None,
    store_path: str,
    port: int = 993,
) -> str:
    if password_command:
        command_line = f"password_command = {json.dumps(password_command)}"
    else:
        command_line = '# password_command = "pass show mail/imap"'
    return TEMPLATE.format(
        host=json.dumps(host),
        port=port,
        username=json.dumps(username),
        address=json.dumps(address),
        password_command_line=command_line,
        store_path=store_path,
    )
