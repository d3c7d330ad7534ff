"""Secrets and privacy, checked from the outside against a real Dovecot (and aiosmtpd):

- the IMAP password (from password_command, from $CREDENTIALS_DIRECTORY, and a wrong one)
  never shows up in stdout, stderr, debug logs, exception text, the database files (with
  -wal and -shm, while open and after close), the config, the preview or the sent summary;
- files and directories Kithkin creates are private, whatever the umask;
- after a sync with 50 strangers in the mailbox, nothing of theirs (name, address, subject)
  is in the database files, open or closed, nor in the logs;
- the process connects only to the configured IMAP host:port (and SMTP for a summary), as
  recorded by a `sitecustomize.py` that wraps every socket connect.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import stat
import subprocess
import sys
import time
import traceback
from ast import literal_eval
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import ME, write_config
from mailbuilder import encoded_word, make_message
from notifysocket import NotifySocket
from servers import DovecotServer, SmtpServer, free_port, imap_client

from kithkin.daemon.config import load_config
from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.session import ImapSession

SECRET = "Kk7-SECRET-c0ffee-4f9a2b-Passw0rd"
WRONG = "Kk7-WRONG-deadbeef-81d3e5-Guess"
OWNER = "owner"
KITHKIN = [sys.executable, "-m", "kithkin.daemon"]
DEADLINE = 60.0  # an upper bound for the daemon's start; nothing asserts on speed


# --- running Kithkin as a process ------------------------------------------------------------


@dataclass
class Run:
    label: str
    exit_code: int
    stdout: str
    stderr: str


def base_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",  # a headless server
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    for name in ("KITHKIN_CONFIG", "CREDENTIALS_DIRECTORY", "NOTIFY_SOCKET", "WATCHDOG_USEC"):
        if name not in extra:
            env.pop(name, None)
    return env


def kithkin(label: str, args: list[str], env: dict[str, str], umask: int | None = None) -> Run:
    done = subprocess.run(
        [*KITHKIN, *args], env=env, capture_output=True, text=True, errors="replace",
        stdin=subprocess.DEVNULL, check=False, timeout=120,
        umask=-1 if umask is None else umask,
    )  # fmt: skip
    return Run(label, done.returncode, done.stdout, done.stderr)


class Daemon:
    """`kithkin -vv run` under a notify socket; `stop()` sends SIGTERM and returns its log."""

    def __init__(self, config: Path, env: dict[str, str], notify: NotifySocket, umask=None):
        self.log_path = config.parent / f"daemon-{time.monotonic_ns()}.log"
        self.log_file = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [*KITHKIN, "--config", str(config), "-vv", "run"],
            env={**env, "NOTIFY_SOCKET": str(notify.path)},
            stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.STDOUT,
            umask=-1 if umask is None else umask,
        )  # fmt: skip
        self.notify = notify

    def wait_ready(self) -> None:
        self.notify.wait_for("READY=1", lambda: self.proc.poll() is None)

    def stop(self) -> Run:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=DEADLINE)
        finally:
            self.log_file.close()
        return Run("kithkin run", code, "", self.log_path.read_text(errors="replace"))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()


# --- looking for things ----------------------------------------------------------------------


def secret_forms(secret: str, username: str = OWNER) -> dict[str, bytes]:
    """The secret as it could leak: as is, base64 (AUTHENTICATE PLAIN), hex, UTF-16."""
    raw = secret.encode()
    return {
        "plain": raw,
        "base64": base64.b64encode(raw),
        "AUTH PLAIN": base64.b64encode(b"\0" + username.encode() + b"\0" + raw),
        "hex": raw.hex().encode(),
        "utf-16": secret.encode("utf-16-le"),
    }


def files_under(*roots: Path, skip: Iterable[Path] = ()) -> dict[str, bytes]:
    skipped = {p.resolve() for p in skip}
    found = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_socket() and path.resolve() not in skipped:
                found[str(path)] = path.read_bytes()
    return found


def db_files(store: Path) -> dict[str, bytes]:
    """The database and its -wal and -shm, as they are right now."""
    return {
        p.name: p.read_bytes() for p in sorted(store.parent.glob(store.name + "*")) if p.is_file()
    }


def places(needles: dict[str, bytes], haystacks: dict[str, bytes]) -> list[str]:
    return [
        f"{what} in {where}"
        for where, data in haystacks.items()
        for what, needle in needles.items()
        if needle in data
    ]


def runs_as_haystacks(runs: Iterable[Run]) -> dict[str, bytes]:
    found = {}
    for run in runs:
        found[f"{run.label}: stdout"] = run.stdout.encode()
        found[f"{run.label}: stderr"] = run.stderr.encode()
    return found


# --- 3. secrets ------------------------------------------------------------------------------


@dataclass
class SecretSetup:
    server: DovecotServer
    home: Path
    directory: Path
    config: Path
    store: Path
    secrets: Path  # files that hold the password on purpose; never searched
    env: dict[str, str]
    runs: list[Run] = field(default_factory=list)

    def run(self, label: str, *args: str, config: Path | None = None, **env: str) -> Run:
        result = kithkin(
            label, ["--config", str(config or self.config), "-vv", *args], {**self.env, **env}
        )
        self.runs.append(result)
        return result


def write_secret(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.touch(mode=0o600)
    path.write_text(text + "\n")
    return path


@pytest.fixture
def secret_setup(dovecot: DovecotServer, tmp_path: Path, kithkin_home: Path) -> SecretSetup:
    dovecot.add_user(OWNER, SECRET)
    secrets_dir = tmp_path / "secrets"
    password_file = write_secret(secrets_dir / "imap-password", SECRET)
    account = SimpleNamespace(host=dovecot.host, port=dovecot.port, username=OWNER, password="")
    directory = tmp_path / "k"
    config = write_config(
        directory, account,
        imap={"password_command": ["cat", str(password_file)]},
        sections={"daemon": {"poll_interval": "1s"}, "summary": {"delivery": "imap", "to": ME}},
    )  # fmt: skip
    (directory / "imap-password").unlink()  # write_config's own copy; the command reads ours
    with imap_client(dovecot, username=OWNER, password=SECRET) as client:
        for n in range(3):
            message = make_message(from_="Ada <ada@example.org>", to=ME, subject=f"hello {n}")
            client.append("INBOX", message)
    env = base_env(kithkin_home)
    setup = SecretSetup(dovecot, kithkin_home, directory, config, directory / "kithkin.db",
                        secrets_dir, env)  # fmt: skip
    added = setup.run("contacts add", "contacts", "add", "Ada", "--email", "ada@example.org")
    assert added.exit_code == 0, added.stderr
    return setup


def variant(
    setup: SecretSetup, path: Path, command: list[str] | None, port: int | None = None
) -> Path:
    """The setup's config with another password_command (None: none, so that
    $CREDENTIALS_DIRECTORY is the source) and, if given, another IMAP port."""
    lines = []
    for line in setup.config.read_text().splitlines():
        if line.startswith("password_command"):
            continue
        lines.append(f"port = {port}" if port and line.startswith("port = ") else line)
        if line == "[imap]" and command is not None:
            lines.append(f"password_command = {json.dumps(command)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def one_error_line(run: Run, *fragments: str) -> None:
    assert run.exit_code == 1, run
    errors = [line for line in run.stderr.splitlines() if line.startswith("kithkin: error:")]
    assert len(errors) == 1 and "Traceback" not in run.stderr, run.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def test_the_password_appears_nowhere(secret_setup: SecretSetup, tmp_path: Path) -> None:
    """Every way Kithkin meets the password, good or bad, with -vv debug logging: the
    password is in no output, no log, no file Kithkin wrote, no database file (open or
    closed), no preview and not in the summary it delivered."""
    s = secret_setup
    good = s.run("sync (password_command)", "sync")
    assert good.exit_code == 0, good.stderr
    assert "3 interaction(s) logged" in good.stdout

    from_directory = variant(s, s.directory / "creds.toml", None)
    credentials = write_secret(s.secrets / "creds" / "imap-password", SECRET).parent
    run = s.run("sync ($CREDENTIALS_DIRECTORY)", "sync", config=from_directory,
                CREDENTIALS_DIRECTORY=str(credentials))  # fmt: skip
    assert run.exit_code == 0, run.stderr

    wrong = write_secret(s.secrets / "wrong" / "imap-password", WRONG)
    run = s.run("sync (wrong password, credentials dir)", "sync", config=from_directory,
                CREDENTIALS_DIRECTORY=str(wrong.parent))  # fmt: skip
    one_error_line(run, "login failed")
    wrong_command = variant(s, s.directory / "wrong.toml", ["cat", str(wrong)])
    run = s.run("sync (wrong password, command)", "sync", config=wrong_command)
    one_error_line(run, "login failed")
    good_command = ["cat", str(s.secrets / "imap-password")]
    unreachable = variant(s, s.directory / "unreachable.toml", good_command, port=free_port())
    one_error_line(s.run("sync (unreachable)", "sync", config=unreachable), "connection refused")
    leaky = ["sh", "-c", f"echo 'prompt: {SECRET}' >&2; echo '{SECRET}'; exit 3"]
    echoing = variant(s, s.secrets / "echoing.toml", leaky)  # holds the password: not searched
    run = s.run("sync (command prints it and fails)", "sync", config=echoing)
    one_error_line(run, "exited with status 3")

    assert s.run("status --json", "status", "--json").exit_code == 0
    preview = tmp_path / "preview"
    assert s.run("summary --preview", "summary", "--preview", str(preview)).exit_code == 0
    sent = s.run("summary --send", "summary", "--send")
    assert sent.exit_code == 0, sent.stderr

    notify = NotifySocket(tmp_path / "notify.sock")
    daemon = Daemon(s.config, s.env, notify)
    try:
        daemon.wait_ready()
        while_open = db_files(s.store)
        assert any(name.endswith("-wal") for name in while_open)
        s.runs.append(daemon.stop())
    finally:
        daemon.kill()
        notify.close()
    assert s.runs[-1].exit_code == 0, s.runs[-1].stderr

    haystacks = {
        **runs_as_haystacks(s.runs),
        **{f"{name} (while the daemon ran)": data for name, data in while_open.items()},
        **files_under(s.home, s.directory, preview, skip=[s.secrets]),
        **{f"INBOX: {n}": data for n, data in enumerate(inbox(s.server))},
    }
    assert str(preview / "summary.eml") in haystacks  # the preview was searched...
    assert any(b"X-Kithkin-Summary" in data for data in haystacks.values())  # ...and the sent one
    leaks = places(secret_forms(SECRET), haystacks) + places(secret_forms(WRONG), haystacks)
    assert not leaks, leaks


def inbox(server: DovecotServer) -> list[bytes]:
    """Every message in the owner's INBOX, whole (the summary Kithkin delivered included)."""
    with imap_client(server, username=OWNER, password=SECRET) as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        return [data[b"BODY[]"] for data in client.fetch(uids, ["BODY.PEEK[]"]).values()]


