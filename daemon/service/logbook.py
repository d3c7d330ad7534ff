"""What the service writes to its log: one line when it starts (version, config, store,
mailbox, poll interval), a line for each poll that did something, and a folder it cannot
sync once until its error changes (not at every poll).

Lines said at every poll, even when nothing happened, go to the `detail` logger, which
`kithkin run` hears from -v on (cli/__init__.py's SERVICE_DETAIL). Nothing here names
anyone: counts, folders, paths and the server's host only.
"""

from __future__ import annotations

import logging
from importlib import metadata

from kithkin.daemon.config import Config
from kithkin.daemon.sync import SyncReport
from kithkin.parsers.text import clean_line

log = logging.getLogger("kithkin.service")
detail = logging.getLogger("kithkin.service.detail")


def version() -> str:
    try:
        return metadata.version("kithkin")
    except metadata.PackageNotFoundError:  # run from a source tree without installing
        return "(not installed)"


def duration(seconds: float) -> str:
    """`poll_interval` as it is written: 90s, 5m, 1h."""
    whole = int(seconds)
    for unit, size in (("h", 3600), ("m", 60)):
        if whole >= size and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def start_line(config: Config) -> str:
    mailboxes = ", ".join(
        f"{imap.name + ' ' if imap.name else ''}{imap.host}:{imap.port} ({imap.security})"
        for imap in config.require_mailboxes()
    )
    idle = "IDLE where offered" if config.daemon.idle else "no IDLE"
    return (
        f"kithkin {version()} started: config {config.source}, store {config.store_path}, "
        f"mailbox {mailboxes}, poll every {duration(config.daemon.poll_interval)}, {idle}"
    )


def did_something(report: SyncReport) -> bool:
    """Whether a poll is worth a line without -v: it logged, set aside, skipped or reset."""
    return bool(
        report.logged
        or report.unparseable
        or report.set_aside
        or report.retried
        or report.errors
        or any(folder.uidvalidity_reset for folder in report.folders)
    )


class PollLog:
    def __init__(self) -> None:
        self.folder_errors: dict[str, dict[str, str]] = {}  # said already, by mailbox, folder

    def polled(self, report: SyncReport, mailbox: str = "") -> None:
        """A poll of one mailbox (its `[[mailbox]]` name; "" for the `[imap]` form)."""
        errors = {folder.name: folder.error for folder in report.folders if folder.error}
        said = self.folder_errors.get(mailbox, {})
        where = f"{mailbox}: " if mailbox else ""
        for name, error in errors.items():
            if said.get(name) != error:
                log.warning("not synced: %s%s", where, clean_line(error))
        self.folder_errors[mailbox] = errors
        sync = f"sync {mailbox}" if mailbox else "sync"
        (log if did_something(report) else detail).info("%s: %s", sync, report.summary())
