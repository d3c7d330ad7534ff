"""Secrets that are not plain ASCII, against real servers (Dovecot, aiosmtpd):

- a non-ASCII IMAP password logs in (AUTHENTICATE PLAIN, UTF-8) for the sync and for
  `delivery = "imap"`; a wrong one is "login failed", one line;
- a non-ASCII SMTP password or username sends the summary (AUTH PLAIN, UTF-8);
- no error carries a piece of a secret: not the secret, not a segment of it, not one of its
  characters as an escape, not the position of one (as a UnicodeError's text would);
- `kithkin run` with a credential file that is not UTF-8, or a wrong non-ASCII password,
  keeps running and retrying, and stops cleanly on SIGTERM.

Nothing here prints a secret: a failed assertion shows output with every secret blanked.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import ME, write_config
from imapclient import IMAPClient
from mailbuilder import make_message
from notifysocket import NotifySocket
from servers import DovecotServer, SmtpServer

from kithkin.daemon.config import load_config
from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.connect import describe_failure
from kithkin.daemon.mail.session import ImapSession

# No ':' in them: Dovecot's passwd-file separates its fields with it.
SECRET = "Kk7-Pässwörd-日本語-€uro-c0ffee42"
WRONG = "Kk7-Wröng-Guëss-deadbeef81"
SMTP_SECRET = "Kk7-Gëheim-Straße-9b1c77"
ASCII_SECRET = "Kk7-Ascii0nly-Passw0rdZ9q"
NOT_UTF8 = b"Kk7-Latin1-Caf\xe9Cr\xe8me-5ecr3t77"  # Latin-1, not UTF-8
OWNER = "owner"
KITHKIN = [sys.executable, "-m", "kithkin.daemon"]
DEADLINE = 60.0  # an upper bound for the daemon to report; nothing asserts on speed


# --- what a leak looks like ------------------------------------------------------------------


def needles(secret: str | bytes) -> dict[str, bytes]:
    """The secret whole and encoded, each of its segments, and each non-ASCII character or
    byte as Python writes it in an error ("'\\xe9'", "byte 0xe9")."""
    raw = secret.encode() if isinstance(secret, str) else secret
    found = {"whole": raw, "base64": base64.b64encode(raw), "hex": raw.hex().encode()}
    segments = [part for part in re.split(rb"[-\s]+", raw)[1:] if len(part) >= 4]
    for n, segment in enumerate(segments):
        found[f"segment {n}"] = segment
    if isinstance(secret, str):
        escapes = {ascii(c)[1:-1] for c in secret if not c.isascii()}
    else:
        escapes = {f"\\x{b:02x}" for b in raw if b > 127} | {f"0x{b:02x}" for b in raw if b > 127}
    found.update({f"escape {e}": e.encode() for e in escapes})
    return found


SECRETS: tuple[str | bytes, ...] = (SECRET, WRONG, SMTP_SECRET, ASCII_SECRET, NOT_UTF8)
UNICODE_ERROR_WORDS = (b"in position", b"codec can't")


def leaks(haystacks: dict[str, bytes]) -> list[str]:
    """Where a piece of a secret (or a UnicodeError's text) shows: labels only."""
    pieces = {f"{n}/{label}": needle for n, secret in enumerate(SECRETS)
              for label, needle in needles(secret).items()}  # fmt: skip
    pieces.update({word.decode(): word for word in UNICODE_ERROR_WORDS})
    return [f"{label} in {where}" for where, data in haystacks.items()
            for label, needle in pieces.items() if needle in data]  # fmt: skip


def blanked(text: str) -> str:
    """`text` safe to show in a failed assertion: every secret and segment blanked."""
    for secret in SECRETS:
        for needle in sorted(needles(secret).values(), key=len, reverse=True):
            text = text.replace(needle.decode("utf-8", "replace"), "<secret>")
    return text


# --- running Kithkin -------------------------------------------------------------------------


@dataclass(repr=False)
class Run:
    exit_code: int
    stdout: str
    stderr: str

    def __repr__(self) -> str:  # pytest shows arguments of failing frames: never a secret
        return f"Run({self.shown()!r})"

    def shown(self) -> str:
        return blanked(f"exit {self.exit_code}\nstdout: {self.stdout}\nstderr: {self.stderr}")

    def haystacks(self, label: str) -> dict[str, bytes]:
        return {f"{label}: stdout": self.stdout.encode(), f"{label}: stderr": self.stderr.encode()}


def environment(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_DATA_HOME": str(home / "data"), "PYTHONUNBUFFERED": "1",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", **extra}  # fmt: skip
    for name in ("CREDENTIALS_DIRECTORY", "NOTIFY_SOCKET", "WATCHDOG_USEC", "KITHKIN_CONFIG"):
        if name not in extra:
            env.pop(name, None)
    return env


def kithkin(config: Path, env: dict[str, str], *args: str) -> Run:
    done = subprocess.run(
        [*KITHKIN, "--config", str(config), "-vv", *args], env=env, capture_output=True,
        text=True, errors="replace", stdin=subprocess.DEVNULL, check=False, timeout=120,
    )  # fmt: skip
    return Run(done.returncode, done.stdout, done.stderr)


def one_error_line(run: Run, *fragments: str) -> None:
    assert run.exit_code == 1, run.shown()
    no_traceback = "Traceback" not in run.stderr
    assert no_traceback, run.shown()
    lines = run.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("kithkin: error:")]
    says_all = len(errors) == 1 and all(fragment in errors[0] for fragment in fragments)
    assert says_all, run.shown()


