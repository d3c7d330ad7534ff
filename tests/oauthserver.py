"""An OAuth 2.0 token introspection endpoint (RFC 7662) on 127.0.0.1, for the tests' OAuth2
logins: Dovecot's `oauth2` passdb asks it about every token, and the test SMTP server too.

authlib's introspection endpoint needs a web framework around it (Flask, Django); the
protocol is one POST with a form field and a JSON answer, so this is the standard library's
HTTP server speaking it. Tokens are issued by the test; `expire` makes one inactive, as an
access token whose hour has passed.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs

from processes import LOOPBACK

MAX_BODY = 64 * 1024


@dataclass
class _Token:
    username: str
    active: bool = True


class IntrospectionServer:
    """POST /introspect with `token=...` answers `{"active": true, "username": ...}` for a
    token issued and not expired, else `{"active": false}` (RFC 7662 section 2.2)."""

    def __init__(self) -> None:
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()
        self.asked: list[str] = []  # every token asked about, in order
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://{LOOPBACK}:{self._server.server_address[1]}/introspect"

    def issue(self, username: str, *, active: bool = True) -> str:
        token = "ya29." + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = _Token(username, active)
        return token

    def expire(self, token: str) -> None:
        with self._lock:
            self._tokens[token].active = False

    def answer(self, token: str) -> dict[str, object]:
        with self._lock:
            self.asked.append(token)
            found = self._tokens.get(token)
            if found is None or not found.active:
                return {"active": False}
            return {"active": True, "username": found.username, "token_type": "Bearer"}

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
                form = parse_qs(self.rfile.read(length).decode("ascii", "replace"))
                body = json.dumps(owner.answer(form.get("token", [""])[0])).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: a token is in every request

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
