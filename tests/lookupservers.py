"""The servers `kithkin init`'s lookups are tested against, on 127.0.0.1: a real DNS server
(dnslib, UDP and TCP on one port) answering from a zone a test writes, and an HTTPS server
(http.server + ssl) with a test CA (servers.make_tls_files) serving files by host and path.
Both record every request, so a test can say that nothing reached them."""

from __future__ import annotations

import contextlib
import http.server
import ssl
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnslib import QTYPE, RCODE, RR, DNSLabel
from dnslib.server import BaseResolver, DNSLogger, DNSServer
from processes import LOOPBACK
from servers import TlsFiles, make_tls_files

POLL = 0.02  # seconds between the servers' checks for shutdown


class Zone(BaseResolver):  # type: ignore[misc]
    """Answers from `records`; a name with no records at all is NXDOMAIN."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[Any]] = {}
        self.queries: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def add(self, zone_text: str) -> None:
        """Records in zone-file syntax, one a line: `name. 60 IN SRV 0 0 993 host.`"""
        for rr in RR.fromZone(zone_text):
            self.add_rr(rr)

    def add_rr(self, rr: Any) -> None:
        key = (str(rr.rname).lower(), QTYPE[rr.rtype])
        with self.lock:
            self.records.setdefault(key, []).append(rr)

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        name, kind = str(request.q.qname).lower(), QTYPE[request.q.qtype]
        with self.lock:
            self.queries.append((name, kind))
            answers = list(self.records.get((name, kind), []))
            known = any(key[0] == name for key in self.records)
        for rr in answers:
            reply.add_answer(rr)
        if not known:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


def label(*parts: bytes) -> DNSLabel:
    """A DNS name from raw labels, which may hold any bytes (a hostile target)."""
    return DNSLabel(list(parts))


class DnsServer:
    def __init__(self) -> None:
        self.zone = Zone()
        quiet = DNSLogger(log="-recv,-send,-request,-reply,-truncated,-error,-data",
                          logf=lambda _: None)  # fmt: skip
        for _ in range(20):  # a free UDP port whose TCP twin is free too
            udp = DNSServer(self.zone, address=LOOPBACK, port=0, logger=quiet)
            self.port = udp.server.server_address[1]
            try:
                tcp = DNSServer(self.zone, address=LOOPBACK, port=self.port, tcp=True,
                                logger=quiet)  # fmt: skip
            except OSError:
                udp.server.server_close()
                continue
            break
        else:  # pragma: no cover
            raise RuntimeError("no free port for the test DNS server")
        self.servers = [udp, tcp]

    @property
    def nameserver(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def queries(self) -> list[tuple[str, str]]:
        with self.zone.lock:
            return list(self.zone.queries)

    def start(self) -> None:
        for server in self.servers:
            threading.Thread(target=server.server.serve_forever, kwargs={"poll_interval": POLL},
                             daemon=True).start()  # fmt: skip

    def close(self) -> None:
        for server in self.servers:
            server.server.shutdown()
            server.server.server_close()


@dataclass
class Page:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    length: bool = True  # send Content-Length (else the body ends when the connection does)


class HttpsServer:
    """Serves `pages[(host, path)]`; 404 for anything else. `requests` lists (host, path)."""

    def __init__(self, tls: TlsFiles) -> None:
        self.tls = tls
        self.pages: dict[tuple[str, str], Page] = {}
        self.requests: list[tuple[str, str]] = []
        self.connections = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
                owner.requests.append((host, self.path))
                page = owner.pages.get((host, self.path), Page(404, b"not here"))
                with contextlib.suppress(OSError):
                    self._send(page)

            def _send(self, page: Page) -> None:
                self.send_response(page.status)
                for name, value in page.headers.items():
                    self.send_header(name, value)
                chunks = [page.body] if isinstance(page.body, bytes) else page.body
                if isinstance(page.body, bytes) and page.length:
                    self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                for chunk in chunks:
                    self.wfile.write(chunk)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[Any, Any]:
                sock, address = self.socket.accept()
                owner.connections += 1
                wrapped = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                return wrapped, address

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hung up, or did not trust the certificate

        context = self.tls.server_context()
        context.options |= ssl.OP_NO_TICKET
        self.server = Server((LOOPBACK, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": POLL}, daemon=True
        )

    def serve(self, host: str, path: str, page: Page | bytes) -> None:
        self.pages[(host, path)] = page if isinstance(page, Page) else Page(body=page)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# The domains the tests look up; the test certificate names each and its autoconfig host.
TEST_DOMAINS = ("example.test", "srv.test", "xml.test", "wellknown.test", "mx.test",
                "hostile.test", "order.test", "redirect.test", "big.test", "slow.test",
                "bad.test")  # fmt: skip


def lookup_tls_files(directory: Path) -> TlsFiles:
    names = [name for domain in TEST_DOMAINS for name in (domain, f"autoconfig.{domain}")]
    return make_tls_files(directory, names)


@contextlib.contextmanager
def running(server: DnsServer | HttpsServer) -> Iterator[Any]:
    server.start()
    try:
        yield server
    finally:
        server.close()
