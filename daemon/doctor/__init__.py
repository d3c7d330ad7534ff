"""`kithkin doctor`: everything a user can get wrong, checked in order, each check one line
saying OK or what to change. Read-only: nothing on the server changes (LIST, STATUS,
CAPABILITY, NOOP, MYRIGHTS, GETQUOTAROOT; no SELECT, EXAMINE or APPEND; SMTP is left with
QUIT before MAIL FROM), and nothing is written to the store or anywhere else.

    results.py    one check's Result (name, ok/warn/fail/skip/info, message, hint)
    runner.py     the Context the checks share; a check whose prerequisite failed is skipped
    checklist.py  the checks, in order, with what each needs
    files.py      the config file and the store: there, valid, writable, private
    network.py    DNS, TCP, TLS of the IMAP (and SMTP) server, with the hint for each failure
    imap.py       password source, login, capabilities, folders, counts, INBOX delivery
    folders.py    which folders a sync reads and how each was found: a pure function
    estimate.py   how long a first sync may take (a measured cost per message)
    smtp.py       SMTP login, then QUIT
    service.py    the systemd unit: installed, enabled, running

May import: mail, config, store (its schema and file header only), sync (its batch sizes),
core, errors, parsers.
"""

from __future__ import annotations

from kithkin.daemon.doctor.checklist import STEPS, run_doctor
from kithkin.daemon.doctor.results import Result, exit_code
from kithkin.daemon.doctor.runner import Context

__all__ = ["STEPS", "Context", "Result", "exit_code", "run_doctor"]
