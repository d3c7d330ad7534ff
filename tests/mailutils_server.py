"""GNU Mailutils' imap4d on 127.0.0.1 for the test suite: a third real IMAP server.

`MailutilsServer` has the surface the helpers in servers.py need (`host`, `port`,
`username`, `password`), like `DovecotServer`. Everything lives in a fresh temp dir: the
config file (`--config-file`, so no site-wide config is read), the password file, the
mail and the log, with a transcript of every session.

Storage is mbox by default: one file per folder (`INBOX`, `Sent`) in the user's home, UIDs
kept in X-UID/X-IMAPbase headers, which imap4d writes only when a session changes the
folder, so EXAMINE leaves the files byte for byte as they were. `storage="maildir"` gives
one Maildir per folder instead; note that imap4d 3.15 gives a message still in `new/` a new
UID at every read-only open (and rewrites the folder's `.mu-prop`, resetting UIDVALIDITY
to the current second), since only a read-write open moves it to `cur/` with a UID.

Authentication works the same as root and as an ordinary user: mailutils' `virtdomain`
module looks the login `user@domain` up in `passwd/domain` (passwd(5) format, a SHA-512
crypt() hash made by `openssl passwd -6`), and its `generic` module checks the password
against that hash. No PAM, no system user, and no change of uid: the virtdomain module never
switches to the uid in the file, so the session runs as whoever started imap4d.

Nothing here sleeps a fixed time: start-up and shutdown poll with a deadline.
"""

from __future__ import annotations

import contextlib
import grp
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Literal, Self

from helpers import missing_tool
from processes import (
    LOOPBACK,
    STOP_TIMEOUT,
    Process,
    ServerError,
    end_process_group,
    find_binary,
    free_port,
    tail,
    wait_for_port,
)

MAILDIR_SUBDIRS = ("cur", "new", "tmp")
Storage = Literal["mbox", "maildir"]


def mailutils_available() -> str | None:
    """Why imap4d cannot run here, or None if it can."""
    if find_binary("imap4d") is None:
        return "GNU Mailutils imap4d not installed (apt-get install mailutils-imap4d)"
    if find_binary("openssl") is None:
        return "openssl is needed to hash the imap4d test password"
    try:
        # In daemon mode imap4d refuses to start without a `mail` group.
        grp.getgrnam("mail")
    except KeyError:
        return "imap4d needs a `mail` group, and this system has none"
    return None


def require_mailutils() -> None:
    """Skip without imap4d, or fail if KITHKIN_REQUIRE_MAILUTILS=1 (as CI sets it)."""
    reason = mailutils_available()
    if reason is not None:
        missing_tool(reason, "KITHKIN_REQUIRE_MAILUTILS")


