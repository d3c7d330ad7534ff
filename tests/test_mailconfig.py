"""Autoconfig files (Thunderbird's config-v1.1.xml) -> servers: a table of real shapes and a
table of hostile ones (parsers/mailconfig.py, no network), and the host name checks."""

from __future__ import annotations

import pytest

from kithkin.parsers.hostnames import host_name
from kithkin.parsers.mailconfig import (
    MAX_BYTES,
    MailConfigError,
    ServerEntry,
    parse_mail_config,
)

ADA = "ada@example.test"


def config(*servers: str, name: str = "Example Mail", extra: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<clientConfig version="1.1">'
        f'<emailProvider id="example.test"><domain>example.test</domain>'
        f"<displayName>{name}</displayName>{''.join(servers)}{extra}"
        "</emailProvider></clientConfig>"
    ).encode()


def imap(host: str = "imap.example.test", port: str = "993", socket: str = "SSL",
         username: str = "%EMAILADDRESS%", auth: str = "password-cleartext") -> str:  # fmt: skip
    auth_xml = "".join(f"<authentication>{a}</authentication>" for a in auth.split(",") if a)
    return (
        f'<incomingServer type="imap"><hostname>{host}</hostname><port>{port}</port>'
        f"<socketType>{socket}</socketType><username>{username}</username>{auth_xml}"
        "</incomingServer>"
    )


def smtp(host: str = "smtp.example.test", port: str = "465", socket: str = "SSL") -> str:
    return (
        f'<outgoingServer type="smtp"><hostname>{host}</hostname><port>{port}</port>'
        f"<socketType>{socket}</socketType><username>%EMAILADDRESS%</username>"
        "</outgoingServer>"
    )


POP3 = (
    '<incomingServer type="pop3"><hostname>pop.example.test</hostname><port>995</port>'
    "<socketType>SSL</socketType></incomingServer>"
)


def entry(host: str = "imap.example.test", port: int = 993, security: str = "tls",
          username: str = ADA, auth: str = "password") -> ServerEntry:  # fmt: skip
    return ServerEntry(host, port, security, username, auth)


GOOD = [
    ("imap and smtp", config(imap(), smtp()), entry(), entry("smtp.example.test", 465)),
    ("pop3 listed first is skipped", config(POP3, imap()), entry(), None),
    ("implicit TLS preferred to an earlier STARTTLS",
     config(imap(port="143", socket="STARTTLS"), imap(port="993")), entry(), None),
    ("STARTTLS when there is nothing else",
     config(imap(port="143", socket="STARTTLS"), smtp(port="587", socket="STARTTLS")),
     entry(port=143, security="starttls"), entry("smtp.example.test", 587, "starttls")),
    ("plaintext skipped for STARTTLS",
     config(imap(port="143", socket="plain"), imap(port="143", socket="STARTTLS")),
     entry(port=143, security="starttls"), None),
    ("local part", config(imap(username="%EMAILLOCALPART%")), entry(username="ada"), None),
    ("domain placeholder", config(imap(username="mail-%EMAILDOMAIN%")),
     entry(username="mail-example.test"), None),
    ("OAuth2 only", config(imap(auth="OAuth2")), entry(auth="xoauth2"), None),
    ("OAuth2 or password: password", config(imap(auth="OAuth2,password-cleartext")), entry(),
     None),
    ("no authentication element: password", config(imap(auth="")), entry(), None),
    ("upper-case host, spaces, final dot", config(imap(host="  IMAP.Example.TEST.\n")), entry(),
     None),
    ("internationalised host becomes punycode", config(imap(host="imap.bücher.test")),
     entry(host="imap.xn--bcher-kva.test"), None),
]  # fmt: skip


@pytest.mark.parametrize(("xml", "want_imap", "want_smtp"), [g[1:] for g in GOOD],
                         ids=[g[0] for g in GOOD])  # fmt: skip
def test_autoconfig_files_give_their_servers(xml, want_imap, want_smtp) -> None:
    found = parse_mail_config(xml, ADA)
    assert (found.imap, found.smtp) == (want_imap, want_smtp)
    assert found.provider == "Example Mail"


