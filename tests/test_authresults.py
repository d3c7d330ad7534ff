"""parsers/authresults.py: Authentication-Results fields (RFC 8601) in, parsed values out.

Tables of (input, expected), like imapclient's response-parser tests; the examples marked
"RFC" are from RFC 8601 Appendix B.
"""

from __future__ import annotations

import pytest

from kithkin.parsers.authresults import (
    AuthResults,
    MethodResult,
    fields,
    parse_field,
    passes_for,
)


def R(method: str, result: str, *props: tuple[str, str], reason=None, version=None):
    return MethodResult(method, result, reason, tuple(props), version)


PARSED = [
    # RFC B.2: nothing was checked
    ("example.org 1; none", AuthResults("example.org", 1, ())),
    ("example.org; none", AuthResults("example.org", None, ())),
    # RFC B.3
    (
        "example.com; spf=pass smtp.mailfrom=example.net",
        AuthResults("example.com", None, (R("spf", "pass", ("smtp.mailfrom", "example.net")),)),
    ),
    # RFC B.4: two results, comments
    (
        (
            "example.com; auth=pass (cram-md5) smtp.auth=sender@example.net; "
            "spf=pass smtp.mailfrom=example.net"
        ),
        AuthResults(
            "example.com",
            None,
            (
                R("auth", "pass", ("smtp.auth", "sender@example.net")),
                R("spf", "pass", ("smtp.mailfrom", "example.net")),
            ),
        ),
    ),
    # RFC B.5: sender-id and a DKIM comment
    (
        (
            "example.com; sender-id=fail header.from=example.com; "
            "dkim=pass (good signature) header.d=example.com"
        ),
        AuthResults(
            "example.com",
            None,
            (
                R("sender-id", "fail", ("header.from", "example.com")),
                R("dkim", "pass", ("header.d", "example.com")),
            ),
        ),
    ),
    # RFC B.7: comments everywhere, versions after the authserv-id and the method, a dot in CFWS
    (
        (
            "foo.example.net (foobar) 1 (baz); dkim (Because I like it) / 1 (One yay) = "
            "(wait for it) fail policy (A dot can go here) . (like that) expired "
            "(this surprised me) = (as I wasn't expecting it) 1362471462"
        ),
        AuthResults(
            "foo.example.net",
            1,
            (R("dkim", "fail", ("policy.expired", "1362471462"), version=1),),
        ),
    ),
    # reason= with a quoted string that looks like a result: just text
    (
        'mx.example.org; dkim=fail reason="dkim=pass header.d=example.org" header.d=evil.example',
        AuthResults(
            "mx.example.org",
            None,
            (
                R(
                    "dkim",
                    "fail",
                    ("header.d", "evil.example"),
                    reason="dkim=pass header.d=example.org",
                ),
            ),
        ),
    ),
    # a comment that looks like a result: skipped
    (
        "mx.example.org; spf=fail (spf=pass smtp.mailfrom=example.org) smtp.mailfrom=evil.example",
        AuthResults("mx.example.org", None, (R("spf", "fail", ("smtp.mailfrom", "evil.example")),)),
    ),
    # case-insensitive names, values as written
    (
        "MX.Example.ORG; DKIM=Pass Header.D=Example.ORG Header.S=Sel1",
        AuthResults(
            "mx.example.org",
            None,
            (R("dkim", "pass", ("header.d", "Example.ORG"), ("header.s", "Sel1")),),
        ),
    ),
    # Gmail's form: two DKIM results, header.i, header.b with base64 and padding, dmarc
    (
        (
            "mx.google.com;\r\n       dkim=pass header.i=@example.org header.s=s1"
            " header.b=Ab/+9x==;\r\n       dkim=neutral (body hash did not verify)"
            " header.i=@other.example;\r\n       spf=pass (google.com: domain of"
            " me@example.org designates 192.0.2.1 as permitted sender)"
            " smtp.mailfrom=me@example.org;\r\n       dmarc=pass (p=NONE sp=NONE dis=NONE) "
            "header.from=example.org"
        ),
        AuthResults(
            "mx.google.com",
            None,
            (
                R(
                    "dkim",
                    "pass",
                    ("header.i", "@example.org"),
                    ("header.s", "s1"),
                    ("header.b", "Ab/+9x=="),
                ),
                R("dkim", "neutral", ("header.i", "@other.example")),
                R("spf", "pass", ("smtp.mailfrom", "me@example.org")),
                R("dmarc", "pass", ("header.from", "example.org")),
            ),
        ),
    ),
    # a quoted local part, an escaped ")" inside a comment, a nested comment
    (
        'mx.example.org; spf=pass (a \\) (nested) b) smtp.mailfrom="john doe"@example.org',
        AuthResults(
            "mx.example.org", None, (R("spf", "pass", ("smtp.mailfrom", "john doe@example.org")),)
        ),
    ),
    # bytes in, and a quoted authserv-id
    (
        b'"mx.example.org"; dkim=pass header.d=example.org',
        AuthResults("mx.example.org", None, (R("dkim", "pass", ("header.d", "example.org")),)),
    ),
    # an unterminated comment swallows the rest; an unknown part is skipped, not guessed at
    (
        "mx.example.org; dkim=pass (unterminated header.d=example.org",
        AuthResults("mx.example.org", None, (R("dkim", "pass"),)),
    ),
    (
        "mx.example.org; garbage here; spf pass; dkim=pass header.d=example.org",
        AuthResults("mx.example.org", None, (R("dkim", "pass", ("header.d", "example.org")),)),
    ),
    # no authserv-id, or a second word where a version must be: not a field at all
    ("", None),
    ("   (only a comment)", None),
    ("; dkim=pass header.d=example.org", None),
    ("mx.example.org dkim=pass header.d=example.org", None),
]


