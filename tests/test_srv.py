"""RFC 6186 SRV records as `kithkin init` reads them: RFC 2782's ordering (priority, then a
draw weighted by weight; random numbers injected), "." meaning no service, hostile targets
ignored; then the same through a real DNS server on 127.0.0.1."""

from __future__ import annotations

import random
from collections import Counter

from dnslib import QTYPE, RR, SRV
from lookupservers import label

from kithkin.daemon.setup.network import make_network
from kithkin.daemon.setup.presets import Endpoint
from kithkin.daemon.setup.srv import SrvRecord, lookup_srv, order_records, usable_targets


def record(priority: int, weight: int, target: str, port: int = 993) -> SrvRecord:
    return SrvRecord(priority, weight, port, target)


def test_lower_priority_always_comes_first() -> None:
    records = [record(10, 100, "c.test"), record(0, 1, "a.test"), record(5, 50, "b.test")]
    for seed in range(50):
        ordered = order_records(records, random.Random(seed))
        assert [r.target for r in ordered] == ["a.test", "b.test", "c.test"]


def test_equal_priorities_are_drawn_in_proportion_to_their_weight() -> None:
    records = [record(0, 1, "light.test"), record(0, 3, "heavy.test")]
    rng = random.Random(6186)
    firsts = Counter(order_records(records, rng)[0].target for _ in range(2000))
    assert 1300 < firsts["heavy.test"] < 1700  # three in four, give or take
    assert firsts["light.test"] == 2000 - firsts["heavy.test"]


def test_weight_zero_comes_after_the_weighted_and_every_record_is_kept() -> None:
    records = [record(0, 0, "spare.test"), record(0, 20, "main.test"), record(1, 0, "z.test")]
    rng = random.Random(2782)
    orders = [order_records(records, rng) for _ in range(1000)]
    assert all(sorted(r.target for r in o) == ["main.test", "spare.test", "z.test"]
               for o in orders)  # fmt: skip
    assert all(o[-1].target == "z.test" for o in orders)
    assert all([r.target for r in o] == ["main.test", "spare.test", "z.test"] for o in orders)


def test_all_weights_zero_keeps_the_listed_order() -> None:
    records = [record(0, 0, "first.test"), record(0, 0, "second.test")]
    assert [r.target for r in order_records(records, random.Random(1))] == [
        "first.test", "second.test"
    ]  # fmt: skip


def test_the_target_dot_means_no_such_service() -> None:
    notes: list[str] = []
    usable, refused = usable_targets([record(0, 0, ".", port=0)], "_imaps._tcp.x.test", notes)
    assert (usable, refused) == ([], True)
    assert "offers no such service" in notes[0]


def test_targets_that_are_not_host_names_are_ignored_with_a_note() -> None:
    notes: list[str] = []
    records = [record(0, 0, "evil\\007host.x.test"), record(0, 0, "ok.x.test", port=0),
               record(0, 0, "a b.x.test"), record(1, 0, "IMAP.X.TEST")]  # fmt: skip
    usable, refused = usable_targets(records, "_imaps._tcp.x.test", notes)
    assert (usable, refused) == ([record(1, 0, "imap.x.test")], False)
    assert len(notes) == 3
    assert all(n.isprintable() for n in notes)


def srv(name: str, priority: int, weight: int, port: int, target: object) -> RR:
    return RR(name, QTYPE.SRV, rdata=SRV(priority, weight, port, target), ttl=60)


def test_srv_through_a_real_dns_server(dns_server) -> None:
    zone = dns_server.zone
    zone.add_rr(srv("_imaps._tcp.srv.test", 10, 0, 993, "backup.srv.test."))
    zone.add_rr(srv("_imaps._tcp.srv.test", 0, 0, 993, label(b"evil\x07\x1b[2J", b"srv", b"test")))
    zone.add_rr(srv("_imaps._tcp.srv.test", 5, 0, 9993, "imap.srv.test."))
    zone.add_rr(srv("_submissions._tcp.srv.test", 0, 0, 0, "."))
    zone.add_rr(srv("_submission._tcp.srv.test", 0, 0, 587, "smtp.srv.test."))
    network = make_network(dns_server.nameserver, timeout=2)
    notes: list[str] = []
    rng = random.Random(0)
    imap = lookup_srv(network, "srv.test", "imap", notes, rng)
    smtp = lookup_srv(network, "srv.test", "smtp", notes, rng)
    assert imap is not None and smtp is not None
    assert imap.endpoint == Endpoint("imap.srv.test", 9993, "tls")
    assert imap.record_name == "_imaps._tcp.srv.test"
    assert smtp.endpoint == Endpoint("smtp.srv.test", 587, "starttls")
    assert any("not a host name" in n for n in notes)
    assert any("_submissions._tcp.srv.test" in n and "no such service" in n for n in notes)
    assert all(n.isprintable() and "\x1b" not in n for n in notes)
    assert ("_imaps._tcp.srv.test.", "SRV") in dns_server.queries


def test_imap_with_starttls_when_imaps_says_no_service(dns_server) -> None:
    dns_server.zone.add_rr(srv("_imaps._tcp.srv.test", 0, 0, 0, "."))
    dns_server.zone.add_rr(srv("_imap._tcp.srv.test", 0, 0, 143, "imap.srv.test."))
    network = make_network(dns_server.nameserver, timeout=2)
    found = lookup_srv(network, "srv.test", "imap", [], random.Random(0))
    assert found is not None and found.endpoint == Endpoint("imap.srv.test", 143, "starttls")


def test_no_srv_records_at_all(dns_server) -> None:
    network = make_network(dns_server.nameserver, timeout=2)
    notes: list[str] = []
    assert lookup_srv(network, "nothing.test", "imap", notes, random.Random(0)) is None
    assert notes == []  # NXDOMAIN is an answer, not a problem
    assert [q[0] for q in dns_server.queries] == ["_imaps._tcp.nothing.test.",
                                                 "_imap._tcp.nothing.test."]  # fmt: skip