def test_a_real_shape_with_comments_entities_and_an_enable_page() -> None:
    xml = config(
        "<!-- MX: mx.example.test -->",
        imap(host="imap.example.test"),
        name="Example &amp;\u200e Co \u202e&#9;",
        extra='<enable visiturl="https://example.test/settings/imap"><instruction>Switch IMAP '
        "on &amp; save</instruction></enable>",
    )
    found = parse_mail_config(xml, ADA)
    assert found.imap == entry()
    assert found.provider == "Example & Co"  # direction mark, bidi override and tab gone
    assert found.enable_url == "https://example.test/settings/imap"


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b"<clientConfig>&lol2;</clientConfig>"
)
EXTERNAL = (
    b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<clientConfig>&x;</clientConfig>"
)
HOSTILE_DOCUMENTS = [
    ("billion laughs", LAUGHS, "DOCTYPE"),
    ("external entity", EXTERNAL, "DOCTYPE"),
    ("undeclared entity", b"<clientConfig>&x;</clientConfig>", "not well-formed"),
    ("not XML", b"<html><body>Welcome to nginx!", "not well-formed"),
    ("empty", b"", "not well-formed"),
    ("HTML, well-formed", b"<html><body>hello</body></html>", "not an autoconfig file"),
    ("no provider", b"<clientConfig version='1.1'></clientConfig>", "no <emailProvider>"),
    ("deep nesting", b"<clientConfig>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</clientConfig>",
     "nested deeper"),
    ("many elements", b"<clientConfig>" + b"<a/>" * 5000 + b"</clientConfig>",
     "more than 2000 elements"),
    ("10 MB", b"<clientConfig>" + b" " * (10 * 1024 * 1024) + b"</clientConfig>",
     "larger than 256 KiB"),
    ("bad encoding", b'<?xml version="1.0" encoding="x-klingon"?><clientConfig/>',
     "not well-formed"),
    ("two roots", b"<clientConfig/><clientConfig/>", "not well-formed"),
    ("a control character", b"<clientConfig><a>\x1b[31m</a></clientConfig>", "not well-formed"),
    ("a multi-byte encoding expat cannot map",
     b'<?xml version="1.0" encoding="shift_jis"?><clientConfig/>', "not well-formed"),
]  # fmt: skip


@pytest.mark.parametrize(("xml", "reason"), [h[1:] for h in HOSTILE_DOCUMENTS],
                         ids=[h[0] for h in HOSTILE_DOCUMENTS])  # fmt: skip
def test_hostile_documents_are_refused_with_a_reason(xml, reason) -> None:
    with pytest.raises(MailConfigError, match=reason):
        parse_mail_config(xml, ADA)


HOSTILE_SERVERS = [
    ("a no-break space in the host", imap(host="imap\u00a0x.example.test"), "not a host name"),
    ("a bidi override in the host", imap(host="imap.\u202eevil.test"), "not a host name"),
    ("a shell command as host", imap(host="imap.example.test;rm -rf ~"), "not a host name"),
    ("a URL as host", imap(host="https://imap.example.test/"), "not a host name"),
    ("a 300-character host", imap(host="a" * 300 + ".test"), "not a host name"),
    ("a label of 64 characters", imap(host="a" * 64 + ".example.test"), "not a host name"),
    ("empty host", imap(host=""), "not a host name"),
    ("port 0", imap(port="0"), "not a port"),
    ("port 70000", imap(port="70000"), "not a port"),
    ("port in Arabic digits", imap(port="\u0669\u0669\u0663"), "not a port"),
    ("port -1", imap(port="-1"), "not a port"),
    ("plaintext only", imap(port="143", socket="plain"), "plaintext"),
    ("unknown socket type", imap(socket="quantum"), "socketType"),
    ("GSSAPI only", imap(auth="GSSAPI"), "cannot do"),
]  # fmt: skip


@pytest.mark.parametrize(("server", "warning"), [h[1:] for h in HOSTILE_SERVERS],
                         ids=[h[0] for h in HOSTILE_SERVERS])  # fmt: skip
def test_a_server_kithkin_cannot_use_is_skipped_with_a_warning_and_the_next_used(
    server, warning
) -> None:
    found = parse_mail_config(config(server, imap(host="imap2.example.test")), ADA)
    assert found.imap == entry(host="imap2.example.test")
    assert len(found.warnings) == 1
    assert warning in found.warnings[0]
    assert all(c.isprintable() for c in found.warnings[0])
    assert len(found.warnings[0]) < 200


def test_an_unknown_username_placeholder_falls_back_to_the_address() -> None:
    found = parse_mail_config(config(imap(username="%REALNAME%")), ADA)
    assert found.imap == entry()
    assert "username form" in found.warnings[0]


def test_an_enable_page_that_is_not_https_is_dropped() -> None:
    extra = '<enable visiturl="javascript:alert(1)"/><enable visiturl="http://x.test/"/>'
    assert parse_mail_config(config(imap(), extra=extra), ADA).enable_url is None


def test_a_file_just_under_the_limit_is_read() -> None:
    padding = "<!--" + "x" * (MAX_BYTES - 2000) + "-->"
    xml = config(padding, imap())
    assert len(xml) <= MAX_BYTES
    assert parse_mail_config(xml, ADA).imap == entry()


HOSTS = [
    ("imap.example.org", "imap.example.org"),
    ("IMAP.Example.ORG.", "imap.example.org"),
    ("127.0.0.1", "127.0.0.1"),
    ("[::1]", "::1"),
    ("xn--bcher-kva.test", "xn--bcher-kva.test"),
    ("bücher.test", "xn--bcher-kva.test"),
    ("localhost", "localhost"),
    ("-leading.test", None),
    ("trailing-.test", None),
    ("under_score.test", None),
    ("two..dots.test", None),
    ("evil\\007host.test", None),  # how dnspython writes a control character
    ("spa ce.test", None),
    ("", None),
    (".", None),
    ("a." * 127 + "a", None),  # 255 characters
]


@pytest.mark.parametrize(("text", "want"), HOSTS)
def test_host_names(text, want) -> None:
    assert host_name(text) == want
