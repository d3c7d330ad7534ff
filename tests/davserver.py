"""A real CardDAV/CalDAV server and client for the test suite: Radicale on 127.0.0.1 with its
own storage directory and one htpasswd user, and vdirsyncer run as a command with a config of
its own, syncing the server's collections into local vdirs.

- `DavServer`: start and stop Radicale; make address books (`make_addressbook`) and calendars
  (`make_calendar`); PUT a vCard (`put_vcard`) or an iCalendar event (`put_event`); DELETE
  and list what a collection holds, all over HTTP the way a phone or Nextcloud would.
- `Vdirsyncer`: a config with a contacts pair, a calendars pair or both (`pairs`), the
  password read by a `password.fetch` command from a 0600 file (never in the config), and
  `discover()` / `sync()` running the real `vdirsyncer` CLI.
- `vcard_text`, `event_text`: small valid vCard 3.0 and iCalendar texts.

Nothing here sleeps a fixed time: start-up polls the port with a deadline.
"""

from __future__ import annotations

import base64
import http.client
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Self
from xml.etree import ElementTree

from processes import (
    LOOPBACK,
    Process,
    ServerError,
    end_process_group,
    free_port,
    tail,
    wait_for_port,
)

DAV_TIMEOUT = 20.0
_ADDRESSBOOK = """<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:set><D:prop>
    <D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>
    <D:displayname>{name}</D:displayname>
  </D:prop></D:set>
</D:mkcol>"""
_CALENDAR = """<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop>
    <D:resourcetype><D:collection/><C:calendar/></D:resourcetype>
    <D:displayname>{name}</D:displayname>
    <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
  </D:prop></D:set>
</D:mkcol>"""
_PROPFIND = """<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>"""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class DavServer:
    """Radicale in a subprocess: storage in a temp dir, one user with a random password."""

    def __init__(self, *, username: str = "kithkin") -> None:
        self.host = LOOPBACK
        self.port = 0
        self.username = username
        self.password = secrets.token_urlsafe(18)
        self.directory = Path(tempfile.mkdtemp(prefix="kithkin-radicale-"))
        self.log_file = self.directory / "radicale.log"
        self._proc: Process | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> None:
        self.port = free_port()
        users = self.directory / "users"
        users.touch(mode=0o600)
        users.write_text(f"{self.username}:{self.password}\n")
        config = self.directory / "config"
        config.write_text(
            "[server]\n"
            f"hosts = {self.host}:{self.port}\n"
            "[auth]\n"
            "type = htpasswd\n"
            f"htpasswd_filename = {users}\n"
            "htpasswd_encryption = plain\n"
            "delay = 0\n"
            "[rights]\n"
            "type = owner_only\n"
            "[storage]\n"
            f"filesystem_folder = {self.directory / 'collections'}\n"
            "[logging]\n"
            "level = warning\n"
        )
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "radicale", "--config", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for_port(
                self.host,
                self.port,
                timeout=DAV_TIMEOUT,
                alive=lambda: self._proc is not None and self._proc.poll() is None,
                what="radicale",
            )
        except ServerError as exc:
            self.stop()
            raise ServerError(f"{exc}\n{tail(self.log_file)}") from None

    def stop(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
            end_process_group(self._proc)
            self._proc = None
        shutil.rmtree(self.directory, ignore_errors=True)

    # --- HTTP ------------------------------------------------------------------------------

    def request(
        self, method: str, path: str, body: bytes | str = b"", headers: dict[str, str] | None = None
    ) -> Reply:
        credentials = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        sent = {"Authorization": f"Basic {credentials}", **(headers or {})}
        data = body.encode() if isinstance(body, str) else body
        connection = http.client.HTTPConnection(self.host, self.port, timeout=DAV_TIMEOUT)
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            return Reply(response.status, dict(response.getheaders()), response.read())
        finally:
            connection.close()

    def _expect(self, reply: Reply, *statuses: int, what: str) -> Reply:
        if reply.status not in statuses:
            raise ServerError(f"{what}: HTTP {reply.status} {reply.body[:300]!r}")
        return reply

    def collection(self, name: str) -> str:
        """The path of the owner's collection `name`: /kithkin/friends/."""
        return f"/{self.username}/{name}/"

    def _make(self, name: str, template: str) -> str:
        path = self.collection(name)
        self._expect(  # the principal's own collection, which Radicale makes on first use
            self.request("PROPFIND", f"/{self.username}/", _PROPFIND, {"Depth": "0"}),
            207,
            what="PROPFIND principal",
        )
        body = template.format(name=name)
        headers = {"Content-Type": "application/xml; charset=utf-8"}
        self._expect(self.request("MKCOL", path, body, headers), 201, what=f"MKCOL {path}")
        return path

    def make_addressbook(self, name: str) -> str:
        return self._make(name, _ADDRESSBOOK)

    def make_calendar(self, name: str) -> str:
        return self._make(name, _CALENDAR)

    def put_vcard(self, collection: str, href: str, text: str) -> str:
        """PUT a vCard into the address book `collection` as `href`; returns its ETag."""
        return self._put(collection, href, text, "text/vcard; charset=utf-8")

    def put_event(self, collection: str, href: str, text: str) -> str:
        """PUT an iCalendar object into the calendar `collection` as `href`; its ETag."""
        return self._put(collection, href, text, "text/calendar; charset=utf-8")

    def _put(self, collection: str, href: str, text: str, kind: str) -> str:
        path = self.collection(collection) + href
        reply = self._expect(
            self.request("PUT", path, text, {"Content-Type": kind}), 201, 204, what=f"PUT {path}"
        )
        return reply.headers.get("ETag", "")

    def delete(self, collection: str, href: str) -> None:
        path = self.collection(collection) + href
        self._expect(self.request("DELETE", path), 200, 204, what=f"DELETE {path}")

    def hrefs(self, collection: str) -> list[str]:
        """The names of the objects a collection holds, as the server lists them."""
        path = self.collection(collection)
        reply = self._expect(
            self.request("PROPFIND", path, _PROPFIND, {"Depth": "1"}), 207, what=f"PROPFIND {path}"
        )
        found = []
        for href in ElementTree.fromstring(reply.body).iter("{DAV:}href"):
            text = href.text or ""
            if text.rstrip("/") != path.rstrip("/"):
                found.append(text.rsplit("/", 1)[-1])
        return sorted(found)


class Vdirsyncer:
    """The real vdirsyncer CLI with a config of its own in `directory`, syncing `server`."""

    def __init__(self, directory: Path, server: DavServer) -> None:
        self.directory = directory
        self.server = server
        directory.mkdir(parents=True, exist_ok=True)
        self.secret = directory / "password"
        self.secret.touch(mode=0o600)
        self.secret.write_text(server.password)
        self.config = directory / "config"
        self.contacts = directory / "contacts"  # one vdir per address book under it
        self.calendars = directory / "calendars"  # one vdir per calendar under it

    def pairs(self, *, contacts: bool = True, calendars: bool = False) -> Path:
        """Write the config: a pair per kind asked for, every collection of the server's."""
        text = f'[general]\nstatus_path = "{self.directory / "status"}/"\n'
        kinds = [("contacts", "carddav", ".vcf", self.contacts)] if contacts else []
        kinds += [("calendars", "caldav", ".ics", self.calendars)] if calendars else []
        for name, remote, fileext, local in kinds:
            text += (
                f'\n[pair {name}]\na = "{name}_local"\nb = "{name}_remote"\n'
                'collections = ["from b"]\nconflict_resolution = "b wins"\n'
                f'\n[storage {name}_local]\ntype = "filesystem"\npath = "{local}/"\n'
                f'fileext = "{fileext}"\n'
                f'\n[storage {name}_remote]\ntype = "{remote}"\nurl = "{self.server.url}"\n'
                f'username = "{self.server.username}"\n'
                f'password.fetch = ["command", "cat", "{self.secret}"]\n'
            )
        self.config.write_text(text)
        return self.config

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        binary = shutil.which("vdirsyncer", path=os.path.dirname(sys.executable))
        command = [binary] if binary else [sys.executable, "-m", "vdirsyncer"]
        env = {**os.environ, "VDIRSYNCER_CONFIG": str(self.config)}
        result = subprocess.run(
            [*command, *args],
            check=False,
            env=env,
            input="y\n" * 20,  # "create the local collection?" for each one discovered
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise ServerError(f"vdirsyncer {' '.join(args)}: {result.stdout}\n{result.stderr}")
        return result

    def discover(self) -> None:
        self.run("discover")

    def sync(self) -> None:
        self.run("sync")


def vcard_text(uid: str, name: str, *emails: str, extra: tuple[str, ...] = ()) -> str:
    family, _, given = name.rpartition(" ")
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"UID:{uid}", f"FN:{name}", f"N:{given};{family};;;"]
    lines += [f"EMAIL;TYPE=INTERNET:{email}" for email in emails]
    return "\r\n".join([*lines, *extra, "END:VCARD", ""])


def event_text(
    uid: str, summary: str, start: datetime, end: datetime, *, attendees: tuple[str, ...] = ()
) -> str:
    """A VEVENT in a VCALENDAR; `start`/`end` must be aware (written in UTC)."""
    stamp = "%Y%m%dT%H%M%SZ"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Kithkin tests//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{start.astimezone(UTC).strftime(stamp)}",
        f"DTSTART:{start.astimezone(UTC).strftime(stamp)}",
        f"DTEND:{end.astimezone(UTC).strftime(stamp)}",
        f"SUMMARY:{summary}",
    ]
    lines += [f"ATTENDEE;CN={a.split('@')[0]}:mailto:{a}" for a in attendees]
    return "\r\n".join([*lines, "END:VEVENT", "END:VCALENDAR", ""])