def exception_chain(exc: BaseException) -> list[BaseException]:
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def test_a_login_failure_carries_no_password_in_any_exception(dovecot: DovecotServer) -> None:
    """The MailboxError for a refused login, everything chained to it (cause and suppressed
    context), their reprs, args and the formatted traceback: no password."""
    dovecot.add_user(OWNER, SECRET)
    account = SimpleNamespace(host=dovecot.host, port=dovecot.port, username=OWNER, password="")
    config = load_config(write_config(Path(dovecot.directory) / "cfg", account)).require_imap()
    with pytest.raises(MailboxError) as caught:
        ImapSession.connect(config, WRONG)
    chain = exception_chain(caught.value)
    texts = [text for exc in chain for text in (str(exc), repr(exc), repr(exc.args))]
    texts.append("".join(traceback.format_exception(caught.value, chain=True)))
    texts.append("".join(traceback.format_exception(chain[-1], chain=True)))
    assert "login failed" in texts[0]
    for text in texts:
        for form in secret_forms(WRONG).values():
            assert form.decode("latin-1") not in text


# --- 3b. file modes --------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_config_store_and_data_directory_are_private_even_with_umask_000(
    tmp_path: Path, kithkin_home: Path
) -> None:
    """With umask 000 (everything would be world-writable): `init` writes the config 0600
    in a 0700 directory; the store is 0600 in a 0700 directory; its -wal and -shm, while
    the daemon holds them open, are 0600."""
    env = base_env(kithkin_home)
    password = write_secret(tmp_path / "secrets" / "pw", "unused")
    init = kithkin("init", ["init", "--email", ME, "--imap-host", "127.0.0.1",
                            "--password-command", f"cat {password}"], env, umask=0)  # fmt: skip
    assert init.exit_code == 0, init.stderr
    config = kithkin_home / "config" / "kithkin" / "config.toml"
    assert (mode(config), mode(config.parent)) == (0o600, 0o700)
    # The poll fails fast (nothing listens on 127.0.0.1:993): only the store matters here.
    with config.open("a") as handle:
        handle.write('\n[daemon]\npoll_interval = "1s"\n')
    added = kithkin("add", ["contacts", "add", "Ada", "--email", "ada@example.org"], env, umask=0)
    assert added.exit_code == 0, added.stderr
    store = kithkin_home / "data" / "kithkin" / "kithkin.db"
    assert (mode(store), mode(store.parent)) == (0o600, 0o700)

    notify = NotifySocket(tmp_path / "notify.sock")
    daemon = Daemon(config, env, notify, umask=0)
    try:
        daemon.wait_ready()
        open_files = {p.name: mode(p) for p in store.parent.iterdir()}
        daemon.stop()
    finally:
        daemon.kill()
        notify.close()
    assert {"kithkin.db-wal", "kithkin.db-shm"} <= set(open_files), open_files
    assert open_files == dict.fromkeys(open_files, 0o600), open_files