def secret_file(path: Path, secret: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.touch(mode=0o600)
    path.write_bytes((secret.encode() if isinstance(secret, str) else secret) + b"\n")
    return path


@dataclass
class Owner:
    """A Dovecot user whose password is SECRET, one message from a contact in INBOX, and a
    config reading the password from `secrets/imap-password`."""

    server: DovecotServer
    config: Path
    password_file: Path
    env: dict[str, str]

    def use_password(self, secret: str | bytes) -> None:
        secret_file(self.password_file, secret)


@pytest.fixture
def owner(dovecot: DovecotServer, tmp_path: Path, kithkin_home: Path, run_cli) -> Owner:
    dovecot.add_user(OWNER, SECRET)
    account = SimpleNamespace(host=dovecot.host, port=dovecot.port, username=OWNER, password="")
    password_file = secret_file(tmp_path / "secrets" / "imap-password", SECRET)
    config = write_config(
        tmp_path / "k", account, imap={"password_command": ["cat", str(password_file)]},
        sections={"daemon": {"poll_interval": "1s"}, "summary": {"delivery": "imap", "to": ME}},
    )  # fmt: skip
    added = run_cli("--config", str(config), "contacts", "add", "Ada", "--email", "ada@example.org")
    assert added.exit_code == 0
    with IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=10) as client:
        client.plain_login(OWNER, SECRET)  # LOGIN, in imaplib, is ASCII only
        client.append("INBOX", make_message(from_="Ada <ada@example.org>", to=ME, subject="hi"))
    return Owner(dovecot, config, password_file, environment(kithkin_home))


# --- IMAP ------------------------------------------------------------------------------------


def test_a_non_ascii_imap_password_syncs_and_delivers(owner: Owner) -> None:
    """LOGIN cannot carry it (imaplib sends ASCII only): AUTHENTICATE PLAIN in UTF-8 does,
    for the sync and for the summary APPENDed into INBOX."""
    synced = kithkin(owner.config, owner.env, "sync")
    assert synced.exit_code == 0, synced.shown()
    logged = "1 interaction(s) logged" in synced.stdout
    assert logged, synced.shown()
    sent = kithkin(owner.config, owner.env, "summary", "--send")
    assert sent.exit_code == 0, sent.shown()
    assert leaks({**synced.haystacks("sync"), **sent.haystacks("send")}) == []


