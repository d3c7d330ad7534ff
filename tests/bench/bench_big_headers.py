"""Memory of a sync through a mailbox holding messages with huge address headers.

Run: `python tests/bench/bench_big_headers.py [--big 40] [--size-mb 8] [--ordinary 2000]`.
Needs Dovecot (`apt-get install dovecot-imapd`).

A private Dovecot gets `--ordinary` generated messages (bench_sync.py's composer: contacts,
strangers, lists) in INBOX and the same number in Sent, and INBOX also `--big` messages whose
To: header alone is `--size-mb` MB of addresses (some from a contact, some from strangers).
Then, side by side, each as a child process reaped with `os.wait4` (so the peak RSS is the
child's own):

1. `kithkin sync -q` of Sent only: ordinary mail, the baseline;
2. `kithkin sync -q` of INBOX: the same ordinary mail plus the big messages;
3. an unbounded fetch, for scale: imapclient fetching the same header fields of INBOX in
   batches of 500 without a partial `<0.N>` limit, as a sync that reads whole header
   sections would.

Target (issue): the sync of INBOX peaks at <= 150 MB. PASS/FAIL is informational; the exit
status is 0 unless something crashed. This is a script, not a test.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_sync

TARGET_RSS_MB = 150.0


def big_messages(
    count: int, size_mb: float, contact: str, me: str, start: float
) -> Iterator[tuple[bytes, float]]:
    addresses = int(size_mb * 1024 * 1024 / 24)
    to = ",\r\n ".join(f"reader{n:07d}@big.example" for n in range(addresses))
    for n in range(count):
        sender = contact if n % 2 == 0 else f"Bulk {n} <bulk{n}@big.example>"
        when = start + n * 3600
        head = (
            f"From: {sender}\r\nTo: {me},\r\n {to}\r\nSubject: big {n}\r\n"
            f"Message-ID: <big{n}@big.example>\r\nDate: Mon, 3 Jun 2024 10:00:00 +0000\r\n"
        )
        yield (head + "\r\nbody\r\n").encode("utf-8"), when


def write_mailbox(spec: dict[str, Any]) -> None:
    rng = random.Random(spec["seed"])
    contacts = bench_sync.make_people(rng, 50, "c")
    composer = bench_sync.Composer(
        rng,
        me=tuple(spec["me"]),
        contacts=contacts,
        strangers=bench_sync.make_people(rng, 2000, "s"),
        lists=["news-list"],
    )
    ordinary = [composer.inbox() for _ in range(spec["ordinary"])]
    for folder in ("inbox", "sent"):
        bench_sync.write_messages(Path(spec[folder]), iter(ordinary))
    first = min(when for _, when in ordinary)
    sender = f"{contacts[0].name} <{contacts[0].emails[0]}>"
    big = big_messages(spec["big"], spec["size_mb"], sender, spec["me"][0], first - 365 * 86400)
    bench_sync.write_messages(Path(spec["inbox"]), big)
    Path(spec["vcf"]).write_text(bench_sync.vcard(contacts), encoding="utf-8")


def unbounded_fetch(spec: dict[str, Any]) -> dict[str, Any]:
    from imapclient import IMAPClient

    client = IMAPClient(spec["host"], spec["port"], ssl=False, timeout=300)
    client.login(spec["username"], Path(spec["password_file"]).read_text().strip())
    item = "BODY.PEEK[HEADER.FIELDS ({})]".format(" ".join(spec["fields"]))
    client.select_folder("INBOX", readonly=True)
    uids = client.search(["ALL"])
    total = 0
    for start in range(0, len(uids), 500):
        for data in client.fetch(uids[start : start + 500], [item, "INTERNALDATE"]).values():
            total += sum(len(v) for k, v in data.items() if k.startswith(b"BODY"))
    client.logout()
    return {"messages": len(uids), "bytes": total}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--big", type=int, default=40, help="messages with a huge To:")
    parser.add_argument("--size-mb", type=float, default=8.0, help="size of each To: header")
    parser.add_argument("--ordinary", type=int, default=2000, help="ordinary messages per folder")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--unbounded-child", metavar="JSON", help=argparse.SUPPRESS)
    parser.add_argument("--write-child", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write_child:
        write_mailbox(json.loads(args.write_child))
        return 0
    if args.unbounded_child:
        print(json.dumps(unbounded_fetch(json.loads(args.unbounded_child))))
        return 0

    from kithkin.parsers.headers import HEADER_FIELDS

    servers, helpers = bench_sync.servers_module()
    if not servers.dovecot_available():
        print(
            "bench_big_headers: skipped, Dovecot is not installed (apt-get install dovecot-imapd)"
        )
        return 0
    print(bench_sync.environment(servers))
    with servers.DovecotServer() as server, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        bench_sync.create_mailboxes(server)
        vcf = workdir / "contacts.vcf"
        # Written by a child: memory this process held before a fork would count in the
        # peak RSS of every child measured after it (Linux keeps it across exec).
        spec = {
            "inbox": str(bench_sync.folder_dir(server, "INBOX")),
            "sent": str(bench_sync.folder_dir(server, "Sent")),
            "ordinary": args.ordinary, "big": args.big, "size_mb": args.size_mb,
            "seed": args.seed, "vcf": str(vcf), "me": [helpers.ME, helpers.ME_ALIAS],
        }  # fmt: skip
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--write-child", json.dumps(spec)], check=True)
        took = time.perf_counter() - started
        print(f"wrote {args.ordinary} ordinary messages to INBOX and Sent and {args.big} with "
              f"a {args.size_mb:g} MB To: to INBOX in {took:.1f} s")  # fmt: skip
        secret = workdir / "imap-password"
        secret.write_text(server.password + "\n")
        runs = {}
        for label, folder in (("sync of Sent (ordinary only)", "Sent"),
                              ("sync of INBOX (plus the big ones)", "INBOX")):  # fmt: skip
            config = helpers.write_config(workdir / folder, server,
                                          imap={"timeout": 300, "folders": [folder]})  # fmt: skip
            importing = ("contacts", "import", "--allow-duplicate", str(vcf))
            subprocess.run(bench_sync.kithkin(config, *importing), capture_output=True, check=True)
            runs[label] = bench_sync.run_child(
                label, bench_sync.kithkin(config, "sync", "-q"), server, workdir / "sync.err"
            )
            print(f"{label:<40} peak RSS {runs[label].max_rss_mb:7.1f} MB  "
                  f"wall {runs[label].wall:6.1f} s  {runs[label].stdout.strip()}")  # fmt: skip
        fetch_spec = {"host": server.host, "port": server.port, "username": server.username,
                      "password_file": str(secret), "fields": list(HEADER_FIELDS)}  # fmt: skip
        unbounded = bench_sync.run_child(
            "unbounded fetch",
            [sys.executable, __file__, "--unbounded-child", json.dumps(fetch_spec)],
            server,
            workdir / "unbounded.err",
        )
        print(f"{'unbounded header fetch of INBOX (scale)':<40} peak RSS "
              f"{unbounded.max_rss_mb:7.1f} MB  wall {unbounded.wall:6.1f} s  "
              f"{unbounded.stdout.strip()}")  # fmt: skip
        base, big = runs.values()
        print(f"\nratio INBOX / Sent sync peak RSS: {big.max_rss_mb / base.max_rss_mb:.2f}; "
              f"unbounded fetch / INBOX sync: "
              f"{unbounded.max_rss_mb / big.max_rss_mb:.1f}")  # fmt: skip
        verdict = "PASS" if big.max_rss_mb <= TARGET_RSS_MB else "FAIL"
        print(f"target: sync of INBOX peak RSS <= {TARGET_RSS_MB:.0f} MB: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