def test_preview_files_are_private(secret_setup: SecretSetup, tmp_path: Path) -> None:
    """The preview holds names and subjects: with the usual umask 022 its files should be
    0600 and a directory Kithkin creates 0700, while a directory the user already has keeps
    its own mode."""
    s = secret_setup
    assert s.run("sync", "sync").exit_code == 0
    created = tmp_path / "new-preview"
    existing = tmp_path / "my-previews"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)
    for directory in (created, existing):
        run = kithkin("preview", ["--config", str(s.config), "summary", "--preview",
                                  str(directory)], s.env, umask=0o022)  # fmt: skip
        assert run.exit_code == 0, run.stderr
    assert mode(existing) == 0o755
    files = {str(p): mode(p) for d in (created, existing) for p in sorted(d.iterdir())}
    assert len(files) == 6
    assert (mode(created), files) == (0o700, dict.fromkeys(files, 0o600))


# --- 4. privacy ------------------------------------------------------------------------------

STRANGERS = 50
CONTACTS = {"Ada Lovelace": "ada@example.org", "Grace Hopper": "grace@bücher.example"}


def stranger(n: int) -> tuple[str, str, str]:
    """(display name, address, subject): distinctive, so a byte search cannot miss them."""
    name = f"Xyloph{n:02d} Quorvath" if n % 3 else f"Xylöph{n:02d} Quörvath"
    domain = f"strangers-{n:02d}.example" if n % 4 else f"strängers-{n:02d}.example"
    return name, f"qv{n:02d}.zed@{domain}", f"Marmoset-Topic-{n:02d} plans"