def test_a_wrong_non_ascii_imap_password_is_login_failed_and_nothing_of_it(owner: Owner) -> None:
    owner.use_password(WRONG)
    run = kithkin(owner.config, owner.env, "sync")
    one_error_line(run, "login failed", "refused the username or password")
    assert leaks(run.haystacks("sync")) == []


def exception_texts(exc: BaseException) -> dict[str, bytes]:
    """str, repr and args of `exc` and of everything chained to it (cause and the
    suppressed context), and the formatted traceback."""
    texts, seen, current = {}, set(), exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        label = type(current).__name__
        for kind, text in (("str", str(current)), ("repr", repr(current)),
                           ("args", repr(current.args))):  # fmt: skip
            texts[f"{label} {kind}"] = text.encode("utf-8", "backslashreplace")
        current = current.__cause__ or current.__context__
    formatted = "".join(traceback.format_exception(exc, chain=True))
    texts["traceback"] = formatted.encode("utf-8", "backslashreplace")
    return texts


def test_a_refused_non_ascii_password_is_in_no_exception(owner: Owner) -> None:
    config = load_config(owner.config).require_imap()
    with pytest.raises(MailboxError) as caught:
        ImapSession.connect(config, WRONG)
    says_login_failed = "login failed" in str(caught.value)
    assert says_login_failed, blanked(str(caught.value))
    assert leaks(exception_texts(caught.value)) == []


UNICODE_ERRORS = {
    "encode": lambda: UnicodeEncodeError("ascii", SECRET, 5, 6, "ordinal not in range(128)"),
    "decode": lambda: UnicodeDecodeError("utf-8", NOT_UTF8, 14, 15, "invalid continuation byte"),
}


@pytest.mark.parametrize("kind", UNICODE_ERRORS)
def test_describe_failure_gives_the_kind_of_a_unicode_error_only(kind: str) -> None:
    text = describe_failure(UNICODE_ERRORS[kind]())
    one_line = bool(text) and "\n" not in text
    assert one_line
    assert leaks({"describe_failure": text.encode("utf-8", "backslashreplace")}) == []


# --- SMTP ------------------------------------------------------------------------------------


SMTP_ACCOUNTS = {  # (username, password); None: the test server's own
    "non-ascii-password": (None, SMTP_SECRET),
    "non-ascii-username": ("jösé-ñandú", ASCII_SECRET),
}


@pytest.mark.parametrize("account", SMTP_ACCOUNTS)
def test_smtp_auth_with_non_ascii_credentials(
    smtp_server: SmtpServer, tmp_path: Path, kithkin_home: Path, account: str
) -> None:
    """smtplib encodes AUTH as ASCII: AUTH PLAIN in UTF-8 instead, accepted (235); a wrong
    password is "SMTP login failed" (535), one line, with nothing of it."""
    username, password = SMTP_ACCOUNTS[account]
    smtp_server.username = username or smtp_server.username
    smtp_server.password = password
    password_file = secret_file(tmp_path / "secrets" / "smtp-password", password)
    smtp = {
        "host": smtp_server.host,
        "port": smtp_server.port,
        "security": "none",
        "username": smtp_server.username,
        "password_command": ["cat", str(password_file)],
    }
    sections = {"smtp": smtp, "summary": {"delivery": "smtp", "to": ME}}
    config = write_config(tmp_path / "k", smtp_server.mailbox, sections=sections)
    env = environment(kithkin_home)
    sent = kithkin(config, env, "summary", "--send")
    assert sent.exit_code == 0, sent.shown()
    assert [m.login for m in smtp_server.messages] == [smtp_server.username]
    secret_file(password_file, WRONG)
    refused = kithkin(config, env, "summary", "--send", "--force")  # a second this week
    one_error_line(refused, f"{smtp_server.host}:{smtp_server.port}", "SMTP login failed")
    assert len(smtp_server.messages) == 1
    assert leaks({**sent.haystacks("sent"), **refused.haystacks("refused")}) == []


