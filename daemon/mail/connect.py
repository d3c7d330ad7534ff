"""Opening an IMAP connection: TLS verified against the system store (plus `ca_file`),
every socket operation under a timeout, and a login that works for non-ASCII passwords.

Every socket error, TLS error, server BYE or protocol error becomes one `MailboxError` line
naming the host and the cause, never the text of an exception that could hold a secret.
"""

from __future__ import annotations

import imaplib
import logging
import socket
import ssl
from contextlib import suppress

from imapclient import IMAPClient, exceptions
from imapclient.imapclient import SocketTimeout
from imapclient.tls import IMAP4_TLS

from kithkin.daemon.config import ImapConfig
from kithkin.daemon.errors import LoginRefused, MailboxError
from kithkin.daemon.mail.credentials import Credential
from kithkin.daemon.mail.port_security import SecurityMismatch, await_greeting, plain_text_port
from kithkin.daemon.mail.records import MALFORMED

log = logging.getLogger(__name__)

NETWORK_ERRORS = (OSError, imaplib.IMAP4.error, EOFError)
READ_BUFFER = 1 << 17  # bytes: the connection's read buffer (see _GreetedIMAP4)


def tls_context(ca_file: object | None) -> ssl.SSLContext:
    """Verify certificates against the system store, plus `ca_file` when given."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=str(ca_file))
    return context


class _GreetedIMAP4(imaplib.IMAP4):
    """imaplib that takes the capabilities a server lists in its greeting (`* OK
    [CAPABILITY ...]`, as Dovecot, Gmail and most do) instead of asking with CAPABILITY:
    one round trip less. They are taken out of the untagged responses, so that imapclient
    asks again after login, unless the login's reply lists them (RFC 3501 §7.1).

    It reads through a buffer of READ_BUFFER bytes, where imaplib's is 8 KB: the wire
    reader (wire.py) matches header FETCH responses in place in that buffer and reads a
    response cut by its end line by line, so a larger one means 16 times fewer reads and
    cut responses (0.16 s less CPU in a first sync of 100,000 messages)."""

    _buffered_tls = False

    def open(self, host: str = "", port: int = 143, timeout: float | None = None) -> None:
        super().open(host, port, timeout)
        self._buffer_reads()

    def _buffer_reads(self) -> None:
        """The connection's reader, remade with READ_BUFFER (nothing has been read from it)."""
        try:
            old, self.file = self.file, self.sock.makefile("rb", buffering=READ_BUFFER)  # type: ignore[assignment]
        except AttributeError:  # Python 3.14: imaplib keeps its own buffer
            return
        old.close()  # the socket stays open

    def _get_capabilities(self) -> None:
        if getattr(self, "_tls_established", False) and not self._buffered_tls:
            self._buffered_tls = True  # STARTTLS made a new reader and asks right after
            self._buffer_reads()
        greeted = self.untagged_responses.pop("CAPABILITY", None)
        if not greeted or not isinstance(greeted[-1], bytes) or not greeted[-1].strip():
            super()._get_capabilities()  # type: ignore[misc]  # typeshed lacks it
            return
        self.capabilities = tuple(greeted[-1].decode("ascii", "replace").upper().split())


class _TlsIMAP4(IMAP4_TLS, _GreetedIMAP4):  # type: ignore[misc]  # imapclient: no hints
    """imapclient's TLS connection, greeted."""

    def __init__(
        self, host: str, port: int, context: ssl.SSLContext | None, timeout: float | None
    ) -> None:
        IMAP4_TLS.__init__(self, host, port, context, timeout)