def stranger_needles() -> dict[str, bytes]:
    needles: dict[str, bytes] = {
        "a stranger name": b"Xyloph", "a stranger name (8-bit)": "Xylöph".encode(),
        "a stranger surname": b"Quorvath", "a stranger surname (8-bit)": "Quörvath".encode(),
        "a stranger domain": b"strangers-", "a stranger IDN domain": "strängers-".encode(),
        "a stranger IDN domain (punycode)": b"xn--strngers", "a stranger subject": b"Marmoset",
        "a stranger local part": b".zed@",
    }  # fmt: skip
    for n in range(STRANGERS):
        name, address, subject = stranger(n)
        needles.update({f"name {n}": name.encode(), f"address {n}": address.encode(),
                        f"subject {n}": subject.encode()})  # fmt: skip
    return needles


def stranger_messages(batch: str) -> list[tuple[str, bytes]]:
    """(folder, message) for 50 strangers in every position, plus contact mail that has
    strangers in copy. The subjects of contact mail are the only ones that may be stored."""
    found = []
    for n in range(STRANGERS):
        name, address, subject = stranger(n)
        written = f"{encoded_word(name)} <{address}>" if n % 2 else f'"{name}" <{address}>'
        other = stranger((n + 1) % STRANGERS)
        found += [
            ("INBOX", make_message(from_=written, to=ME, subject=f"{subject} {batch}")),
            ("Sent", make_message(from_=ME, to=written, subject=f"Re: {subject} {batch}")),
            ("INBOX", make_message(from_=written, to=ME, cc=f"{other[0]} <{other[1]}>",
                                   subject=encoded_word(f"{subject} {batch} ü"))),
        ]  # fmt: skip
    crowd = [f"{stranger(n)[0]} <{stranger(n)[1]}>" for n in range(0, STRANGERS, 7)]
    found += [
        ("INBOX", make_message(from_="Ada <ada@example.org>", to=ME, cc=crowd,
                               subject=f"Ada dinner {batch}")),
        ("Sent", make_message(from_=ME, to="Grace <grace@xn--bcher-kva.example>",
                              bcc=crowd, subject=f"Grace notes {batch}")),
    ]  # fmt: skip
    return found


