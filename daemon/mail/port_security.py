"""A `security` setting that does not fit the port, told from what the server sends.

An implicit-TLS port (IMAP 993, SMTP 465) waits for the client's TLS hello; a STARTTLS or
plain one (143, 587, 25) greets in plain text at once. With `security = "starttls"` on 993
both sides wait for the other, and the connection would only fail at the timeout; with
`security = "tls"` on 143 the TLS handshake fails on the plain greeting, with an OpenSSL
error ("WRONG_VERSION_NUMBER") that names neither cause nor cure.

So, on a plain connection whose greeting has not come after `GREETING_GRACE`, a second
connection offers a TLS hello: a server answering it speaks TLS from the start, and the
connection fails at once, saying so. After a failed TLS handshake a second, plain connection
reads the first line: a greeting means the port speaks plain text first. Either way the
verdict comes from the server's own bytes; a server that is merely slow is waited for until
the timeout, as before. Neither probe sends anything but a TLS hello, and no secret.
"""

from __future__ import annotations

import select
import socket
import ssl
import time
from contextlib import suppress

GREETING_GRACE = 2.0  # seconds of silence after connecting before asking whether TLS answers
PROBE_TIMEOUT = 5.0  # seconds for a probe connection: a listening server answers in ms
_GREETINGS = {"imap": (b"* OK", b"* PREAUTH", b"* BYE"), "smtp": (b"220", b"421", b"554")}
_FIRST_BYTES = 16


class SecurityMismatch(Exception):
    """The port speaks otherwise than `security` says; the text says what to set."""


def await_greeting(sock: socket.socket, kind: str, host: str, port: int, timeout: float) -> None:
    """Return once `sock` (plain TCP, just connected) has something to read, normally the
    greeting. Silent for `GREETING_GRACE`: SecurityMismatch if the port answers a TLS hello;
    silent for `timeout`: TimeoutError. The socket is closed when either is raised."""
    started = time.monotonic()
    if _readable(sock, min(GREETING_GRACE, timeout)):
        return
    if timeout > GREETING_GRACE and _answers_tls(host, port, min(PROBE_TIMEOUT, timeout)):
        sock.close()
        raise SecurityMismatch(
            f'port {port} speaks TLS from the start; set security = "tls" in [{kind}]'
        )
    if not _readable(sock, timeout - (time.monotonic() - started)):
        sock.close()
        raise TimeoutError("timed out")


def plain_text_port(kind: str, host: str, port: int, timeout: float) -> str | None:
    """After a TLS handshake with `host:port` failed: what to set, if the port greets in
    plain text (STARTTLS, or none); else None."""
    first = b""
    try:
        with socket.create_connection((host, port), timeout=min(PROBE_TIMEOUT, timeout)) as raw:
            while len(first) < _FIRST_BYTES and b"\n" not in first:
                chunk = raw.recv(_FIRST_BYTES)
                if not chunk:
                    break
                first += chunk
    except OSError:
        pass
    if not first.upper().startswith(_GREETINGS[kind]):
        return None
    return (
        f"port {port} does not speak TLS from the start (it greets in plain text); "
        f'set security = "starttls" in [{kind}]'
    )


def _readable(sock: socket.socket, seconds: float) -> bool:
    ready, _, _ = select.select([sock], [], [], max(seconds, 0.0))
    return bool(ready)


def _answers_tls(host: str, port: int, timeout: float) -> bool:
    """Does `host:port` answer a TLS hello in TLS? The certificate is not checked: nothing
    is sent over this connection, it is closed as soon as the handshake ends."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            tls = context.wrap_socket(raw, server_hostname=host)
            with suppress(OSError):
                tls.close()
            return True
    except ssl.SSLError as exc:
        return "ALERT" in str(exc.reason)  # a TLS alert: it speaks TLS, refusing this hello
    except OSError:
        return False
