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
import base64
import contextlib
import grp
import imaplib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from helpers import missing_tool
from mailboxes import (
    IMAP_TIMEOUT,
    ImapServer,
    append,
    create_folder,
    flags_snapshot,
    imap_client,
    recreate_folder,
    uidvalidity,
)
from processes import (
    LOOPBACK,
    START_TIMEOUT,
    STOP_TIMEOUT,
    Process,
    ServerError,
    background_stops,
    end_process_group,
    find_binary,
    free_port,
    group_members,
    listening_sockets,
    port_accepts,
    tail,
    wait_for_background_stops,
    wait_for_port,
)
from pymapserver import PymapPool, PymapServer

__all__ = [
    "IMAP_TIMEOUT",
    "LOOPBACK",
    "START_TIMEOUT",
    "STOP_TIMEOUT",
    "DovecotServer",
    "ImapServer",
    "PymapPool",
    "PymapServer",
    "ReceivedMessage",
    "ServerError",
    "SmtpServer",
    "TlsFiles",
    "append",
    "create_folder",
    "dovecot_available",
    "find_binary",
    "flags_snapshot",
    "free_port",
    "imap_client",
    "listening_sockets",
    "make_tls_files",
    "port_accepts",
    "recreate_folder",
    "require_dovecot",
    "uidvalidity",
    "wait_for_background_stops",
    "wait_for_port",
]  # fmt: skip


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


def make_tls_files(directory: Path, names: Sequence[str] = ()) -> TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1, localhost and `names`, via
    `openssl`."""
    openssl = find_binary("openssl")
    if openssl is None:
        raise ServerError("openssl is needed to make test certificates")
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = directory / "ca.key", directory / "ca.crt"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ext = directory / "server.ext"
    alt_names = [f"DNS:{name}" for name in names]
    ext.write_text(
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature\n"
        "extendedKeyUsage = serverAuth\n"
        f"subjectAltName = {', '.join(['IP:127.0.0.1', 'DNS:localhost', *alt_names])}\n"
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

    def __init__(
        self,
        *,
        all_mail: bool = False,
        tls: bool = False,
        username: str = "kithkin",
        oauth2_url: str | None = None,
        extra_config: str = "",
    ):
        """`oauth2_url`: also log in with XOAUTH2 and OAUTHBEARER tokens, which Dovecot's
        oauth2 passdb checks at that RFC 7662 introspection endpoint (tests/oauthserver.py).
        `extra_config` is appended to dovecot.conf (plugins, say)."""
        self.host = LOOPBACK
        self.oauth2_url = oauth2_url
        self.extra_config = extra_config
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
        return listening_sockets(group_members(self._proc.pid)) if self._proc else set()

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
                if "Address already in use" not in self.logtail(5) or attempt == 2:
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
        end_process_group(proc)
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
        end_process_group(proc)
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
            background_stops.append(thread)

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

    def logtail(self, lines: int = 40) -> str:
        return f"{tail(self.out_file, lines)}\n{tail(self.log_file, lines)}".strip()

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
        mechanisms, oauth2_passdb, password_mechanisms = "plain login", "", ""
        if self.oauth2_url is not None:
            (d / "oauth2.conf.ext").write_text(
                f"introspection_mode = post\nintrospection_url = {self.oauth2_url}\n"
                "username_attribute = username\nactive_attribute = active\n"
                "active_value = true\nforce_introspection = yes\n"
            )
            mechanisms += " xoauth2 oauthbearer"
            oauth2_passdb = (
                "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {d}/oauth2.conf.ext\n}}\n"
            )
            password_mechanisms = "  mechanisms = plain login\n"
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
auth_mechanisms = {mechanisms}
auth_verbose = yes
auth_failure_delay = 0
default_internal_user = {self._internal_user}
default_login_user = {self._login_user}
default_internal_group = {self._internal_group}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:~/Maildir
mail_fsync = never
# 256 MB by default: too little to index a million messages (tests/bench/bench_wire.py)
default_vsz_limit = 2G
{oauth2_passdb}passdb {{
  driver = passwd-file
{password_mechanisms}  args = scheme=PLAIN username_format=%u {self.passwd_dir}/%u
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
{self.extra_config}"""
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
            log = f"--- dovecot log ({self.directory}) ---\n{self.logtail()}"
            raise ServerError(f"{exc}\n{log}") from exc


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


@dataclass
class _TokenCheckingHandler(_DeliveringHandler):
    """Also AUTH XOAUTH2 and OAUTHBEARER, each token checked at an RFC 7662 introspection
    endpoint as Dovecot's oauth2 passdb does; a refusal is Gmail's: a 334 challenge with a
    JSON error, then 535 once the client has answered it with an empty line."""

    introspection_url: str = ""

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        return await self._check(server, args, _xoauth2_fields)

    async def auth_OAUTHBEARER(self, server: SMTP, args: list[str]) -> AuthResult:
        return await self._check(server, args, _oauthbearer_fields)

    async def _check(self, server: SMTP, args: list[str], fields: Any) -> AuthResult:
        if len(args) < 2:
            return AuthResult(success=False, handled=False)
        user, token = fields(base64.b64decode(args[1]).decode("utf-8", "replace"))
        owner = await asyncio.get_running_loop().run_in_executor(None, self._owner, token)
        if user and owner == user:
            return AuthResult(success=True, auth_data=user.encode())
        await server.challenge_auth('{"status":"401","schemes":"bearer"}')
        return AuthResult(success=False, handled=False)

    def _owner(self, token: str) -> str | None:
        body = urllib.parse.urlencode({"token": token}).encode()
        with urllib.request.urlopen(self.introspection_url, data=body, timeout=10) as answer:
            found = json.load(answer)
        return found.get("username") if found.get("active") is True else None


def _xoauth2_fields(text: str) -> tuple[str, str]:
    parts = dict(part.split("=", 1) for part in text.split("\x01") if "=" in part)
    return parts.get("user", ""), parts.get("auth", "").removeprefix("Bearer ")


def _oauthbearer_fields(text: str) -> tuple[str, str]:
    gs2, _, rest = text.partition("\x01")
    user = next((p[2:] for p in gs2.split(",") if p.startswith("a=")), "")
    _, token = _xoauth2_fields(rest)
    return user.replace("=2C", ",").replace("=3D", "="), token


class SmtpServer:
    """aiosmtpd on 127.0.0.1 that delivers every accepted message to `mailbox`'s INBOX.

    AUTH PLAIN/LOGIN with `mailbox`'s username and password is offered (over plaintext too,
    with tls=None) but not required. tls="implicit" is SMTP over TLS from the first byte;
    tls="starttls" requires STARTTLS before MAIL. Both use `tls_files` (`ca_file` to trust).
    `introspection_url`: AUTH XOAUTH2 and OAUTHBEARER too, with tokens checked there.
    """

    def __init__(
        self,
        mailbox: ImapServer,
        *,
        tls: Literal["implicit", "starttls"] | None = None,
        tls_files: TlsFiles | None = None,
        introspection_url: str | None = None,
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
        self._handler = (
            _TokenCheckingHandler(mailbox, tls == "implicit", introspection_url=introspection_url)
            if introspection_url
            else _DeliveringHandler(mailbox, implicit_tls=tls == "implicit")
        )
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
