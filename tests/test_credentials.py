"""Where passwords come from: $CREDENTIALS_DIRECTORY, password_command, the keyring."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kithkin.daemon.config import ServerConfig
from kithkin.daemon.errors import CredentialError
from kithkin.daemon.mail.credentials import get_secret

SECRET = "s3cret-Passw0rd-for-tests"


def server(**options) -> ServerConfig:
    base = {"kind": "imap", "host": "imap.example.org", "port": 993, "security": "tls",
            "username": "me"}  # fmt: skip
    return ServerConfig(**{**base, **options})


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a headless server has: no keyring backend at all."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    import keyring
    import keyring.backends.fail

    monkeypatch.setattr(keyring.core, "_keyring_backend", keyring.backends.fail.Keyring())


def test_credentials_directory_comes_first(tmp_path: Path) -> None:
    (tmp_path / "imap-password").write_text(SECRET + "\n")
    command = ("sh", "-c", "echo from-command")
    found = get_secret(server(password_command=command), {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert found == SECRET


def test_password_command_output_minus_one_newline() -> None:
    command = ("printf", "%s\\n\\n", "pass word")
    assert get_secret(server(password_command=command), {}) == "pass word\n"


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (("false",), "exited with status 1"),
        (("/nonexistent/pass",), "not found"),
        (("true",), "printed nothing"),
    ],
)
def test_a_failing_password_command_is_one_clear_line(command, message) -> None:
    with pytest.raises(CredentialError, match=message) as caught:
        get_secret(server(password_command=command), {})
    assert "\n" not in str(caught.value)


NOT_A_SHELL = "(run directly, not through a shell: use `sh -c '...'` for pipes)"


@pytest.mark.parametrize(
    ("script", "said"),
    [
        ("echo 'Error: mail/imap is not in the password store.' >&2; exit 1",
         "exited with status 1: Error: mail/imap is not in the password store. "),
        ("printf '\\033[31mgpg:\\tno  secret key\\033[0m\\n\\nsecond line' >&2; exit 2",
         "exited with status 2: gpg: no secret key "),
        ("printf '%0300d' 0 >&2; exit 4", f"exited with status 4: {'0' * 199}… "),
        ("echo 'no such entry' >&2", "printed nothing: no such entry "),
        ("exit 5", "exited with status 5 "),
    ],
)  # fmt: skip
def test_a_failing_password_command_shows_its_first_stderr_line(script: str, said: str) -> None:
    with pytest.raises(CredentialError) as caught:
        get_secret(server(password_command=("sh", "-c", script)), {})
    assert str(caught.value) == f"imap password_command: sh {said}{NOT_A_SHELL}"


@pytest.mark.parametrize(
    "script",
    [
        f"echo {SECRET}; echo 'gpg: decryption failed' >&2; exit 2",
        f"echo {SECRET}; echo 'wrong password: {SECRET}' >&2; exit 3",
        f"printf 'user\\n{SECRET}'; echo 'prompt: {SECRET}' >&2; exit 1",
        f"printf '{SECRET}'; echo {SECRET} >&2; exit 1",
    ],
    ids=["stderr says something else", "stderr repeats it", "on the second line", "no newline"],
)
def test_a_secret_printed_on_stdout_never_appears_in_the_error(script: str) -> None:
    """Its stdout is the secret, even when the command fails: never shown, and a stderr
    line that repeats any line of it is not shown either."""
    with pytest.raises(CredentialError) as caught:
        get_secret(server(password_command=("sh", "-c", script)), {})
    text = str(caught.value)
    assert SECRET not in text and "s3cret" not in text
    assert "exited with status" in text and NOT_A_SHELL in text
    if "decryption failed" in script:
        assert text.endswith(f"exited with status 2: gpg: decryption failed {NOT_A_SHELL}")
    else:
        assert text.endswith(f"exited with status {script[-1]} {NOT_A_SHELL}")
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_a_command_that_is_not_found_says_it_is_not_run_through_a_shell() -> None:
    command = ("pass show mail/imap | head -1",)  # one word: what a shell would have split
    with pytest.raises(CredentialError) as caught:
        get_secret(server(password_command=command), {})
    assert str(caught.value) == (
        f"imap password_command: pass show mail/imap | head -1: not found {NOT_A_SHELL}"
    )


def test_without_any_source_the_error_says_what_was_tried(no_keyring) -> None:
    with pytest.raises(CredentialError) as caught:
        get_secret(server(), {})
    text = str(caught.value)
    assert "$CREDENTIALS_DIRECTORY (not set)" in text
    assert "password_command (not configured)" in text
    assert "keyring (no keyring backend on this system)" in text
    assert "kithkin credentials set imap" in text


def test_the_keyring_is_used_when_it_has_the_password(monkeypatch) -> None:
    import keyring
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1

        def __init__(self) -> None:
            super().__init__()
            self.store: dict[tuple[str, str], str] = {}

        def get_password(self, service, username):
            return self.store.get((service, username))

        def set_password(self, service, username, password):
            self.store[(service, username)] = password

        def delete_password(self, service, username):
            self.store.pop((service, username), None)

    monkeypatch.setattr(keyring.core, "_keyring_backend", Memory())
    from kithkin.daemon.mail.credentials import store_in_keyring

    store_in_keyring(server(), SECRET)
    assert get_secret(server(), {}) == SECRET


def test_headless_cli_gives_the_message_not_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[imap]\nhost = "127.0.0.1"\nsecurity = "none"\nusername = "me"\n'
        '[me]\naddresses = ["me@example.org"]\n'
        f'[store]\npath = "{tmp_path / "k.db"}"\n'
    )
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
           "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}  # fmt: skip
    env.pop("CREDENTIALS_DIRECTORY", None)
    for args in (["sync"], ["credentials", "set", "imap"]):
        result = subprocess.run(
            [sys.executable, "-m", "kithkin.daemon", "--config", str(config), *args],
            env=env, input="pw\n", capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.count("\n") == 1
        assert "keyring" in result.stderr


def test_a_keyring_that_never_answers_is_given_up_on(monkeypatch) -> None:
    import threading

    import keyring
    from keyring.backend import KeyringBackend

    never = threading.Event()

    class Locked(KeyringBackend):
        priority = 1

        def get_password(self, service, username):
            never.wait()  # a prompt nobody answers

        def set_password(self, service, username, password):
            raise NotImplementedError

        def delete_password(self, service, username):
            raise NotImplementedError

    monkeypatch.setattr(keyring.core, "_keyring_backend", Locked())
    monkeypatch.setattr("kithkin.daemon.mail.credentials.KEYRING_TIMEOUT", 0.2)
    with pytest.raises(CredentialError, match=r"keyring \(no answer within 0 s \(locked\?\)\)"):
        get_secret(server(), {})
    never.set()


NOT_UTF8 = b"Kk7-Caf\xe9Cr\xe8me-5ecr3t77"  # Latin-1, not UTF-8
PIECES_OF_NOT_UTF8 = ("Caf", "me-5", "5ecr3t77", "xe9", "xe8", "\ufffd", "position", "codec")


def texts_of(exc: BaseException) -> list[str]:
    """str, repr and args of `exc` and of everything chained to it, suppressed or not."""
    texts, current = [], exc
    while current is not None:
        texts += [str(current), repr(current), repr(current.args)]
        current = current.__cause__ or current.__context__
    return texts


def pieces_in(texts: list[str]) -> list[str]:
    return [piece for piece in PIECES_OF_NOT_UTF8 if any(piece in text for text in texts)]


def test_a_credential_file_that_is_not_utf8_is_one_line_naming_only_the_file(tmp_path) -> None:
    path = tmp_path / "imap-password"
    path.write_bytes(NOT_UTF8 + b"\n")
    with pytest.raises(CredentialError) as caught:
        get_secret(server(), {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    message = str(caught.value)
    assert str(path) in message and "not UTF-8" in message and "\n" not in message
    assert pieces_in(texts_of(caught.value)) == []


def test_password_command_output_that_is_not_utf8_is_one_line() -> None:
    """Not decoded with replacement characters (a wrong password, sent to the server)."""
    command = ("printf", "Kk7-Caf\\351Cr\\350me-5ecr3t77\\n")
    with pytest.raises(CredentialError) as caught:
        get_secret(server(password_command=command), {})
    message = str(caught.value)
    assert "password_command: printf" in message and "not UTF-8" in message
    assert pieces_in(texts_of(caught.value)) == []


def test_a_non_ascii_password_is_read_as_utf8(tmp_path) -> None:
    (tmp_path / "imap-password").write_bytes("Pässwörd-日本\n".encode())
    found = get_secret(server(), {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert found == "Pässwörd-日本"


def test_a_password_command_that_hangs_leaves_nothing_it_printed_in_the_error(
    monkeypatch,
) -> None:
    """A TimeoutExpired keeps what the command printed so far (here: the password); it is
    not chained to the CredentialError, so no traceback or handler can come across it."""
    monkeypatch.setattr("kithkin.daemon.mail.credentials.COMMAND_TIMEOUT", 0.5)
    command = ("sh", "-c", f"echo {SECRET}; exec sleep 30")
    with pytest.raises(CredentialError, match="did not finish in 0.5s") as caught:
        get_secret(server(password_command=command), {})
    chain, current = [], caught.value
    while current is not None:
        chain.append(current)
        current = current.__cause__ or current.__context__
    held = [repr(value) for exc in chain for value in (*exc.args, *vars(exc).values())]
    assert not any(SECRET in text for text in held)