# --- bad credentials under `kithkin run` ------------------------------------------------------


def test_a_credential_file_that_is_not_utf8_is_one_line(owner: Owner, tmp_path: Path) -> None:
    credentials = secret_file(tmp_path / "creds" / "imap-password", NOT_UTF8).parent
    env = {**owner.env, "CREDENTIALS_DIRECTORY": str(credentials)}
    run = kithkin(owner.config, env, "sync")
    one_error_line(run, str(credentials / "imap-password"), "UTF-8")
    assert leaks(run.haystacks("sync")) == []


def test_a_password_command_printing_something_not_utf8_is_one_line(owner: Owner) -> None:
    owner.use_password(NOT_UTF8)
    run = kithkin(owner.config, owner.env, "sync")
    one_error_line(run, "password_command", "UTF-8")
    assert leaks(run.haystacks("sync")) == []


class Daemon:
    """`kithkin -vv run` under a notify socket, its stdout and stderr in files."""

    def __init__(self, owner: Owner, env: dict[str, str], notify: NotifySocket) -> None:
        self.out = owner.config.parent / "daemon.out"
        self.err = owner.config.parent / "daemon.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                [*KITHKIN, "--config", str(owner.config), "-vv", "run"],
                env={**env, "NOTIFY_SOCKET": str(notify.path)},
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            )  # fmt: skip
        self.notify = notify

    def reported(self, fragment: str) -> bool:
        """Wait until a datagram holds `fragment` (True) or the process ends (False)."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            self.notify.collect()
            if any(fragment in message for message in self.notify.messages):
                return True
            if self.proc.poll() is not None:
                return False
        return False

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=DEADLINE)

    def output(self) -> Run:
        code = self.proc.returncode if self.proc.returncode is not None else -1
        return Run(code, self.out.read_text(errors="replace"), self.err.read_text(errors="replace"))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def database_files(config: Path) -> dict[str, bytes]:
    store = config.parent / "kithkin.db"
    return {p.name: p.read_bytes() for p in store.parent.glob("kithkin.db*") if p.is_file()}


def as_haystacks(label: str, messages: Iterable[str]) -> dict[str, bytes]:
    return {f"{label} {n}": message.encode() for n, message in enumerate(messages)}


@pytest.mark.parametrize("credential", ["not-utf8-file", "wrong-non-ascii"])
def test_the_daemon_keeps_running_with_a_bad_credential(
    owner: Owner, tmp_path: Path, credential: str
) -> None:
    """From $CREDENTIALS_DIRECTORY, as systemd's LoadCredential= gives it: the first attempt
    fails, the service says so (STATUS=failing), retries, and keeps running until SIGTERM
    (exit 0); nothing of the secret is in its output, notify messages, `status` or database."""
    secret = NOT_UTF8 if credential == "not-utf8-file" else WRONG
    credentials = secret_file(tmp_path / "creds" / "imap-password", secret).parent
    env = {**owner.env, "CREDENTIALS_DIRECTORY": str(credentials)}
    notify = NotifySocket(tmp_path / "notify.sock")
    daemon = Daemon(owner, env, notify)
    try:
        failing = daemon.reported("STATUS=failing (2x)")  # the first attempt, then a retry
        alive_after_failing = daemon.proc.poll() is None
        code = daemon.stop()
    finally:
        daemon.kill()
        notify.close()
    run = daemon.output()
    assert failing and alive_after_failing, run.shown()
    assert code == 0, run.shown()
    status = kithkin(owner.config, owner.env, "status", "--json")
    state = json.loads(status.stdout)["service"]["state"] if status.exit_code == 0 else None
    assert state == "failing", status.shown()
    haystacks = {**run.haystacks("kithkin run"), **as_haystacks("datagram", notify.messages),
                 **status.haystacks("status"), **database_files(owner.config)}  # fmt: skip
    assert leaks(haystacks) == []
