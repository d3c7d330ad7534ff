"""Fixtures with real IMAP (Dovecot, pymap) and SMTP (aiosmtpd) servers on 127.0.0.1.

Test modules import the helpers as top-level modules (`from servers import append`,
`from mailbuilder import make_message`): this file puts `tests/` on sys.path, since the
suite runs with --import-mode=importlib.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from helpers import CliResult  # noqa: E402  (needs the sys.path entry above)
from lookupservers import DnsServer, HttpsServer, lookup_tls_files, running  # noqa: E402
from mailutils_server import MailutilsServer, require_mailutils  # noqa: E402
from servers import (  # noqa: E402  (needs the sys.path entry above)
    DovecotServer,
    ImapServer,
    PymapPool,
    PymapServer,
    SmtpServer,
    TlsFiles,
    require_dovecot,
    wait_for_background_stops,
)

DOVECOT_FIXTURES = frozenset(
    {"dovecot", "dovecot_all_mail", "dovecot_tls", "smtp_server", "smtp_server_tls",
     "smtp_server_starttls"}
)  # fmt: skip


MAILUTILS_FIXTURES = frozenset({"mailutils", "mailutils_maildir"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a Dovecot or Mailutils fixture, so `-m "not dovecot"` (or
    "not mailutils") deselects them."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if DOVECOT_FIXTURES & fixtures:
            item.add_marker(pytest.mark.dovecot)
        if MAILUTILS_FIXTURES & fixtures:
            item.add_marker(pytest.mark.mailutils)


@pytest.fixture
def needs_dovecot() -> None:
    """For tests that run Dovecot themselves: skip (or fail) as the fixtures would."""
    require_dovecot()


@pytest.fixture(scope="session", autouse=True)
def _finish_background_stops() -> Iterator[None]:
    yield
    wait_for_background_stops()


def _dovecot(**options: bool) -> Iterator[DovecotServer]:
    require_dovecot()
    server = DovecotServer(**options)
    try:
        server.start()
        yield server
    finally:
        # Dovecot takes about a second to shut down; let that happen behind the next test.
        server.close(wait=False)


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    """A fresh Dovecot with one user, empty INBOX and `Sent` (\\Sent)."""
    yield from _dovecot()


@pytest.fixture
def dovecot_all_mail() -> Iterator[DovecotServer]:
    """Like `dovecot`, plus an `All Mail` folder with \\All."""
    yield from _dovecot(all_mail=True)


@pytest.fixture
def dovecot_tls() -> Iterator[DovecotServer]:
    """Like `dovecot`, plus STARTTLS on `port` and implicit TLS on `tls_port`; trust `ca_file`."""
    yield from _dovecot(tls=True)


@pytest.fixture(scope="session")
def _pymap_pool() -> Iterator[PymapPool]:
    pool = PymapPool()
    yield pool
    pool.close()


@pytest.fixture
def pymap_server(_pymap_pool: PymapPool) -> Iterator[PymapServer]:
    """A fresh pymap (in-memory) with one user, empty INBOX and a plain `Sent` folder."""
    server = _pymap_pool.take()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(
    params=[pytest.param("dovecot", marks=pytest.mark.dovecot), "pymap"],
    ids=["dovecot", "pymap"],
)
def imap_server(request: pytest.FixtureRequest) -> ImapServer:
    """Each test using this runs twice: against `dovecot` and against `pymap_server`."""
    name = "dovecot" if request.param == "dovecot" else "pymap_server"
    server: ImapServer = request.getfixturevalue(name)
    return server


@pytest.fixture
def smtp_server(dovecot: DovecotServer) -> Iterator[SmtpServer]:
    """Plain SMTP with optional AUTH (the `dovecot` user's credentials), delivering to
    `dovecot`'s INBOX; `messages` records each envelope."""
    with SmtpServer(dovecot) as server:
        yield server


@pytest.fixture
def smtp_server_tls(dovecot_tls: DovecotServer) -> Iterator[SmtpServer]:
    """SMTP over implicit TLS (SMTP_SSL), delivering to `dovecot_tls`'s INBOX; trust `ca_file`."""
    with SmtpServer(dovecot_tls, tls="implicit", tls_files=dovecot_tls.tls_files) as server:
        yield server


@pytest.fixture
def smtp_server_starttls(dovecot_tls: DovecotServer) -> Iterator[SmtpServer]:
    """SMTP that requires STARTTLS, delivering to `dovecot_tls`'s INBOX; trust `ca_file`."""
    with SmtpServer(dovecot_tls, tls="starttls", tls_files=dovecot_tls.tls_files) as server:
        yield server


# --- DNS and HTTPS for `kithkin init`'s lookups (tests/lookupservers.py) -------------------


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    """A DNS server on 127.0.0.1 (UDP and TCP) answering from `dns_server.zone`."""
    with running(DnsServer()) as server:
        yield server


@pytest.fixture(scope="session")
def _lookup_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return lookup_tls_files(tmp_path_factory.mktemp("lookup-tls"))


@pytest.fixture
def https_server(_lookup_tls: TlsFiles) -> Iterator[HttpsServer]:
    """An HTTPS server on 127.0.0.1 serving `https_server.pages`; trust `tls.ca_file`."""
    with running(HttpsServer(_lookup_tls)) as server:
        yield server


# --- the CLI, with a private home ------------------------------------------------------------

KITHKIN_ENV = (
    "KITHKIN_CONFIG",
    "CREDENTIALS_DIRECTORY",
    "NOTIFY_SOCKET",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
    "STATE_DIRECTORY",
    "CONFIGURATION_DIRECTORY",
    "JOURNAL_STREAM",
    "INVOCATION_ID",
)


@pytest.fixture(autouse=True)
def kithkin_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own XDG config and data directories; nothing touches the real home."""
    home = tmp_path / "home"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    for name in KITHKIN_ENV:
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def run_cli(kithkin_home: Path) -> Callable[..., CliResult]:
    """Run `kithkin ARGS...` in-process (click's runner) and return its exit code and output."""
    from click.testing import CliRunner

    from kithkin.daemon.cli import cli

    def run(*args: str, input: str | None = None, now: datetime | None = None) -> CliResult:
        """`now`: the moment the command runs at (its clock), instead of the real one."""
        clock = (lambda: now) if now is not None else None
        result = CliRunner().invoke(cli, list(args), input=input, prog_name="kithkin", obj=clock)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run


# --- GNU Mailutils imap4d (tests/mailutils_server.py) ------------------------------------------


@pytest.fixture
def mailutils() -> Iterator[MailutilsServer]:
    """A fresh GNU Mailutils imap4d (mbox storage) with one virtdomain user
    (`kithkin@kithkin.test`), empty INBOX and a plain `Sent` folder (imap4d has no
    SPECIAL-USE). Skips without imap4d, fails instead if KITHKIN_REQUIRE_MAILUTILS=1."""
    require_mailutils()
    with MailutilsServer() as server:
        yield server


@pytest.fixture
def mailutils_maildir() -> Iterator[MailutilsServer]:
    """Like `mailutils`, with Maildir storage (INBOX and `Sent` are Maildirs)."""
    require_mailutils()
    with MailutilsServer(storage="maildir") as server:
        yield server