class _PlainIMAP4(_GreetedIMAP4):
    """imaplib over plain TCP (`security = "starttls"` or "none") that does not wait out
    the timeout for a greeting from a port that speaks TLS from the start."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self._greeting_timeout = timeout
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        timeout = self._greeting_timeout if timeout is None else timeout
        sock = socket.create_connection((self.host, self.port), timeout)
        await_greeting(sock, "imap", self.host, self.port, timeout)
        return sock


class _Client(IMAPClient):  # type: ignore[misc]  # imapclient has no type hints
    def _create_IMAP4(self) -> imaplib.IMAP4:
        if self.ssl:
            return _TlsIMAP4(self.host, self.port, self.ssl_context, self._timeout.connect)
        return _PlainIMAP4(self.host, self.port, self._timeout.connect)


def open_client(config: ImapConfig, credential: Credential | str) -> IMAPClient:
    """A logged-in IMAPClient: TLS verified, every socket operation under a timeout. The one
    place an IMAP connection is opened (the sync's, and delivery's for `delivery = "imap"`).

    An OAuth2 token the server refuses is asked for once more (`Credential.renew`) and the
    login tried again on a new connection; a second refusal is one line."""
    if isinstance(credential, str):
        credential = Credential.given(config, credential)
    try:
        return _open_once(config, credential.get())
    except LoginRefused:
        if not credential.renewable:
            raise
    log.info("%s:%s refused the OAuth2 token; asking for a fresh one", config.host, config.port)
    try:
        return _open_once(config, credential.renew())
    except LoginRefused:
        pass
    raise LoginRefused(
        f"{config.host}:{config.port}: login failed: the server refused the OAuth2 token, and "
        "the fresh one password_command gave right after; check that the token helper "
        "refreshes its token and is set up for this account"
    )


def _open_once(config: ImapConfig, secret: str) -> IMAPClient:
    where = f"{config.host}:{config.port}"
    connect_timeout = min(config.timeout, 30)
    try:
        client = _Client(
            config.host,
            port=config.port,
            ssl=config.security == "tls",
            ssl_context=tls_context(config.ca_file) if config.security != "none" else None,
            timeout=SocketTimeout(connect=connect_timeout, read=config.timeout),
        )
    except SecurityMismatch as exc:
        raise MailboxError(f"{where}: cannot connect: {exc}") from None
    except (*NETWORK_ERRORS, *MALFORMED) as exc:
        hint = None
        if isinstance(exc, ssl.SSLError) and not isinstance(exc, ssl.SSLCertVerificationError):
            hint = plain_text_port("imap", config.host, config.port, connect_timeout)
        raise MailboxError(f"{where}: cannot connect: {hint or describe_failure(exc)}") from None
    client.normalise_times = False
    with suppress(OSError):  # imapclient writes a command in pieces: do not wait on ACKs
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    step, failure, refused = "STARTTLS", None, False
    try:
        if config.security == "starttls":
            client.starttls(tls_context(config.ca_file))
        step = "login"
        if config.auth == "xoauth2":
            client.oauth2_login(config.username, secret)
        elif config.auth == "oauthbearer":
            client.oauthbearer_login(config.username, secret)
        elif (config.username + secret).isascii():
            client.login(config.username, secret)
        elif client.has_capability("AUTH=PLAIN"):
            # imaplib sends LOGIN's arguments as ASCII; AUTHENTICATE PLAIN carries UTF-8.
            client.plain_login(config.username, secret)
        else:
            failure = "the password or username is not ASCII, and the server has no AUTH=PLAIN"
    except (*NETWORK_ERRORS, *MALFORMED) as exc:
        failure = describe_failure(exc)
        refused = isinstance(exc, exceptions.LoginError)
        if refused and config.auth != "password":
            failure = "the server refused the OAuth2 token"
    if failure is not None:
        # Raised outside the `except`: a chained UnicodeEncodeError would hold the secret.
        close_quietly(client)
        raise (LoginRefused if refused else MailboxError)(f"{where}: {step} failed: {failure}")
    return client


def describe_failure(exc: BaseException) -> str:
    """A short human cause for a network or protocol failure, never including secrets."""
    # The text of a UnicodeError names a character (or byte) of what it was given, and where.
    if isinstance(exc, UnicodeEncodeError):
        return "the password or username cannot be sent (not ASCII?)"
    if isinstance(exc, UnicodeError):
        return f"text that cannot be decoded ({type(exc).__name__})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, socket.gaierror):
        return "host name not found"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, exceptions.LoginError):
        return "the server refused the username or password"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    text = str(exc).strip() or type(exc).__name__
    if text[:2] in ("b'", 'b"') and text[-1:] in ("'", '"'):  # imaplib quotes server bytes
        text = text[2:-1]
    if isinstance(exc, imaplib.IMAP4.abort):
        return f"connection lost ({text[:200]})"
    return text[:200]


def close_quietly(client: IMAPClient) -> None:
    """Log out, or at least close the socket; the connection may be gone already."""
    with suppress(Exception):
        client.logout()
        return
    with suppress(Exception):
        client.shutdown()
