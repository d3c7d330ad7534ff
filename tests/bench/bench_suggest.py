"""`kithkin suggest` over a large mailbox: time, CPU and peak RSS beside a raw header fetch.

Run: `python tests/bench/bench_suggest.py [--messages N] [--rounds R]` (default 100,000
messages, 2 rounds). Needs Dovecot.

A private Dovecot is filled by bench_sync.py's generator (INBOX 70%, Sent 30%; 200 frequent
correspondents, 5,000 occasional ones, mailing lists and automatic mail, over three years),
warmed up by one raw fetch, then, R times, side by side: bench_sync's raw imapclient header
fetch, and `kithkin suggest --json -q --since 3y` with no store (every correspondent is a
candidate), each a child process whose CPU and peak RSS come from `os.wait4`. It prints how
many of the top 30 are among the 200 frequent correspondents. Targets: suggest within 1.5x
of the raw fetch's time, peak RSS <= 100 MB at 100,000 messages. PASS/FAIL is
informational; the exit status is 0 unless something crashed. A script, not a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_sync as base

TARGET_RATIO = 1.5
TARGET_RSS_MB = 100.0
AS_OF = "2024-06-01"  # bench_sync's END


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=100_000, help="total, INBOX + Sent")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args(argv)

    from kithkin.parsers.headers import HEADER_FIELDS

    servers, helpers = base.servers_module()
    if not servers.dovecot_available():
        print("bench_suggest: skipped, Dovecot is not installed (apt-get install dovecot-imapd)")
        return 0
    contacts, _ = base.composer_for(args.seed, 200)
    frequent = {email for person in contacts for email in person.emails}
    print(base.environment(servers))
    with servers.DovecotServer() as server, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        base.create_mailboxes(server)
        spec = {"seed": args.seed, "contacts": 200, "messages": args.messages,
                "maildir": str(server.maildir)}  # fmt: skip
        filled = subprocess.run(
            [sys.executable, base.__file__, "--fill-child", json.dumps(spec)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        print(f"wrote {json.loads(filled.stdout)[0]} messages")
        secret = workdir / "imap-password"
        secret.write_text(server.password + "\n")
        raw_spec = {
            "host": server.host, "port": server.port, "username": server.username,
            "password_file": str(secret), "folders": list(base.FOLDERS),
            "fields": list(HEADER_FIELDS), "timeout": 300,
        }  # fmt: skip
        bench = base.Bench(server, workdir, workdir / "none.vcf", args.messages, raw_spec)
        base.warm_up(server, bench)
        config = helpers.write_config(
            workdir / "suggest", server, imap={"timeout": 300},
            sections={"summary": {"timezone": "UTC"}},
        )  # fmt: skip
        command = base.kithkin(config, "suggest", "--json", "-q", "--since", "3y",
                               "--as-of", AS_OF)  # fmt: skip
        raws, suggests = [], []
        for _ in range(args.rounds):
            raws.append(bench.raw())
            started = time.perf_counter()
            run = base.run_child("kithkin suggest", command, server, workdir / "suggest.err")
            suggests.append(run)
            people = json.loads(run.stdout)
            top = sum(1 for p in people if frequent & set(p["emails"]))
            print(f"suggest: {time.perf_counter() - started:.1f} s, {len(people)} people, "
                  f"{top} of them among the 200 frequent correspondents")  # fmt: skip
        if (workdir / "suggest" / "kithkin.db").exists():
            raise RuntimeError("suggest created a database")
    raw = min(raws, key=lambda r: r.wall)
    best = min(suggests, key=lambda r: r.wall)
    n = args.messages
    print(f"{'':<14} {'wall s':>8} {'msg/s':>9} {'CPU µs/msg':>10} {'server':>6} {'RSS MB':>8}")
    print(base.describe(raw, n))
    print(base.describe(best, n))
    ratio = best.wall / raw.wall
    print(f"suggest / raw time {ratio:.2f} (target <= {TARGET_RATIO}): "
          f"{'PASS' if ratio <= TARGET_RATIO else 'FAIL'}; peak RSS {best.max_rss_mb:.0f} MB "
          f"(target <= {TARGET_RSS_MB:.0f}): "
          f"{'PASS' if best.max_rss_mb <= TARGET_RSS_MB else 'FAIL'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
