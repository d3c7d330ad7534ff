"""The settings, as frozen dataclasses: what every part of Kithkin reads, validated already
(loading.py builds them from the TOML file)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from kithkin.daemon.config.calendar import CalendarConfig
from kithkin.daemon.config.contacts import ContactsConfig
from kithkin.daemon.config.paths import default_store_path
from kithkin.daemon.core.dates import local_zone
from kithkin.daemon.core.thresholds import AnalysisConfig
from kithkin.daemon.errors import ConfigError

SECURITY_CHOICES = ("tls", "starttls", "none")
AUTH_CHOICES = ("password", "xoauth2", "oauthbearer")
TOKEN_AUTHS = ("xoauth2", "oauthbearer")  # the secret is an OAuth2 access token
DELIVERY_CHOICES = ("smtp", "imap")


@dataclass(frozen=True)
class ServerConfig:
    """What imap.py and delivery.py need to open an authenticated connection."""

    kind: str  # "imap" or "smtp": also the credential name
    host: str
    port: int
    security: str
    username: str
    password_command: tuple[str, ...] | None = None
    auth: str = "password"
    ca_file: Path | None = None
    timeout: float = 60.0


@dataclass(frozen=True)
class ImapConfig(ServerConfig):
    folders: tuple[str, ...] | None = None
    name: str = ""  # its `[[mailbox]]` name; "" for the single `[imap]` form

    @property
    def label(self) -> str:
        """How messages name this mailbox: its name, else its account."""
        return self.name or f"{self.username}@{self.host}"


@dataclass(frozen=True)
class SummaryConfig:
    to: str | None = None
    weekday: str = "monday"
    time: str = "08:00"
    timezone: str | None = None
    delivery: str = "smtp"
    send_when_empty: bool = True
    max_people: int = 7
    reply_authserv_ids: tuple[str, ...] = ()  # the owner's receiving servers (RFC 8601)
    mailbox: str | None = None  # the [[mailbox]] the summary goes to; default: the first

    @property
    def schedule(self) -> str:
        return f"{self.weekday} {self.time}"

    def zone(self) -> ZoneInfo | None:
        return ZoneInfo(self.timezone) if self.timezone else None


@dataclass(frozen=True)
class DaemonConfig:
    poll_interval: int = 300  # seconds
    idle: bool = True  # wait for new mail in INBOX with IMAP IDLE where the server has it


@dataclass(frozen=True)
class Config:
    source: Path
    imap: ImapConfig | None = None  # the mailbox for delivery and replies (of `mailboxes`)
    mailboxes: tuple[ImapConfig, ...] = ()  # every mailbox read: `[imap]` or `[[mailbox]]`s
    me: tuple[str, ...] = ()
    smtp: ServerConfig | None = None
    summary: SummaryConfig = field(default_factory=SummaryConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    store_path: Path = field(default_factory=default_store_path)
    exists: bool = True
    contacts: ContactsConfig = field(default_factory=ContactsConfig)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)

    def owner_zone(self) -> tzinfo:
        """`[summary] timezone`, else the system's: where the owner's days begin."""
        return self.summary.zone() or local_zone()

    def require_imap(self) -> ImapConfig:
        if self.imap is None:
            raise ConfigError(self._missing("[imap]"))
        if not self.me:
            raise ConfigError(self._missing("[me] addresses"))
        return self.imap

    def require_mailboxes(self) -> tuple[ImapConfig, ...]:
        """Every mailbox to read (`[imap]`, or the `[[mailbox]]` tables), and `[me]`."""
        self.require_imap()
        return self.mailboxes

    def require_smtp(self) -> ServerConfig:
        if self.smtp is None:
            raise ConfigError(self._missing("[smtp]") + ' (or set [summary] delivery = "imap")')
        return self.smtp

    def summary_recipient(self) -> str:
        """The owner, the only person Kithkin ever writes to: `[summary] to` (which must be
        one of `[me] addresses`), else the first of those."""
        if not self.me:
            raise ConfigError(self._missing("[me] addresses"))
        return self.summary.to or self.me[0]

    def _missing(self, what: str) -> str:
        if not self.exists:
            return f"no config file at {self.source}; run `kithkin init` to create one"
        return f"{self.source}: {what} is missing"
