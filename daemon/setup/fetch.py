"""One small file over HTTPS, from a server that may be anyone's: verified TLS only, at
most `max_bytes`, a few redirects (to https:// only), every read bounded by the Network's
timeout and the whole by its budget. The host is resolved with the Network's resolver, so a
test's DNS server decides where the connection goes (and its CA what is trusted)."""

from __future__ import annotations

import http.client
import socket
import ssl
from urllib.parse import urljoin, urlsplit

from kithkin.daemon.setup.network import Network
from kithkin.parsers.hostnames import host_name, quoted

MAX_REDIRECTS = 3
CHUNK = 16384
HEADERS = {"Accept": "application/xml, text/xml", "User-Agent": "kithkin"}


class FetchError(Exception):
    """Why nothing usable came back, in a few words safe to print."""


class _Connection(http.client.HTTPSConnection):
    """An HTTPSConnection to `address`, verifying the certificate for `host`."""

    def __init__(
        self, host: str, address: str, port: int, context: ssl.SSLContext, timeout: float
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        try:
            self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


def fetch(network: Network, url: str, max_bytes: int) -> bytes:
    """The body of a 200 answer to GET `url`; FetchError for anything else."""
    for _ in range(MAX_REDIRECTS + 1):
        status, body, location = _get(network, url, max_bytes)
        if status == 200:
            return body
        if status in (301, 302, 303, 307, 308) and location:
            url = urljoin(url, location)
            if not url.startswith("https://"):
                raise FetchError(f"redirected to {quoted(url)}, which is not https://")
            continue
        raise FetchError(f"HTTP {status}")
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def _get(network: Network, url: str, max_bytes: int) -> tuple[int, bytes, str | None]:
    parts = urlsplit(url)
    host = host_name(parts.hostname or "")
    if parts.scheme != "https" or host is None:
        raise FetchError(f"{quoted(url)} is not an https:// URL of a host")
    try:
        port = parts.port or network.https_port
    except ValueError:
        raise FetchError(f"{quoted(url)} has no valid port") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    last_problem = "no address"
    for address in _addresses(network, host):
        if network.remaining() <= 0:
            raise FetchError(f"not fetched: the lookups took {network.budget:g} s")
        connection = _Connection(
            host, address, port, network.ssl_context, min(network.timeout, network.remaining())
        )
        try:
            connection.request("GET", path, headers=HEADERS)
            response = connection.getresponse()
            if response.status != 200:
                return response.status, b"", response.getheader("Location")
            return 200, _read(network, response, max_bytes), None
        except ssl.SSLCertVerificationError as exc:
            last_problem = f"certificate not trusted ({exc.verify_message})"
        except (OSError, http.client.HTTPException) as exc:
            last_problem = _reason(exc)
        finally:
            connection.close()
    raise FetchError(last_problem)


def _addresses(network: Network, host: str) -> list[str]:
    notes: list[str] = []
    found = []
    for rdtype in ("A", "AAAA"):
        for rdata in network.query(host, rdtype, notes) or []:
            found.append(str(getattr(rdata, "address", "")))
    addresses = [a for a in found if host_name(a) is not None]
    if not addresses:
        raise FetchError(notes[0] if notes else f"{host} has no address")
    return addresses[:4]


def _read(network: Network, response: http.client.HTTPResponse, max_bytes: int) -> bytes:
    declared = response.getheader("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"{int(declared):,} bytes, more than the {max_bytes:,} allowed")
    body = bytearray()
    while chunk := response.read1(CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise FetchError(f"more than the {max_bytes:,} bytes allowed")
        if network.remaining() <= 0:
            raise FetchError(f"still arriving after {network.budget:g} s")
    return bytes(body)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or type(exc).__name__})"
    return type(exc).__name__