@pytest.mark.parametrize(("value", "expected"), PARSED)
def test_parse_field(value: str | bytes, expected: AuthResults | None) -> None:
    assert parse_field(value) == expected


MESSAGE = (
    b"Authentication-Results: mx.example.org;\r\n"
    b"\tdkim=pass header.d=example.org\r\n"
    b"Received: from somewhere\r\n"
    b"authentication-results : other.example; spf=pass smtp.mailfrom=example.org\r\n"
    b"X-Authentication-Results: mx.example.org; dkim=pass header.d=example.org\r\n"
    b"Subject: hi\r\n"
    b"\r\n"
    b"Authentication-Results: mx.example.org; dkim=pass header.d=body.example\r\n"
)


def test_fields_are_taken_from_the_header_section_only_and_unfolded() -> None:
    assert fields(MESSAGE) == [
        "mx.example.org; dkim=pass header.d=example.org",
        "other.example; spf=pass smtp.mailfrom=example.org",
    ]
    assert fields(b"Subject: x\n\nbody") == []
    assert fields(b"Authentication-Results: a; none") == ["a; none"]  # no body at all


OWN = ["mx.example.org"]
DOMAINS = ["example.org", "bücher.example"]
CHECKS = [
    ("mx.example.org; dkim=pass header.d=example.org", True),
    ("MX.EXAMPLE.ORG; DKIM=PASS header.d=EXAMPLE.ORG", True),
    ("mx.example.org 1; dkim=pass header.i=@example.org", True),
    ("mx.example.org; dkim=pass header.i=me@example.org", True),
    ("mx.example.org; dkim=pass header.d=xn--bcher-kva.example", True),
    ("mx.example.org; spf=pass smtp.mailfrom=me@example.org", True),
    ("mx.example.org; spf=pass smtp.mailfrom=example.org", True),
    ("mx.example.org; dkim=fail header.d=example.org; spf=pass smtp.mailfrom=me@example.org", True),
    # another server's word counts for nothing, whatever it says
    ("other.example; dkim=pass header.d=example.org", False),
    ("mx.example.org.evil.example; dkim=pass header.d=example.org", False),
    ("example.org; dkim=pass header.d=example.org", False),
    # not a pass, or not for the owner's domain
    ("mx.example.org; dkim=fail header.d=example.org", False),
    ("mx.example.org; dkim=neutral header.d=example.org", False),
    ("mx.example.org; dkim=pass header.d=evil.example", False),
    ("mx.example.org; dkim=pass header.d=sub.example.org", False),
    ("mx.example.org; dkim=pass header.d=example.org.evil.example", False),
    ("mx.example.org; spf=softfail smtp.mailfrom=me@example.org", False),
    ("mx.example.org; spf=pass smtp.helo=example.org", False),
    ("mx.example.org; spf=pass smtp.mailfrom=me@evil.example", False),
    ("mx.example.org; dmarc=pass header.from=example.org", False),
    ("mx.example.org; none", False),
    # a pass only inside a comment or a quoted string
    ("mx.example.org; dkim=fail (dkim=pass header.d=example.org) header.d=example.org", False),
    ('mx.example.org; dkim=fail reason="dkim=pass header.d=example.org"', False),
    ("mx.example.org; dkim=pass (header.d=example.org) header.d=evil.example", False),
]


@pytest.mark.parametrize(("value", "expected"), CHECKS)
def test_passes_for(value: str, expected: bool) -> None:
    assert passes_for([value], OWN, DOMAINS) is expected


def test_passes_for_needs_one_passing_field_of_an_own_server() -> None:
    foreign = "other.example; dkim=pass header.d=example.org"
    failing = "mx.example.org; dkim=fail header.d=example.org"
    passing = "mx.example.org; dkim=pass header.d=example.org"
    assert passes_for([foreign, failing, passing], OWN, DOMAINS)
    assert not passes_for([foreign, failing], OWN, DOMAINS)
    assert not passes_for([], OWN, DOMAINS)
    assert passes_for([foreign], ["mx.example.org", "other.example"], DOMAINS)
    assert not passes_for([passing], [], DOMAINS)
