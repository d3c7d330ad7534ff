"""A batch whose FETCH failed, fetched again in halves on fresh connections until the
messages that make it fail are found; each is given FETCH_TRIES tries in all.

Those messages are set aside only when fetching works for others (a part of the batch
came through, or the message at the folder's cursor does): a server that fails every
FETCH stops the sync with its error, as does a long run of failures without a success.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.records import FetchedHeader
from kithkin.daemon.sync.source import FetchIncomplete

FETCH_TRIES = 3  # a single message whose FETCH fails this often is set aside
MAX_FAILURES_IN_A_ROW = 24  # about two per halving of a batch, plus the tries
MAX_RECOVERIES = 200  # reconnects while narrowing one batch down, at most

Fetch = Callable[[list[int]], list[FetchedHeader]]
log = logging.getLogger("kithkin.sync")


class GiveUp(Exception):
    """Narrowing a batch down stopped: `error` is the server's fault, not a message's."""

    def __init__(self, error: MailboxError) -> None:
        super().__init__(str(error))
        self.error = error


class Narrowing:
    """Fetches a batch whose FETCH failed again in halves, on fresh connections, until the
    messages that make it fail are found; each is given FETCH_TRIES tries in all.

    Those messages are set aside only when fetching works for others (a part of the batch
    came through, or the message at the folder's cursor does): a server that fails every
    FETCH stops the sync with its error, as does a long run of failures without a success.
    """

    def __init__(
        self,
        fetch: Fetch,
        *,
        reconnect: Callable[[], None],
        heartbeat: Callable[[], None],
        folder: str,
    ) -> None:
        self.fetch = fetch
        self.reconnect = reconnect
        self.heartbeat = heartbeat
        self.folder = folder
        self.any_success = False
        self.failures_in_a_row = 1  # the FETCH that brought us here
        self.recoveries = 0
        self.last_failure: MailboxError | None = None  # of the last FETCH tried

    def run(
        self, uids: list[int], error: MailboxError, cursor: int
    ) -> tuple[list[FetchedHeader], list[int]]:
        fetched, suspects = self._split(uids, error)
        if suspects and not self.any_success and cursor > 0:
            self._recover(error)
            try:  # the server is at fault if this fails too
                self.fetch([cursor])
            except MailboxError as exc:
                raise GiveUp(exc) from None
            self.last_failure = None
        for uid in suspects:
            log.warning("%s: UID %s could not be fetched %d times; set aside", self.folder,
                        uid, FETCH_TRIES)  # fmt: skip
        failure = self.last_failure
        if failure is not None and not isinstance(failure, FetchIncomplete):
            try:  # the last try may have broken the connection the sync goes on with
                self.reconnect()
            except MailboxError as exc:
                raise GiveUp(exc) from None
        return fetched, suspects

    def _split(self, uids: list[int], error: MailboxError) -> tuple[list[FetchedHeader], list[int]]:
        if len(uids) == 1:
            return self._single(uids[0], error)
        fetched: list[FetchedHeader] = []
        suspects: list[int] = []
        middle = len(uids) // 2
        for part in (uids[:middle], uids[middle:]):
            try:
                fetched += self._try(part, error)
            except MailboxError as exc:
                error = exc
                more, bad = self._split(part, exc)
                fetched += more
                suspects += bad
        return fetched, suspects

    def _single(self, uid: int, error: MailboxError) -> tuple[list[FetchedHeader], list[int]]:
        for _ in range(FETCH_TRIES - 1):
            try:
                return self._try([uid], error), []
            except MailboxError as exc:
                error = exc
        return [], [uid]

    def _try(self, uids: list[int], error: MailboxError) -> list[FetchedHeader]:
        self._recover(error)
        try:
            fetched = self.fetch(uids)
        except MailboxError as exc:
            self.failures_in_a_row += 1
            self.last_failure = exc
            raise
        self.last_failure = None
        self.any_success = True
        self.failures_in_a_row = 0
        return fetched

    def _recover(self, error: MailboxError) -> None:
        """Reconnect after a failure that may have broken the connection; give up (raise the
        error) when failures keep coming without a success or the budget is spent."""
        self.heartbeat()
        if self.failures_in_a_row > MAX_FAILURES_IN_A_ROW or self.recoveries >= MAX_RECOVERIES:
            raise GiveUp(error)
        if isinstance(error, FetchIncomplete):
            return  # the connection itself is fine
        self.recoveries += 1
        try:
            self.reconnect()
        except MailboxError as exc:
            raise GiveUp(exc) from None
