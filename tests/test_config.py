"""The config file: what is accepted, and the one line each mistake produces."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kithkin.daemon.config import load_config
from kithkin.daemon.errors import ConfigError

GOOD = """
[imap]
host = "imap.example.org"
username = "ann@example.org"
password_command = "pass show mail"
folders = ["INBOX", "Sent"]

[me]
addresses = ["Ann@Example.org", "ann@alias.example"]

[smtp]
host = "smtp.example.org"
security = "starttls"
username = "ann@example.org"

[summary]
to = "ann@example.org"
schedule = "Friday 7:30"
timezone = "Europe/Berlin"
delivery = "smtp"
send_when_empty = false
max_people = 5

[analysis]
default_cadence_days = 45
fading_ratio = 1.5

[daemon]
poll_interval = "2m"

[store]
path = "data/k.db"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_config_loads_into_typed_values(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.imap is not None
    assert (config.imap.host, config.imap.port, config.imap.security) == (
        "imap.example.org",
        993,
        "tls",
    )
    assert config.imap.password_command == ("pass", "show", "mail")
    assert config.imap.folders == ("INBOX", "Sent")
    assert config.me == ("ann@example.org", "ann@alias.example")
    assert config.smtp is not None and config.smtp.port == 587
    assert config.summary.schedule == "friday 07:30"
    assert config.summary.send_when_empty is False
    assert config.summary.max_people == 5
    assert config.analysis.default_cadence_days == 45
    assert config.analysis.fading_ratio == 1.5
    assert config.daemon.poll_interval == 120
    assert config.store_path == (tmp_path / "data" / "k.db").resolve()


def test_defaults_when_sections_are_left_out(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            '[imap]\nhost = "h.example"\nusername = "u"\n[me]\naddresses = ["u@h.example"]\n',
        )
    )
    assert config.summary.delivery == "imap"  # no [smtp], so the summary goes by IMAP
    assert config.summary.schedule == "monday 08:00"
    assert config.daemon.poll_interval == 300
    assert config.daemon.idle is True  # IDLE where the server has it
    assert config.analysis.default_cadence_days == 60
    assert config.summary_recipient() == "u@h.example"


def test_no_file_at_the_default_location_gives_defaults(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    config = load_config(None)
    assert not config.exists
    with pytest.raises(ConfigError, match="run `kithkin init`"):
        config.require_imap()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[imap\n", "not valid TOML"),
        ('[imap]\nhost = "h"\n', r"\[imap\] username is missing"),
        ('[imap]\nusername = "u"\n', r"\[imap\] host is missing"),
        ('[imap]\nhost = "h"\nusername = "u"\nport = "993"\n', r"\[imap\] port must be an integer"),
        ('[imap]\nhost = "h"\nusername = "u"\nport = 0\n', r"\[imap\] port must be between"),
        ('[imap]\nhost = "h"\nusername = "u"\nhots = 1\n', r"\[imap\] hots is not a known setting"),
        ('[imap]\nhost = "h"\nusername = "u"\nsecurity = "ssl"\n', r"\[imap\] security must be"),
        (
            '[imap]\nhost = "mail.example.org"\nusername = "u"\nsecurity = "none"\n',
            r'security = "none" is only allowed for a loopback host',
        ),
        ('[imap]\nhost = "h"\nusername = "u"\npassword = "x"\n', r"password is not allowed"),
        ('[imap]\nhost = "h"\nusername = "u"\nfolders = "INBOX"\n', r"folders must be a list"),
        ('[imap]\nhost = "h"\nusername = "u"\nfolders = [1]\n', r"folders must be a list of"),
        ('[imap]\nhost = "h"\nusername = "u"\nca_file = "/nonexistent"\n', r"ca_file points to"),
        ('[imap]\nhost = "h"\nusername = "u"\ntimeout = true\n', r"timeout must be .*boolean"),
        ('[me]\naddresses = "a@b.c"\n', r"\[me\] addresses must be a list"),
        ('[me]\naddresses = ["not an address"]\n', r"\[me\] addresses has 'not an address'"),
        ("[me]\n", r"\[me\] addresses is missing"),
        ('[summary]\nschedule = "someday"\n', r"\[summary\] schedule must look like"),
        ('[summary]\nschedule = "monday 25:00"\n', r"\[summary\] schedule must look like"),
        ('[summary]\ntimezone = "Mars/Olympus"\n', r"\[summary\] timezone is not a known"),
        ('[summary]\ndelivery = "smtp"\n', r"\[smtp\] is missing"),
        ('[summary]\nto = "someone@else.example"\n', r"\[summary\] to must be one of \[me\]"),
        ("[summary]\nmax_people = 0\n", r"\[summary\] max_people must be at least 1"),
        ('[summary]\nsend_when_empty = "yes"\n', r"send_when_empty must be true or false"),
        ('[daemon]\npoll_interval = "often"\n', r"\[daemon\] poll_interval must be a duration"),
        ('[daemon]\nidle = "yes"\n', r"\[daemon\] idle must be true or false"),
        ("[analysis]\nfading_ratio = 0\n", r"\[analysis\] fading_ratio must be positive"),
        ("[store]\npath = 3\n", r"\[store\] path must be a string"),
        ("imap = 3\n", r"imap must be a table"),
        ("[colour]\nx = 1\n", r"colour is not a known setting"),
    ],
)
def test_each_mistake_is_one_line_naming_the_key_and_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path)
    line = str(caught.value)
    assert line.startswith(str(path))
    assert "\n" not in line
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.5"])
def test_plaintext_is_allowed_on_loopback(tmp_path: Path, host: str) -> None:
    config = load_config(
        write(tmp_path, f'[imap]\nhost = "{host}"\nusername = "u"\nsecurity = "none"\n')
    )
    assert config.imap is not None and config.imap.port == 143


def test_password_command_as_a_list_is_kept_as_argv(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            '[imap]\nhost = "h"\nusername = "u"\npassword_command = ["sh", "-c", "echo a b"]\n',
        )
    )
    assert config.imap is not None
    assert config.imap.password_command == ("sh", "-c", "echo a b")


def test_cli_reports_a_bad_config_with_exit_status_2(tmp_path, run_cli) -> None:
    path = write(tmp_path, "[imap]\nhost = 1\n")
    result = run_cli("--config", str(path), "sync")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"kithkin: error: {path}: [imap] host must be a string, not int"
    )


def test_a_missing_explicit_config_file_is_an_error(tmp_path, run_cli) -> None:
    result = run_cli("--config", str(tmp_path / "nope.toml"), "sync")
    assert result.exit_code == 2
    assert "no such config file" in result.stderr


def test_init_writes_a_private_config_that_loads(tmp_path, run_cli) -> None:
    path = tmp_path / "cfg" / "config.toml"
    result = run_cli("--config", str(path), "init", "--email", "Ann@Example.org", "--no-lookup")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = load_config(path)
    assert config.imap is not None
    assert config.imap.host == "imap.example.org"
    assert config.imap.username == "ann@example.org"
    assert config.me == ("ann@example.org",)
    assert config.summary.delivery == "imap"
    again = run_cli("--config", str(path), "init", "--email", "x@y.org")
    assert again.exit_code == 2
    assert "already exists" in again.stderr


def test_init_without_an_address_off_a_terminal_says_what_it_needs(tmp_path, run_cli) -> None:
    result = run_cli("--config", str(tmp_path / "c.toml"), "init")
    assert result.exit_code == 2
    assert "--email" in result.stderr
