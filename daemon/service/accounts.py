"""The mailboxes the service reads besides the first: each with its own connection and its
own health (backoff, errors logged when they change), so that one failing never stops the
others. The first mailbox (the one the summary goes to) is the service's own, with IDLE."""

from __future__ import annotations

from dataclasses import dataclass, field

from kithkin.daemon.config import Config, ImapConfig
from kithkin.daemon.mail.session import ImapSession
from kithkin.daemon.service.health import Health
from kithkin.daemon.store import Store


@dataclass
class Account:
    imap: ImapConfig
    health: Health = field(default_factory=Health)
    session: ImapSession | None = None

    def drop(self) -> None:
        if self.session is not None:
            self.session.logout()
            self.session = None


def mailbox_store(store: Store, config: Config, imap: ImapConfig) -> Store:
    """The view of `store` one mailbox's sync reads and writes through (its cursors, its
    set-aside messages, its share of the backfill)."""
    return store.of_mailbox(imap.name, tuple(mailbox.name for mailbox in config.mailboxes))


def adopt_unnamed(store: Store, config: Config, imap: ImapConfig) -> None:
    """The first `[[mailbox]]` takes over what the single `[imap]` form synced, once."""
    if config.mailboxes and imap == config.mailboxes[0] and imap.name:
        with store.atomic():
            store.folders.adopt_unnamed()


def arrange(config: Config, accounts: list[Account]) -> tuple[list[Account], list[Account]]:
    """The accounts for every mailbox but the delivery one (`config.imap`), in config order,
    keeping those whose settings did not change; and those to close."""
    kept = {account.imap: account for account in accounts}
    wanted = [mailbox for mailbox in config.mailboxes if mailbox != config.imap]
    arranged = [kept.pop(mailbox) if mailbox in kept else Account(mailbox) for mailbox in wanted]
    return arranged, list(kept.values())
