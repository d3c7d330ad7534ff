"""What the service writes to its log about each poll: a folder it cannot sync, once until
its error changes (not at every poll), and what a poll did."""

from __future__ import annotations

import logging

from kithkin.daemon.sync import SyncReport
from kithkin.parsers.text import clean_line

log = logging.getLogger("kithkin.service")


class PollLog:
    def __init__(self) -> None:
        self.folder_errors: dict[str, str] = {}  # said already, by folder

    def polled(self, report: SyncReport) -> None:
        errors = {folder.name: folder.error for folder in report.folders if folder.error}
        for name, error in errors.items():
            if self.folder_errors.get(name) != error:
                log.warning("not synced: %s", clean_line(error))
        self.folder_errors = errors
        if report.logged or report.unparseable:
            log.info("sync: %s", report.summary())
