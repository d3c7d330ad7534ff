"""README's provider recipes: each TOML block under "Passwords and OAuth2: recipes" is a
config Kithkin accepts, with the settings it claims (as far as this machine can try them:
the providers themselves are out of reach)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kithkin.daemon.config import load_config

README = Path(__file__).resolve().parent.parent / "README.md"


def recipes() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Passwords and OAuth2: recipes", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```toml\n(.*?)```", section, flags=re.DOTALL)


def test_the_recipes_are_there() -> None:
    hosts = [re.search(r'host = "([^"]+)"', block).group(1) for block in recipes()]  # type: ignore[union-attr]
    assert hosts == ["imap.gmail.com", "imap.gmail.com", "outlook.office365.com",
                     "imap.mail.me.com", "imap.fastmail.com", "127.0.0.1"]  # fmt: skip


@pytest.mark.parametrize("block", recipes())
def test_each_recipe_is_a_config_kithkin_accepts(block: str, tmp_path: Path) -> None:
    exported = tmp_path / "cert.pem"  # Bridge's exported certificate, here a stand-in file
    exported.write_text("-----BEGIN CERTIFICATE-----\n")
    block = re.sub(r'ca_file = "[^"]+"', f'ca_file = "{exported}"', block)
    path = tmp_path / "config.toml"
    path.write_text(block)
    path.chmod(0o600)
    config = load_config(path)
    imap = config.require_imap()
    if "pizauth" in block or "oama" in block:
        assert imap.auth == "xoauth2"
        assert imap.password_command is not None
    if imap.host == "127.0.0.1":
        assert (imap.port, imap.security) == (1143, "starttls")
        assert imap.ca_file is not None
    else:
        assert (imap.port, imap.security) == (993, "tls")
    if config.summary.delivery == "smtp":
        smtp = config.require_smtp()
        assert (smtp.port, smtp.auth) == (587, imap.auth)
