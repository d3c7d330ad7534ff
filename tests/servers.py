"""Real IMAP and SMTP servers on 127.0.0.1 for the test suite, and helpers that talk to them.

- `DovecotServer`: Dovecot started from a generated config in its own temp dir, as root
  (mail stored as the `mail` user) or as an ordinary user (everything runs as that user).
- `PymapServer`: pymap's in-memory `dict` backend in a subprocess, one user, INBOX and `Sent`.
- `SmtpServer`: aiosmtpd on a free port; every accepted message is APPENDed to a Dovecot
  user's INBOX over IMAP, and its envelope is recorded.
- `append`, `create_folder`, `recreate_folder`, `flags_snapshot`, `imap_client`: set up and
  inspect mailboxes through the protocol, the way the daemon sees them.

Nothing here sleeps a fixed time: start-up and shutdown poll with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import imaplib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from helpers import missing_tool
from imapclient import IMAPClient

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
IMAP_TIMEOUT = 10.0

Process = subprocess.Popen[bytes]


class ServerError(RuntimeError):
    """A test server failed to start or stop; the message carries its log tail."""


class ImapServer(Protocol):
    """What the helpers below need from a server: where it is and one login."""

    host: str
    port: int
    username: str
    password: str


# --- ports and processes -------------------------------------------------------------------


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free a moment ago (the kernel picks it; a race is unlikely)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_accepts(host: str, port: int, *, expect: bytes | None = None) -> bool:
    """True if a TCP connection succeeds (and, with `expect`, the first line starts so)."""
    try:
        # Short: a stranger holding the port may accept and never greet (callers retry).
        with socket.create_connection((host, port), timeout=0.5) as sock:
            if expect is None:
                return True
            return sock.makefile("rb").readline().startswith(expect)
    except OSError:
        return False


def wait_for_port(
    host: str,
    port: int,
    *,
    timeout: float = START_TIMEOUT,
    expect: bytes | None = None,
    alive: Callable[[], bool] | None = None,
    what: str = "server",
) -> None:
    """Poll until `host:port` accepts connections; give up early if `alive()` turns False."""
    deadline = time.monotonic() + timeout
    while True:
        if alive is not None and not alive():
            raise ServerError(f"{what} exited before {host}:{port} accepted connections")
        if port_accepts(host, port, expect=expect):
            return
        if time.monotonic() > deadline:
            raise ServerError(f"{what} did not accept connections on {host}:{port} in {timeout}s")
        time.sleep(0.02)


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group `pgid`, read from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command name: state ppid pgrp ...
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            members.append(int(entry))
    return members


def listening_sockets(pids: Iterable[int]) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state that one of `pids` holds."""
    inodes = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        inodes.add(target[len("socket:[") : -1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and inode in inodes:  # 0A: LISTEN
                    address, port = local.split(":")
                    raw = bytes.fromhex(address)
                    if len(raw) == 4:  # IPv4, stored as a little-endian word
                        address = socket.inet_ntoa(raw[::-1])
                    found.add((address, int(port, 16)))
    return found


def _end_process_group(proc: Process, *, timeout: float = STOP_TIMEOUT) -> None:
    """Reap `proc` (a session leader) and make sure nothing of its group survives."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + timeout
    while _group_members(proc.pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.02)


_background_stops: list[threading.Thread] = []


def wait_for_background_stops() -> None:
    """Join the shutdowns started by `close(wait=False)`."""
    while _background_stops:
        _background_stops.pop().join()


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} missing)"


def find_binary(name: str) -> str | None:
    """`name` on PATH, or in the sbin directories an ordinary user's PATH often lacks."""
    found = shutil.which(name)
    if found:
        return found
    for directory in ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"):
        candidate = Path(directory, name)
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def dovecot_available() -> bool:
    return find_binary("dovecot") is not None and find_binary("doveadm") is not None


def require_dovecot() -> None:
    """Skip without Dovecot, or fail if KITHKIN_REQUIRE_DOVECOT=1 (as CI sets it)."""
    if dovecot_available():
        return
    missing_tool(
        "dovecot not installed (apt-get install dovecot-imapd); pymap tests still run",
        "KITHKIN_REQUIRE_DOVECOT",
    )


# --- TLS -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only this CA."""
        return ssl.create_default_context(cafile=str(self.ca_file))


def make_tls_files(directory: Path) -> TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost, via `openssl`."""
    openssl = find_binary("openssl")
    if openssl is None:
        raise ServerError("openssl is needed to make test certificates")
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = directory / "ca.key", directory / "ca.crt"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ext = directory / "server.ext"
    ext.write_text(
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
        "authorityKeyIdentifier = keyid\n"
        "subjectKeyIdentifier = hash\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    commands = [
        [openssl, "req", "-x509", *ec, "-keyout", ca_key, "-out", ca_cert, "-days", "7",
         "-subj", "/CN=Kithkin test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        [openssl, "req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        [openssl, "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key,
         "-CAcreateserial", "-out", cert, "-days", "7", "-extfile", ext],
    ]  # fmt: skip
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServerError(f"{' '.join(map(str, command))} failed:\n{result.stderr}")
    return TlsFiles(ca_file=ca_cert, cert_file=cert, key_file=key)


# --- Dovecot -------------------------------------------------------------------------------


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class DovecotServer:
    """Dovecot on 127.0.0.1 with one passwd-file user, Maildir storage, INBOX and `Sent`.

    All state lives in a fresh temp dir (`directory`): config, passwd-files, mail, logs.
    As root, Dovecot refuses to access mail as root, so mail belongs to the `mail` user and
    the login and internal processes run as `dovenull` and `dovecot` (Debian's users). As an
    ordinary user, every process runs as that user. The mailbox hierarchy separator is
    Dovecot's Maildir++ default, ".".
    """

    def __init__(self, *, all_mail: bool = False, tls: bool = False, username: str = "kithkin"):
        self.host = LOOPBACK
        self.port = 0
        self.tls_port: int | None = None
        self.all_mail = all_mail
        self.tls = tls
        self.username = username
        self.password = secrets.token_urlsafe(18)
        self._dovecot = find_binary("dovecot")
        self._doveadm = find_binary("doveadm")
        if self._dovecot is None or self._doveadm is None:
            raise ServerError("dovecot is not installed (apt-get install dovecot-imapd)")
        self.directory = Path(tempfile.mkdtemp(prefix="kithkin-dovecot-"))
        self.conf = self.directory / "dovecot.conf"
        self.passwd_dir = self.directory / "passwd"
        self.log_file = self.directory / "dovecot.log"
        self.out_file = self.directory / "dovecot.out"
        self.ca_file: Path | None = None
        self.tls_files: TlsFiles | None = None
        self._proc: Process | None = None
        self._as_root = os.geteuid() == 0
        if self._as_root:
            self._mail_user = pwd.getpwnam("mail" if _user_exists("mail") else "nobody")
            self._login_user = "dovenull" if _user_exists("dovenull") else "nobody"
            self._internal_user = "dovecot" if _user_exists("dovecot") else "nobody"
        else:
            self._mail_user = pwd.getpwuid(os.getuid())
            self._login_user = self._internal_user = self._mail_user.pw_name
        # Dovecot's own sockets get this group; an ordinary user cannot chown to another one.
        self._internal_group = grp.getgrgid(pwd.getpwnam(self._internal_user).pw_gid).gr_name
        try:
            self._prepare_directory()
            self.add_user(username, self.password)
        except BaseException:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise

    # The public surface -----------------------------------------------------------------

    @property
    def maildir(self) -> Path:
        """The Maildir of `username` (created by Dovecot at the first login)."""
        return self.maildir_for(self.username)

    def maildir_for(self, username: str) -> Path:
        return self.directory / "mail" / username / "Maildir"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def listening(self) -> set[tuple[str, int]]:
        """(address, port) of every TCP listener this Dovecot's processes hold."""
        return listening_sockets(_group_members(self._proc.pid)) if self._proc else set()

    def add_user(self, username: str, password: str | None = None) -> str:
        """Add a user (a passwd-file of its own, read at its first login); return its password.

        One file per user because Dovecot re-reads a changed passwd-file at most once a
        second, so a user appended to a shared file could be "unknown" for a moment.
        """
        if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", username):
            raise ValueError(f"unsupported test username {username!r}")
        password = password or secrets.token_urlsafe(18)
        path = self.passwd_dir / username
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "w") as passwd:
            passwd.write(f"{username}:{{PLAIN}}{password}::::::\n")
        if self._as_root:
            internal = pwd.getpwnam(self._internal_user)
            os.chown(path, internal.pw_uid, internal.pw_gid)
        return password

    def start(self) -> None:
        """Start Dovecot; the first start picks free ports, later ones reuse them."""
        if self.running:
            return
        fixed_ports = self.port != 0
        for attempt in range(3):
            if not fixed_ports:
                self.port = free_port()
                self.tls_port = free_port() if self.tls else None
            self._write_config()
            try:
                self._spawn_and_wait()
                return
            except ServerError:
                # Another process took the port: pick new ones, or (on a restart, where the
                # port must stay) try the same again, as a client connection soon lets go.
                if "Address already in use" not in self.log_tail(5) or attempt == 2:
                    raise

    def stop(self) -> None:
        """`doveadm stop`, then wait until every Dovecot process of this instance is gone.

        Dovecot's master lingers about a second while it shuts down; `close(wait=False)`
        does that waiting in the background.
        """
        proc, self._proc = self._proc, None
        if proc is not None:
            self._finish_stop(proc, self._begin_stop(proc))

    def _begin_stop(self, proc: Process) -> Process | None:
        """Launch `doveadm stop` (if Dovecot still runs) without waiting for it."""
        if proc.poll() is not None:
            return None
        assert self._doveadm is not None
        try:
            return subprocess.Popen(
                [self._doveadm, "-c", str(self.conf), "stop"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            proc.terminate()  # what `doveadm stop` does, so Dovecot never outlives us
            return None

    @staticmethod
    def _finish_stop(proc: Process, doveadm: Process | None) -> None:
        # doveadm waits for the master to disappear, but the master is our child and stays
        # a zombie until we reap it: so reap (and wait for the rest) while doveadm waits.
        _end_process_group(proc)
        if doveadm is not None:
            doveadm.wait(timeout=STOP_TIMEOUT)

    def kill(self) -> None:
        """SIGKILL the master, then the rest of its processes: a crash, every connection drops."""
        proc = self._proc
        if proc is None:
            return
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        _end_process_group(proc)
        self._proc = None

    def restart(self) -> None:
        """Stop (if running) and start again on the same port with the same mail."""
        self.stop()
        self.start()

    def close(self, *, wait: bool = True) -> None:
        """Stop and remove the temp dir with all mail.

        With wait=False the shutdown and removal finish in a background thread (the port and
        the directory are not reused); `wait_for_background_stops()` joins those threads.
        """
        proc, self._proc = self._proc, None
        # Processes are only ever launched from the calling thread: a fork from a second
        # thread at the same time can fail (EFAULT from vfork in CPython 3.11).
        doveadm = self._begin_stop(proc) if proc is not None else None

        def finish() -> None:
            try:
                if proc is not None:
                    self._finish_stop(proc, doveadm)
            finally:
                shutil.rmtree(self.directory, ignore_errors=True)

        if wait:
            finish()
        else:
            thread = threading.Thread(target=finish, name=f"stop {self!r}")
            thread.start()
            _background_stops.append(thread)

    def doveadm(self, *args: str) -> str:
        """Run `doveadm -c CONF ARGS...` against this instance and return its stdout."""
        assert self._doveadm is not None
        result = subprocess.run(
            [self._doveadm, "-c", str(self.conf), *args],
            capture_output=True,
            text=True,
            timeout=STOP_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise ServerError(f"doveadm {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def log_tail(self, lines: int = 40) -> str:
        return f"{_tail(self.out_file, lines)}\n{_tail(self.log_file, lines)}".strip()

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<DovecotServer {self.host}:{self.port} user={self.username} {self.directory}>"

    # Internals --------------------------------------------------------------------------

    def _prepare_directory(self) -> None:
        for sub in ("run", "state", "mail"):
            (self.directory / sub).mkdir()
        self.passwd_dir.mkdir(mode=0o755)
        if self.tls:
            self.tls_files = make_tls_files(self.directory / "tls")
            self.ca_file = self.tls_files.ca_file
        if self._as_root:
            # Dovecot's unprivileged processes must reach base_dir, the mail and the
            # passwd-files; mkdtemp made the temp dir 0700.
            self.directory.chmod(0o755)
            (self.directory / "run").chmod(0o755)
            os.chown(self.directory / "mail", self._mail_user.pw_uid, self._mail_user.pw_gid)

    def _write_config(self) -> None:
        d = self.directory
        uid, gid = self._mail_user.pw_uid, self._mail_user.pw_gid
        if self.tls_files is not None:
            ssl_settings = (
                f"ssl = yes\nssl_cert = <{self.tls_files.cert_file}\n"
                f"ssl_key = <{self.tls_files.key_file}\n"
            )
            imaps = f"port = {self.tls_port}\n    ssl = yes"
        else:
            ssl_settings = "ssl = no\n"
            imaps = "port = 0"
        # An ordinary user cannot chroot(), which these services do by default.
        chroot = "" if self._as_root else "  chroot =\n"
        all_mail = (
            '  mailbox "All Mail" {\n    special_use = \\All\n    auto = subscribe\n  }\n'
            if self.all_mail
            else ""
        )
        self.conf.write_text(
            f"""# Generated by tests/servers.py for one test run.
instance_name = kithkin-{d.name}
base_dir = {d}/run
state_dir = {d}/state
log_path = {self.log_file}
protocols = imap
listen = {LOOPBACK}
{ssl_settings}disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_failure_delay = 0
default_internal_user = {self._internal_user}
default_login_user = {self._login_user}
default_internal_group = {self._internal_group}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:~/Maildir
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd_dir}/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.passwd_dir}/%u
  default_fields = uid={uid} gid={gid} home={d}/mail/%u
}}
namespace inbox {{
  inbox = yes
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
{all_mail}}}
service imap-login {{
{chroot}  inet_listener imap {{
    address = {LOOPBACK}
    port = {self.port}
  }}
  inet_listener imaps {{
    address = {LOOPBACK}
    {imaps}
  }}
}}
service anvil {{
{chroot}  # No socket for auth's penalty client: no delay growing after each failed login.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service ipc {{
{chroot}}}
"""
        )

    def _spawn_and_wait(self) -> None:
        assert self._dovecot is not None
        with self.out_file.open("ab") as out:
            proc = subprocess.Popen(
                [self._dovecot, "-F", "-c", str(self.conf)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._proc = proc
        try:
            wait_for_port(
                self.host,
                self.port,
                expect=b"* OK",
                alive=lambda: proc.poll() is None,
                what="dovecot",
            )
            if self.tls_port is not None:
                wait_for_port(self.host, self.tls_port, alive=lambda: proc.poll() is None)
        except ServerError as exc:
            self.kill()
            log = f"--- dovecot log ({self.directory}) ---\n{self.log_tail()}"
            raise ServerError(f"{exc}\n{log}") from exc


# --- pymap ---------------------------------------------------------------------------------


# pymap hashes passwords with PBKDF2, which makes every LOGIN cost about 0.1 s. Its config
# also accepts pysasl's Cleartext hash (like Dovecot's {PLAIN} scheme): use that when the
# hook exists, and pymap's default otherwise.
_PYMAP_MAIN = """
import pymap.config, pysasl.hashing
if hasattr(pymap.config.IMAPConfig, "_get_hash_context"):
    pymap.config.IMAPConfig._get_hash_context = classmethod(
        lambda cls, passlib_cfg: pysasl.hashing.Cleartext()
    )
from pymap.main import main
main()
"""


class PymapServer:
    """pymap's in-memory `dict` backend in a subprocess: one user, empty INBOX and `Sent`.

    pymap has no SPECIAL-USE, so `Sent` is a plain folder. Its data lives in memory and is
    lost on stop; there is no restart.
    """

    def __init__(self, *, username: str = "kithkin", folders: Iterable[str] = ("Sent",)):
        self.host = LOOPBACK
        self.port = 0
        self.username = username
        self.password = secrets.token_urlsafe(18)
        self.folders = tuple(folders)
        self.directory = Path(tempfile.mkdtemp(prefix="kithkin-pymap-"))
        self.log_file = self.directory / "pymap.log"
        self._proc: Process | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if not self.running:
            self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Launch the process on a fresh port without waiting for it (see `wait_ready`)."""
        self.port = free_port()
        # Arguments go through pymap's "@file" support so the password is not in `ps`.
        args_file = self.directory / "args"
        args_file.touch(mode=0o600)
        args = [f"--host={self.host}", f"--port={self.port}", "--no-tls", "dict"]
        args += [f"--demo-user={self.username}", f"--demo-password={self.password}"]
        args_file.write_text("\n".join(args) + "\n")
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _PYMAP_MAIN, f"@{args_file}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        """Wait for the greeting (respawning if the port was taken), then create `folders`."""
        for attempt in range(3):
            proc = self._proc
            assert proc is not None, "spawn() first"
            try:
                wait_for_port(
                    self.host,
                    self.port,
                    expect=b"* OK",
                    alive=lambda: proc.poll() is None,  # noqa: B023 (called within the loop)
                    what="pymap",
                )
                break
            except ServerError as exc:
                self.stop()
                if "address already in use" not in _tail(self.log_file).lower() or attempt == 2:
                    raise ServerError(f"{exc}\n--- pymap log ---\n{_tail(self.log_file)}") from exc
                self.spawn()
        with imap_client(self) as client:
            existing = {name for _flags, _delimiter, name in client.list_folders()}
            for folder in self.folders:
                if folder not in existing:
                    client.create_folder(folder)

    def stop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
        _end_process_group(proc)
        self._proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PymapServer {self.host}:{self.port} user={self.username}>"


class PymapPool:
    """Hands out started PymapServers and launches the next one at once, so a test does not
    wait for pymap's start-up (about a third of a second, mostly imports) while the previous
    test ran long enough to cover it."""

    def __init__(self) -> None:
        self._next: PymapServer | None = None

    def take(self) -> PymapServer:
        server, self._next = self._next, None
        if server is None:
            server = PymapServer()
            server.spawn()
        try:
            server.wait_ready()
        except BaseException:
            server.close()
            raise
        self._next = PymapServer()
        self._next.spawn()
        return server

    def close(self) -> None:
        if self._next is not None:
            self._next.close()
            self._next = None


# --- IMAP helpers --------------------------------------------------------------------------


def imap_client(
    server: ImapServer,
    *,
    username: str | None = None,
    password: str | None = None,
    timeout: float = IMAP_TIMEOUT,
) -> IMAPClient:
    """A logged-in IMAPClient on the plain port (close it with `logout()` or `with`)."""
    client = IMAPClient(server.host, server.port, ssl=False, timeout=timeout)
    # imapclient writes one command in several pieces; with Nagle's algorithm each later
    # piece waits for the server's delayed ACK (about 40 ms a command against pymap).
    client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        client.login(username or server.username, password or server.password)
    except Exception:
        client.shutdown()
        raise
    return client


_APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]", re.IGNORECASE)


def append(
    server: ImapServer,
    folder: str,
    message: bytes,
    flags: Iterable[str | bytes] = (),
    msg_time: datetime | None = None,
) -> int | None:
    """APPEND `message` to `folder`; return its UID when the server reports APPENDUID."""
    with imap_client(server) as client:
        response = client.append(folder, message, flags=tuple(flags), msg_time=msg_time)
    match = _APPENDUID.search(response if isinstance(response, bytes) else b"")
    return int(match.group(1)) if match else None


def create_folder(server: ImapServer, name: str) -> None:
    with imap_client(server) as client:
        client.create_folder(name)


def uidvalidity(server: ImapServer, folder: str) -> int:
    with imap_client(server) as client:
        return int(client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])


def recreate_folder(server: ImapServer, name: str) -> int:
    """DELETE and CREATE `name` (empty afterwards, new UIDVALIDITY); return the new UIDVALIDITY.

    Not for INBOX, which neither server lets you delete. The connection used never selects
    the folder: pymap drops a connection whose selected folder is deleted.
    """
    if name.upper() == "INBOX":
        raise ValueError("INBOX cannot be deleted and recreated")
    with imap_client(server) as client:
        before = int(client.folder_status(name, [b"UIDVALIDITY"])[b"UIDVALIDITY"])
        client.delete_folder(name)
        client.create_folder(name)
        after = int(client.folder_status(name, [b"UIDVALIDITY"])[b"UIDVALIDITY"])
    if after == before:
        raise ServerError(f"{server!r} kept UIDVALIDITY {before} for a recreated {name!r}")
    return after


def _as_str(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def flags_snapshot(server: ImapServer) -> dict[tuple[str, int], frozenset[str]]:
    """{(folder, uid): flags} over every selectable folder, read with EXAMINE only.

    `\\Recent` is left out: it is per session, not a stored flag.
    """
    snapshot: dict[tuple[str, int], frozenset[str]] = {}
    with imap_client(server) as client:
        for folder_flags, _delimiter, folder in client.list_folders():
            if any(_as_str(flag).lower() == "\\noselect" for flag in folder_flags):
                continue
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            if not uids:
                continue
            for uid, data in client.fetch(uids, ["FLAGS"]).items():
                flags = frozenset(_as_str(flag) for flag in data[b"FLAGS"])
                snapshot[(folder, uid)] = frozenset(f for f in flags if f.lower() != "\\recent")
    return snapshot


# --- SMTP ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMessage:
    """One message accepted by `SmtpServer`, as the client sent it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    login: str | None  # the AUTH user, or None if the client did not authenticate
    tls: bool


@dataclass
class _DeliveringHandler:
    mailbox: ImapServer
    implicit_tls: bool
    messages: list[ReceivedMessage] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or envelope.content
        assert isinstance(data, bytes)
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, append, self.mailbox, "INBOX", data
            )
        except (OSError, imaplib.IMAP4.error) as exc:
            return f"451 delivery to the test mailbox failed: {exc}"
        self.messages.append(
            ReceivedMessage(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=data,
                login=login,
                tls=self.implicit_tls or session.ssl is not None,
            )
        )
        return "250 OK delivered"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 that delivers every accepted message to `mailbox`'s INBOX.

    AUTH PLAIN/LOGIN with `mailbox`'s username and password is offered (over plaintext too,
    with tls=None) but not required. tls="implicit" is SMTP over TLS from the first byte;
    tls="starttls" requires STARTTLS before MAIL. Both use `tls_files` (`ca_file` to trust).
    """

    def __init__(
        self,
        mailbox: ImapServer,
        *,
        tls: Literal["implicit", "starttls"] | None = None,
        tls_files: TlsFiles | None = None,
    ):
        if tls is not None and tls_files is None:
            raise ValueError("tls needs tls_files")
        self.host = LOOPBACK
        self.port = 0
        self.mailbox = mailbox
        self.username = mailbox.username
        self.password = mailbox.password
        self.tls = tls
        self.ca_file = tls_files.ca_file if tls_files else None
        self._handler = _DeliveringHandler(mailbox, implicit_tls=tls == "implicit")
        self.tls_files = tls_files
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[ReceivedMessage]:
        return self._handler.messages

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.username.encode()
            and auth_data.password == self.password.encode()
        ):
            return AuthResult(success=True, auth_data=auth_data.login)
        return AuthResult(success=False, handled=False)

    def start(self) -> None:
        context = self.tls_files.server_context() if self.tls_files else None
        kwargs: dict[str, Any] = {
            "authenticator": self._authenticate,
            # aiosmtpd counts only STARTTLS as TLS: with implicit TLS it would hide AUTH.
            "auth_require_tls": self.tls == "starttls",
            "enable_SMTPUTF8": True,
        }
        if self.tls == "implicit":
            kwargs["ssl_context"] = context
        elif self.tls == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        self.port = free_port()
        self._controller = Controller(self._handler, hostname=self.host, port=self.port, **kwargs)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SmtpServer {self.host}:{self.port} tls={self.tls} -> {self.mailbox!r}>"
