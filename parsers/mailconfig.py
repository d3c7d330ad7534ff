"""An autoconfig file (Thunderbird's `config-v1.1.xml`) -> the IMAP and SMTP server in it.

The file comes from whoever answers for the mail domain, so it is read as a stranger's: at
most `MAX_BYTES`, `MAX_ELEMENTS` elements nested at most `MAX_DEPTH` deep, and no DOCTYPE at
all (so no entity can be declared, expanded or fetched). A server whose host name, port,
security or login Kithkin cannot use is skipped with a warning; a plaintext one always is.

    <clientConfig version="1.1"><emailProvider id="example.org">
      <displayName>Example Mail</displayName>
      <incomingServer type="imap">
        <hostname>imap.example.org</hostname> <port>993</port> <socketType>SSL</socketType>
        <username>%EMAILADDRESS%</username> <authentication>password-cleartext</authentication>
      </incomingServer>
      <outgoingServer type="smtp">...</outgoingServer>
    </emailProvider></clientConfig>
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.parsers import expat

from kithkin.parsers.hostnames import host_name, quoted
from kithkin.parsers.text import clean_line

MAX_BYTES = 256 * 1024  # real files are a few kilobytes
MAX_ELEMENTS = 2000
MAX_DEPTH = 16
MAX_TEXT = 1024  # characters kept of one element's text

SOCKET_TYPES = {"ssl": "tls", "tls": "tls", "starttls": "starttls"}
PASSWORD_AUTH = {"password-cleartext", "plain", "password-encrypted", "secure"}
OAUTH_AUTH = {"oauth2"}


class MailConfigError(ValueError):
    """The whole file is unusable (not XML, too big, a DOCTYPE, not an autoconfig file)."""


@dataclass(frozen=True)
class ServerEntry:
    host: str
    port: int
    security: str  # "tls" or "starttls"
    username: str  # with the placeholders filled in
    auth: str  # "password" or "xoauth2"


@dataclass(frozen=True)
class MailConfig:
    provider: str | None  # the file's displayName, cleaned
    imap: ServerEntry | None
    smtp: ServerEntry | None
    enable_url: str | None  # an https page where IMAP access must be switched on first
    warnings: tuple[str, ...] = ()


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str]
    children: list[_Element] = field(default_factory=list)
    text: str = ""

    def child_text(self, tag: str) -> str | None:
        return next((c.text.strip() for c in self.children if c.tag == tag), None)

    def all(self, tag: str) -> list[_Element]:
        return [c for c in self.children if c.tag == tag]


def parse_mail_config(data: bytes, address: str) -> MailConfig:
    """The servers in an autoconfig file, for `address` (which fills %EMAILADDRESS% etc.)."""
    root = _parse_tree(data)
    if root.tag != "clientConfig":
        raise MailConfigError(f"not an autoconfig file (its root is {quoted(root.tag)})")
    provider = next((c for c in root.children if c.tag == "emailProvider"), None)
    if provider is None:
        raise MailConfigError("no <emailProvider> in it")
    warnings: list[str] = []
    imap = _best(provider.all("incomingServer"), "imap", address, warnings)
    smtp = _best(provider.all("outgoingServer"), "smtp", address, warnings)
    name = provider.child_text("displayName") or provider.child_text("displayShortName")
    shown_name = clean_line(name)[:80] if name else None
    return MailConfig(
        provider=shown_name or None,
        imap=imap,
        smtp=smtp,
        enable_url=_enable_url(provider),
        warnings=tuple(warnings),
    )


def _parse_tree(data: bytes) -> _Element:
    if len(data) > MAX_BYTES:
        raise MailConfigError(f"larger than {MAX_BYTES // 1024} KiB")
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    stack: list[_Element] = []
    roots: list[_Element] = []
    count = 0

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if count > MAX_ELEMENTS:
            raise MailConfigError(f"more than {MAX_ELEMENTS} elements")
        if len(stack) >= MAX_DEPTH:
            raise MailConfigError(f"nested deeper than {MAX_DEPTH}")
        element = _Element(tag, dict(attrs))
        (stack[-1].children if stack else roots).append(element)
        stack.append(element)

    def end(tag: str) -> None:
        stack.pop()

    def text(content: str) -> None:
        if stack and len(stack[-1].text) < MAX_TEXT:
            stack[-1].text = (stack[-1].text + content)[:MAX_TEXT]

    def doctype(*_: object) -> None:
        raise MailConfigError("it has a DOCTYPE, which an autoconfig file never needs")

    def entity(*_: object) -> None:
        raise MailConfigError("it declares an entity")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    try:
        parser.Parse(data, True)
    except MailConfigError:
        raise
    except expat.ExpatError as exc:
        raise MailConfigError(f"not well-formed XML ({expat.ErrorString(exc.code)})") from None
    except (LookupError, ValueError):  # an encoding expat cannot read, named in the file
        raise MailConfigError("not well-formed XML (an encoding that cannot be read)") from None
    if not roots:
        raise MailConfigError("no XML element in it")
    return roots[0]


def _best(
    elements: list[_Element], kind: str, address: str, warnings: list[str]
) -> ServerEntry | None:
    """The first usable server of `kind` with implicit TLS, else the first with STARTTLS."""
    usable = []
    for element in elements:
        if element.attrs.get("type", "").lower() != kind:
            continue
        entry = _server(element, kind, address, warnings)
        if entry is not None:
            usable.append(entry)
    return next((e for e in usable if e.security == "tls"), usable[0] if usable else None)


def _server(element: _Element, kind: str, address: str, warnings: list[str]) -> ServerEntry | None:
    raw_host = element.child_text("hostname") or ""
    host = host_name(raw_host)
    if host is None:
        warnings.append(f"{kind} server {quoted(raw_host)} is not a host name: ignored")
        return None
    raw_port = element.child_text("port") or ""
    port = int(raw_port) if raw_port.isascii() and raw_port.isdigit() else 0
    if not 0 < port < 65536:
        warnings.append(f"{kind} server {host}: port {quoted(raw_port)} is not a port: ignored")
        return None
    raw_socket = (element.child_text("socketType") or "").lower()
    security = SOCKET_TYPES.get(raw_socket)
    if security is None:
        reason = "plaintext" if raw_socket == "plain" else f"socketType {quoted(raw_socket)}"
        warnings.append(f"{kind} server {host}:{port}: {reason}, which Kithkin never uses")
        return None
    methods = {(a.text.strip().lower()) for a in element.all("authentication")}
    if not methods or methods & PASSWORD_AUTH:
        auth = "password"
    elif methods & OAUTH_AUTH:
        auth = "xoauth2"
    else:
        named = ", ".join(sorted(quoted(m, 20) for m in methods)[:3])
        warnings.append(f"{kind} server {host}:{port} wants {named}, which Kithkin cannot do")
        return None
    username = _username(element.child_text("username"), address)
    if username is None:
        warnings.append(f"{kind} server {host}: its username form is not understood; "
                        "using your address")  # fmt: skip
        username = address
    return ServerEntry(host=host, port=port, security=security, username=username, auth=auth)


def _username(template: str | None, address: str) -> str | None:
    if not template:
        return address
    local, _, domain = address.rpartition("@")
    filled = (
        template.replace("%EMAILADDRESS%", address)
        .replace("%EMAILLOCALPART%", local)
        .replace("%EMAILDOMAIN%", domain)
    )
    if "%" in filled or not filled.isprintable() or " " in filled or len(filled) > 254:
        return None
    return filled


def _enable_url(provider: _Element) -> str | None:
    for element in provider.all("enable"):
        url = element.attrs.get("visiturl", "").strip()
        safe = url.isprintable() and not any(c in url for c in " \"'<>\\")
        if url.startswith("https://") and len(url) <= 300 and safe:
            return url
    return None