def crypt_sha512(password: str) -> str:
    """A `$6$` crypt() hash of `password` (through stdin, so it never shows in `ps`)."""
    openssl = find_binary("openssl")
    if openssl is None:
        raise ServerError("openssl is needed to hash the imap4d test password")
    result = subprocess.run(
        [openssl, "passwd", "-6", "-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=STOP_TIMEOUT,
        check=False,
    )
    hashed = result.stdout.strip()
    if result.returncode != 0 or not hashed.startswith("$6$"):
        raise ServerError(f"openssl passwd -6 failed: {result.stderr.strip()}")
    return hashed


class MailutilsServer:
    """GNU Mailutils imap4d on 127.0.0.1 with one virtdomain user, INBOX and `Sent`.

    imap4d has no SPECIAL-USE, so `Sent` is a plain folder (found by name). Its hierarchy
    delimiter is "/"; with mbox storage LIST says `(\\NoInferiors) NIL INBOX` and
    `(\\NoInferiors) "/" Sent`. The login name is `user@domain` (virtdomain needs the
    domain part). `folder_path(folder)` is the folder's mbox file or Maildir on disk.
    """

    def __init__(
        self,
        *,
        user: str = "kithkin",
        domain: str = "kithkin.test",
        folders: tuple[str, ...] = ("Sent",),
        storage: Storage = "mbox",
    ):
        if storage not in ("mbox", "maildir"):
            raise ValueError(f"unknown storage {storage!r}")
        self.host = LOOPBACK
        self.port = 0
        self.username = f"{user}@{domain}"
        self.password = secrets.token_urlsafe(18)
        self.folders = ("INBOX", *folders)
        self.storage = storage
        self._imap4d = find_binary("imap4d")
        if self._imap4d is None:
            raise ServerError("imap4d is not installed (apt-get install mailutils-imap4d)")
        self.directory = Path(tempfile.mkdtemp(prefix="kithkin-mailutils-"))
        self.conf = self.directory / "imap4d.conf"
        self.passwd_dir = self.directory / "passwd"
        self.home = self.directory / "mail" / user
        self.log_file = self.directory / "imap4d.log"
        self._proc: Process | None = None
        try:
            self._prepare_directory(user, domain)
        except BaseException:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise

    # The public surface -----------------------------------------------------------------

    def folder_path(self, folder: str) -> Path:
        """One folder's mbox file (or Maildir) under the user's home: `home/INBOX`, ..."""
        return self.home / folder

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start imap4d on a free port (a new one if another process took the first)."""
        if self.running:
            return
        for attempt in range(3):
            self.port = free_port()
            self._write_config()
            try:
                self._spawn_and_wait()
                return
            except ServerError:
                if "address already in use" not in self.log_tail(5).lower() or attempt == 2:
                    raise

    def stop(self) -> None:
        """SIGTERM the master and its session processes, then wait until all are gone."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            # Session processes are forked from the master, in its process group; they
            # answer SIGTERM with `* BYE` and exit, as the master does.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        end_process_group(proc)

    def close(self) -> None:
        """Stop and remove the temp dir with all mail."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log_file, lines)

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
        return (
            f"<MailutilsServer {self.host}:{self.port} user={self.username} "
            f"{self.storage} {self.directory}>"
        )

    # Internals --------------------------------------------------------------------------

    def _prepare_directory(self, user: str, domain: str) -> None:
        self.passwd_dir.mkdir()
        self.home.mkdir(parents=True)
        for folder in self.folders:
            if self.storage == "mbox":
                self.folder_path(folder).touch(mode=0o600)  # an empty mbox is an empty file
            else:
                for sub in MAILDIR_SUBDIRS:
                    self.folder_path(folder).joinpath(sub).mkdir(parents=True)
        # passwd(5): name:hash:uid:gid:gecos:home:shell. virtdomain takes the INBOX from
        # the home field (home/INBOX) and never switches to this uid.
        entry = (
            f"{user}:{crypt_sha512(self.password)}:{os.getuid()}:{os.getgid()}:"
            f"Kithkin test:{self.home}:/dev/null\n"
        )
        path = self.passwd_dir / domain
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "w") as passwd:
            passwd.write(entry)

    def _write_config(self) -> None:
        self.conf.write_text(
            f"""# Generated by tests/mailutils_server.py for one test run.
mode daemon;
foreground yes;
logging {{
  syslog no;
  print-severity yes;
}};
# No /etc/hosts.allow or hosts.deny of this machine in the way.
tcp-wrappers {{
  enable no;
}};
auth {{
  authorization virtdomain;
  authentication generic;
}};
virtdomain {{
  passwd-dir "{self.passwd_dir}";
}};
mailbox {{
  mailbox-type {self.storage};
}};
# Only folders of this type are listed; CREATE makes this type.
namespace personal {{
  prefix "" {{
    directory "$home";
    mailbox-type {self.storage};
  }};
}};
server {LOOPBACK}:{self.port} {{
  transcript yes;
}};
"""
        )

    def _spawn_and_wait(self) -> None:
        assert self._imap4d is not None
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                [self._imap4d, f"--config-file={self.conf}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                start_new_session=True,
            )
        self._proc = proc
        try:
            wait_for_port(
                self.host,
                self.port,
                expect=b"* OK",
                alive=lambda: proc.poll() is None,
                what="imap4d",
            )
        except ServerError as exc:
            self.stop()
            log_text = f"--- imap4d log ({self.directory}) ---\n{self.log_tail()}"
            raise ServerError(f"{exc}\n{log_text}") from exc