SITECUSTOMIZE = '''
"""Test hook: record every connection attempt and name lookup of this process."""
import os
import socket

_LOG = os.environ["KITHKIN_TEST_NET_LOG"]


def _record(*fields):
    with open(_LOG, "a", encoding="utf-8") as handle:
        handle.write("\\t".join(str(field) for field in fields) + "\\n")


_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex
_create_connection, _getaddrinfo = socket.create_connection, socket.getaddrinfo


def connect(self, address):
    _record("connect", self.family.name, repr(address))
    return _connect(self, address)


def connect_ex(self, address):
    _record("connect", self.family.name, repr(address))
    return _connect_ex(self, address)


def create_connection(address, *args, **kwargs):
    _record("create_connection", "", repr(tuple(address)))
    return _create_connection(address, *args, **kwargs)


def getaddrinfo(host, port, *args, **kwargs):
    _record("getaddrinfo", "", repr((host, port)))
    return _getaddrinfo(host, port, *args, **kwargs)


socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
socket.create_connection, socket.getaddrinfo = create_connection, getaddrinfo
'''


def with_network_log(env: dict[str, str], tmp_path: Path, name: str) -> tuple[dict, Path]:
    hook = tmp_path / "nethook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    log = tmp_path / f"{name}.netlog"
    path = os.pathsep.join(p for p in (str(hook), env.get("PYTHONPATH", "")) if p)
    return {**env, "PYTHONPATH": path, "KITHKIN_TEST_NET_LOG": str(log)}, log


def network_log(log: Path) -> list[tuple[str, str, str]]:
    return [tuple(line.split("\t")) for line in log.read_text().splitlines()]  # type: ignore[misc]


def assert_only_connects_to(
    entries: list[tuple[str, str, str]], allowed: set[tuple[str, int]], unix: set[str] = frozenset()
) -> None:
    """Every connect and lookup is for an allowed endpoint; at least one connect happened."""
    assert any(kind != "getaddrinfo" for kind, _, _ in entries), entries  # the hook worked
    hosts = {host for host, _ in allowed}
    for kind, family, address in entries:
        if family == "AF_UNIX":
            assert literal_eval(address) in unix, (kind, address)
        elif kind == "getaddrinfo":
            assert literal_eval(address)[0] in hosts, (kind, address)
        else:
            host, port = literal_eval(address)[:2]
            assert (host, port) in allowed, (kind, family, address)


