"""Where passwords come from, in order: systemd credentials, password_command, the keyring.

A secret is only ever held in memory: it is never logged, never put in an exception message,
and never written anywhere by Kithkin.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kithkin.daemon.config import ServerConfig
from kithkin.daemon.config.model import TOKEN_AUTHS
from kithkin.daemon.errors import CredentialError
from kithkin.parsers.text import clean_line

KEYRING_SERVICE = "kithkin"
COMMAND_TIMEOUT = 60
STDERR_SHOWN = 200  # characters of the first line a failing password_command wrote to stderr
STDERR_READ = 8192  # bytes of its stderr looked at for that line
NOT_A_SHELL = " (run directly, not through a shell: use `sh -c '...'` for pipes)"
KEYRING_TIMEOUT = 15.0


def keyring_user(server: ServerConfig) -> str:
    return f"{server.kind}:{server.username}@{server.host}"


@dataclass(frozen=True)
class FoundSecret:
    """A secret and the source it came from, said without the secret (`kithkin doctor`)."""

    value: str = field(repr=False)
    source: str  # "$CREDENTIALS_DIRECTORY/imap-password", "password_command (pass)", ...


def get_secret(server: ServerConfig, env: Mapping[str, str] | None = None) -> str:
    """The password (or OAuth2 token) for `server`; one clear line if no source has it."""
    return find_secret(server, env).value


def find_secret(server: ServerConfig, env: Mapping[str, str] | None = None) -> FoundSecret:
    """`get_secret`, with where the secret was found."""
    env = os.environ if env is None else env
    tried = []
    directory = env.get("CREDENTIALS_DIRECTORY")
    name = f"{server.kind}-password"
    if directory:
        secret = _from_credentials_directory(Path(directory) / name)
        if secret is not None:
            return FoundSecret(secret, f"$CREDENTIALS_DIRECTORY/{name}")
        tried.append(f"$CREDENTIALS_DIRECTORY/{name} (absent)")
    else:
        tried.append("$CREDENTIALS_DIRECTORY (not set)")
    if server.password_command:
        # The program only: its arguments could be anything, even the password itself.
        source = f"password_command ({server.password_command[0]})"
        return FoundSecret(_from_command(server, server.password_command), source)
    tried.append("password_command (not configured)")
    secret, note = _from_keyring(server)
    if secret is not None:
        return FoundSecret(secret, f"the keyring ({KEYRING_SERVICE}, {keyring_user(server)})")
    tried.append(f"keyring ({note})")
    raise CredentialError(
        f"no {server.kind} password for {server.username}@{server.host}; tried "
        + ", ".join(tried)
        + f"; set one with `kithkin credentials set {server.kind}` or password_command"
    )


class Credential:
    """The secret of one server, fetched when first needed and then kept in memory.

    For OAuth2 (`auth = "xoauth2"` or `"oauthbearer"`) the secret is an access token, which
    expires within the hour: when a server refuses it, `renew` asks its source again, and a
    token helper run as password_command hands out a fresh one.
    """

    def __init__(
        self, server: ServerConfig, fetch: Callable[[ServerConfig], str] | None = None
    ) -> None:
        self.server = server
        self._fetch = fetch or get_secret
        self._secret: str | None = None
        self._fixed = False

    @classmethod
    def given(cls, server: ServerConfig, secret: str) -> Credential:
        """A secret handed over as it is, with no source to ask again."""
        credential = cls(server)
        credential._secret, credential._fixed = secret, True
        return credential

    @property
    def renewable(self) -> bool:
        return not self._fixed and self.server.auth in TOKEN_AUTHS

    def get(self) -> str:
        if self._secret is None:
            self._secret = self._fetch(self.server)
        return self._secret

    def renew(self) -> str:
        self._secret = None
        return self.get()

    def __repr__(self) -> str:  # never the secret
        return f"<Credential {self.server.kind} {self.server.username}@{self.server.host}>"


def _from_credentials_directory(path: Path) -> str | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CredentialError(f"cannot read credential {path}: {exc.strerror}") from None
    text = _utf8(raw)
    if text is None:
        raise CredentialError(f"credential {path} is not UTF-8 text; save it as UTF-8")
    return _strip_newline(text)


def _from_command(server: ServerConfig, command: tuple[str, ...]) -> str:
    program = command[0]
    result = _run_password_command(command)
    if isinstance(result, str):
        raise CredentialError(f"{server.kind} password_command: {program}{result}")
    if result.returncode != 0:
        raise CredentialError(
            f"{server.kind} password_command: {program} exited with status {result.returncode}"
            + _said(result)
            + NOT_A_SHELL
        )
    text = _utf8(result.stdout)
    if text is None:
        raise CredentialError(
            f"{server.kind} password_command: {program} printed something that is not UTF-8"
        )
    secret = _strip_newline(text)
    if not secret:
        raise CredentialError(
            f"{server.kind} password_command: {program} printed nothing{_said(result)}"
            + NOT_A_SHELL
        )
    return secret


def _said(result: subprocess.CompletedProcess[bytes]) -> str:
    """A colon and the first line the command wrote to stderr (why `pass` failed, say), cleaned
    and cut short; nothing if that line holds any line of its stdout, where secrets go: a
    command that prints the password and then fails must not have it shown."""
    stderr = result.stderr[:STDERR_READ].decode("utf-8", "replace")
    line = next((clean for raw in stderr.splitlines() if (clean := clean_line(raw))), "")
    stdout = result.stdout.decode("utf-8", "replace")
    printed = {clean for raw in (stdout, *stdout.splitlines()) if (clean := clean_line(raw))}
    if not line or any(text in line for text in printed):
        return ""
    return ": " + (line if len(line) <= STDERR_SHOWN else line[: STDERR_SHOWN - 1] + "…")


def _run_password_command(command: tuple[str, ...]) -> subprocess.CompletedProcess[bytes] | str:
    """The finished command, or why it did not finish (": not found", ...). The caller raises,
    outside the `except`: a TimeoutExpired holds what the command printed so far."""
    try:
        return subprocess.run(
            list(command),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        return ": not found" + NOT_A_SHELL
    except PermissionError:
        return ": not executable" + NOT_A_SHELL
    except subprocess.TimeoutExpired:
        return f" did not finish in {COMMAND_TIMEOUT}s"


def _from_keyring(server: ServerConfig) -> tuple[str | None, str]:
    try:
        import keyring
        from keyring.errors import KeyringError, NoKeyringError
    except Exception:  # noqa: BLE001 - a broken keyring install must not stop the daemon
        return None, "unavailable"
    answer: list[str | None] = []
    failure: list[str] = []

    def ask() -> None:
        try:
            answer.append(keyring.get_password(KEYRING_SERVICE, keyring_user(server)))
        except NoKeyringError:
            failure.append("no keyring backend on this system")
        except KeyringError as exc:
            failure.append(f"error: {type(exc).__name__}")
        except Exception as exc:  # noqa: BLE001 - backends raise all sorts (D-Bus, locked...)
            failure.append(f"error: {type(exc).__name__}")

    # A locked collection can wait forever for someone to type a password at a prompt.
    asking = threading.Thread(target=ask, name="keyring", daemon=True)
    asking.start()
    asking.join(KEYRING_TIMEOUT)
    if asking.is_alive():
        return None, f"no answer within {KEYRING_TIMEOUT:.0f} s (locked?)"
    if failure:
        return None, failure[0]
    if not answer or answer[0] is None:
        return None, "nothing stored"
    return answer[0], "found"


def store_in_keyring(server: ServerConfig, secret: str) -> None:
    import keyring
    from keyring.errors import KeyringError, NoKeyringError

    try:
        keyring.set_password(KEYRING_SERVICE, keyring_user(server), secret)
    except NoKeyringError:
        raise CredentialError(
            "no keyring backend on this system; use password_command or, under systemd, "
            "LoadCredential= instead"
        ) from None
    except KeyringError as exc:
        raise CredentialError(
            f"keyring refused to store the password: {type(exc).__name__}"
        ) from None


def _utf8(raw: bytes) -> str | None:
    """`raw` decoded, or None rather than an error to chain to the caller's: a
    UnicodeDecodeError holds the secret's bytes and names one of them and its position."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _strip_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text
