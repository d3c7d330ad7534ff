"""OAuth2 logins, against real servers: Dovecot's oauth2 passdb and the test SMTP server both
check each token at an RFC 7662 introspection endpoint (tests/oauthserver.py).

The token comes from `password_command`, as from a token helper (oama, pizauth,
mutt_oauth2.py): a small script that hands out the next token of a list on each call and
counts its calls. A refused token is asked for once more; a second refusal is one line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import ME, write_config
from mailbuilder import make_message
from oauthserver import IntrospectionServer
from servers import DovecotServer, SmtpServer, append, require_dovecot

from kithkin.daemon.config import ImapConfig, ServerConfig, load_config
from kithkin.daemon.errors import DeliveryError, LoginRefused
from kithkin.daemon.mail.credentials import Credential
from kithkin.daemon.mail.delivery import send_smtp
from kithkin.daemon.mail.session import ImapSession

HELPER = """\
import pathlib, sys
tokens = pathlib.Path(sys.argv[1])
calls = pathlib.Path(sys.argv[2])
calls.write_text(str(int(calls.read_text() or 0) + 1))
first, *rest = tokens.read_text().splitlines()
tokens.write_text("".join(line + "\\n" for line in rest))
print(first)
"""


class TokenHelper:
    """A password_command that prints the next of `tokens` on each call."""

    def __init__(self, directory: Path) -> None:
        self.script = directory / "token-helper.py"
        self.script.write_text(HELPER)
        self.tokens = directory / "tokens"
        self.calls_file = directory / "calls"
        self.calls_file.write_text("0")
        self.tokens.write_text("")

    def hand_out(self, *tokens: str) -> None:
        self.tokens.write_text("".join(token + "\n" for token in tokens))

    @property
    def command(self) -> tuple[str, ...]:
        return (sys.executable, str(self.script), str(self.tokens), str(self.calls_file))

    @property
    def calls(self) -> int:
        return int(self.calls_file.read_text())


@pytest.fixture
def idp() -> Iterator[IntrospectionServer]:
    with IntrospectionServer() as server:
        yield server


@pytest.fixture
def dovecot_oauth2(idp: IntrospectionServer) -> Iterator[DovecotServer]:
    require_dovecot()
    server = DovecotServer(oauth2_url=idp.url)
    try:
        server.start()
        yield server
    finally:
        server.close(wait=False)


@pytest.fixture
def helper(tmp_path: Path) -> TokenHelper:
    return TokenHelper(tmp_path)


def imap_config(server: DovecotServer, helper: TokenHelper, auth: str) -> ImapConfig:
    return ImapConfig(
        kind="imap",
        host=server.host,
        port=server.port,
        security="none",
        username=server.username,
        password_command=helper.command,
        auth=auth,
        timeout=20,
    )


@pytest.mark.parametrize("auth", ["xoauth2", "oauthbearer"])
def test_a_valid_token_logs_in(dovecot_oauth2, idp, helper, auth) -> None:
    helper.hand_out(idp.issue(dovecot_oauth2.username))
    config = imap_config(dovecot_oauth2, helper, auth)
    session = ImapSession.connect(config, Credential(config))
    try:
        assert "INBOX" in session.folders_to_sync()
    finally:
        session.logout()
    assert helper.calls == 1
    assert len(idp.asked) == 1


@pytest.mark.parametrize("auth", ["xoauth2", "oauthbearer"])
def test_a_refused_token_is_asked_for_again_once_and_the_fresh_one_logs_in(
    dovecot_oauth2, idp, helper, auth
) -> None:
    expired = idp.issue(dovecot_oauth2.username)
    idp.expire(expired)
    fresh = idp.issue(dovecot_oauth2.username)
    helper.hand_out(expired, fresh)
    config = imap_config(dovecot_oauth2, helper, auth)
    ImapSession.connect(config, Credential(config)).logout()
    assert helper.calls == 2
    assert idp.asked == [expired, fresh]


@pytest.mark.parametrize("auth", ["xoauth2", "oauthbearer"])
def test_a_second_refusal_is_one_line_without_the_token(dovecot_oauth2, idp, helper, auth) -> None:
    first, second = idp.issue("kithkin", active=False), idp.issue("kithkin", active=False)
    helper.hand_out(first, second, idp.issue("kithkin"))
    config = imap_config(dovecot_oauth2, helper, auth)
    with pytest.raises(LoginRefused) as caught:
        ImapSession.connect(config, Credential(config))
    message = str(caught.value)
    assert "refused the OAuth2 token" in message and "password_command" in message
    assert "\n" not in message
    assert first not in message and second not in message
    assert helper.calls == 2  # once more, not on and on


def test_a_token_of_another_account_is_refused(dovecot_oauth2, idp, helper) -> None:
    dovecot_oauth2.add_user("someone-else")
    helper.hand_out(idp.issue("someone-else"), idp.issue("someone-else"))
    config = imap_config(dovecot_oauth2, helper, "xoauth2")
    with pytest.raises(LoginRefused):
        ImapSession.connect(config, Credential(config))


def test_a_refused_password_is_not_asked_for_again(dovecot_oauth2, helper) -> None:
    helper.hand_out("not-the-password", dovecot_oauth2.password)
    config = imap_config(dovecot_oauth2, helper, "password")
    with pytest.raises(LoginRefused) as caught:
        ImapSession.connect(config, Credential(config))
    assert "refused the username or password" in str(caught.value)
    assert helper.calls == 1


def test_kithkin_sync_with_a_token_helper_logs_mail(
    dovecot_oauth2, idp, helper, tmp_path, run_cli
) -> None:
    expired = idp.issue(dovecot_oauth2.username, active=False)
    helper.hand_out(expired, idp.issue(dovecot_oauth2.username))
    config = write_config(
        tmp_path / "k",
        dovecot_oauth2,
        imap={"auth": "xoauth2", "password_command": list(helper.command)},
    )
    append(dovecot_oauth2, "INBOX", make_message(from_="Ada <ada@example.org>", to=ME))
    assert run_cli("--config", str(config), "contacts", "add", "Ada",
                   "--email", "ada@example.org").exit_code == 0  # fmt: skip
    result = run_cli("--config", str(config), "sync", "-q")
    assert result.exit_code == 0, result.output
    shown = run_cli("--config", str(config), "interactions", "--json")
    assert "ada" in shown.stdout.casefold()
    assert expired not in result.output + shown.output
    assert load_config(config).imap is not None


# --- SMTP ------------------------------------------------------------------------------------


@pytest.fixture
def smtp_oauth2(dovecot_oauth2, idp) -> Iterator[SmtpServer]:
    with SmtpServer(dovecot_oauth2, introspection_url=idp.url) as server:
        yield server


def smtp_config(smtp: SmtpServer, helper: TokenHelper, auth: str) -> ServerConfig:
    return ServerConfig(
        kind="smtp",
        host=smtp.host,
        port=smtp.port,
        security="none",
        username=smtp.username,
        password_command=helper.command,
        auth=auth,
        timeout=20,
    )


def a_summary() -> object:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = f"Kithkin <{ME}>", ME, "summary"
    message.set_content("hello")
    return message


@pytest.mark.parametrize("auth", ["xoauth2", "oauthbearer"])
def test_smtp_a_refused_token_is_renewed_once_and_the_summary_sent_once(
    smtp_oauth2, idp, helper, auth
) -> None:
    expired = idp.issue(smtp_oauth2.username, active=False)
    helper.hand_out(expired, idp.issue(smtp_oauth2.username))
    config = smtp_config(smtp_oauth2, helper, auth)
    send_smtp(a_summary(), config, Credential(config))  # type: ignore[arg-type]
    assert [m.login for m in smtp_oauth2.messages] == [smtp_oauth2.username]
    assert helper.calls == 2


@pytest.mark.parametrize("auth", ["xoauth2", "oauthbearer"])
def test_smtp_a_second_refusal_is_one_line_and_nothing_is_sent(
    smtp_oauth2, idp, helper, auth
) -> None:
    tokens = [idp.issue(smtp_oauth2.username, active=False) for _ in range(3)]
    helper.hand_out(*tokens)
    config = smtp_config(smtp_oauth2, helper, auth)
    with pytest.raises(DeliveryError) as caught:
        send_smtp(a_summary(), config, Credential(config))  # type: ignore[arg-type]
    message = str(caught.value)
    assert "refused the OAuth2 token, and the fresh one" in message
    assert not any(token in message for token in tokens)
    assert smtp_oauth2.messages == []
    assert helper.calls == 2


def test_smtp_a_valid_token_sends_with_one_call(smtp_oauth2, idp, helper) -> None:
    helper.hand_out(idp.issue(smtp_oauth2.username))
    config = replace(smtp_config(smtp_oauth2, helper, "xoauth2"))
    send_smtp(a_summary(), config, Credential(config))  # type: ignore[arg-type]
    assert len(smtp_oauth2.messages) == 1
    assert helper.calls == 1