@dataclass
class PrivacySetup:
    server: DovecotServer
    config: Path
    store: Path
    env: dict[str, str]

    def append(self, messages: list[tuple[str, bytes]]) -> None:
        with imap_client(self.server) as client:
            for folder, message in messages:
                client.append(folder, message)


@pytest.fixture
def privacy_setup(dovecot: DovecotServer, tmp_path: Path, kithkin_home: Path) -> PrivacySetup:
    config = write_config(tmp_path / "k", dovecot, sections={"daemon": {"poll_interval": "1s"}})
    env = base_env(kithkin_home)
    for name, address in CONTACTS.items():
        added = kithkin("add", ["--config", str(config), "contacts", "add", name, "--email",
                                address], env)  # fmt: skip
        assert added.exit_code == 0, added.stderr
    return PrivacySetup(dovecot, config, tmp_path / "k" / "kithkin.db", env)


def test_strangers_leave_no_trace_and_only_the_imap_server_is_contacted(
    privacy_setup: PrivacySetup, tmp_path: Path
) -> None:
    """`kithkin sync` (a subprocess, connections recorded) and then the daemon over a
    mailbox with 50 strangers in From, To, Cc and Bcc, as plain, quoted, encoded and IDN
    names: their names, addresses and subjects are in no database file (open or closed) and
    in no log line, the contacts' mail is, and every connection went to the IMAP host:port
    (plus the daemon's notify socket)."""
    p = privacy_setup
    imap = {(p.server.host, p.server.port)}
    needles = stranger_needles()
    p.append(stranger_messages("one"))
    env, log = with_network_log(p.env, tmp_path, "sync")
    synced = kithkin("sync", ["--config", str(p.config), "-vv", "sync"], env)
    assert synced.exit_code == 0, synced.stderr
    assert "2 interaction(s) logged" in synced.stdout
    assert_only_connects_to(network_log(log), imap)
    closed = db_files(p.store)
    assert b"Ada dinner one" in b"".join(closed.values())  # the search finds what is there
    assert not places(needles, {**closed, **runs_as_haystacks([synced])})

    p.append(stranger_messages("two"))
    env, log = with_network_log(p.env, tmp_path, "daemon")
    notify = NotifySocket(tmp_path / "notify.sock")
    daemon = Daemon(p.config, env, notify)
    try:
        daemon.wait_ready()  # READY comes after the first poll has committed
        while_open = db_files(p.store)
        stopped = daemon.stop()
    finally:
        daemon.kill()
        notify.close()
    assert stopped.exit_code == 0, stopped.stderr
    assert any(name.endswith("-wal") for name in while_open), while_open.keys()
    assert b"Grace notes two" in b"".join(while_open.values())
    after = db_files(p.store)
    assert not places(needles, {**while_open, **after, **runs_as_haystacks([stopped])})
    assert_only_connects_to(network_log(log), imap, unix={str(notify.path)})


def test_a_summary_sent_by_smtp_connects_only_to_the_smtp_server(
    smtp_server: SmtpServer, tmp_path: Path, kithkin_home: Path
) -> None:
    """`kithkin summary --send` with SMTP delivery: the only connection is to the
    configured SMTP host:port, and the message went to the owner."""
    secret = write_secret(tmp_path / "secrets" / "smtp-password", smtp_server.password)
    smtp = {"host": smtp_server.host, "port": smtp_server.port, "security": "none",
            "username": smtp_server.username, "password_command": ["cat", str(secret)]}  # fmt: skip
    config = write_config(
        tmp_path / "k",
        smtp_server.mailbox,
        sections={"smtp": smtp, "summary": {"delivery": "smtp", "to": ME}},
    )
    env, log = with_network_log(base_env(kithkin_home), tmp_path, "send")
    sent = kithkin("send", ["--config", str(config), "-vv", "summary", "--send"], env)
    assert sent.exit_code == 0, sent.stderr
    assert [m.rcpt_tos for m in smtp_server.messages] == [(ME,)]
    assert_only_connects_to(network_log(log), {(smtp_server.host, smtp_server.port)})
