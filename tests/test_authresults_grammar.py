"""parsers/authresults.py, the corners of its grammar as tables (beyond test_authresults.py):
escapes in comments and quoted strings, what glues to a value and what does not, stray
tokens that are skipped, method versions, and the fields of a raw header section.

Several rows are about forgery: text that must not become `dkim=pass` or a domain of the
owner's (a domain after a space, in a comment, or behind a `"quoted"` word)."""

from __future__ import annotations

import pytest

from kithkin.parsers.authresults import AuthResults, MethodResult, fields, parse_field, passes_for

MX = "mx.example.org"


def R(method: str, result: str, *props: tuple[str, str], reason: str | None = None,
      version: int | None = None) -> MethodResult:  # fmt: skip
    return MethodResult(method, result, reason, tuple(props), version)


D_A = ("header.d", "a.org")
PASS_A = R("dkim", "pass", D_A)

RESULTS: list[tuple[str | bytes, tuple[MethodResult, ...]]] = [
    # bytes are read as UTF-8, a bad byte replaced, never raised on
    (
        b"mx.example.org; dkim=pass header.d=caf\xe9.example",
        (R("dkim", "pass", ("header.d", "caf\ufffd.example")),),
    ),
    # what stands between the authserv-id and the first ";" is not a result
    (
        f'{MX} "junk"; spf=pass smtp.mailfrom=a@x.org',
        (R("spf", "pass", ("smtp.mailfrom", "a@x.org")),),
    ),
    (
        f"{MX} 1 2; spf=pass smtp.mailfrom=a@x.org",
        (R("spf", "pass", ("smtp.mailfrom", "a@x.org")),),
    ),
    # a method must be a word followed by "=" and a result word
    (f"{MX}; dkim x pass header.d=a.org", ()),
    (f'{MX}; "dkim"=pass header.d=a.org', ()),
    (f"{MX}; /1=pass", ()),
    (f"{MX}; dkim/x=pass header.d=a.org", ()),
    (f"{MX}; dkim /1=pass header.d=a.org", (R("dkim", "pass", D_A, version=1),)),
    # stray tokens among the properties are skipped, the rest still read
    (f"{MX}; dkim=pass x header.d=a.org", (PASS_A,)),
    (f"{MX}; dkim=pass = header.d=a.org", (PASS_A,)),
    (f"{MX}; dkim=pass reason x", (R("dkim", "pass"),)),  # `reason` without "=": no reason
    (f"{MX}; dkim=pass header .d", (R("dkim", "pass"),)),  # a property name at the very end
    (f"{MX}; dkim=pass header.d=", (R("dkim", "pass", ("header.d", "")),)),
    (f"{MX}; dkim=pass header.d=)a.org", (PASS_A,)),  # a stray ")" is dropped
    (f"{MX}; dkim=pass header.d=X.example", (R("dkim", "pass", ("header.d", "X.example")),)),
    # what glues to a value: "=" (base64 padding) and "@domain" right after it, nothing else
    (f"{MX}; dkim=pass header.b=abc= x", (R("dkim", "pass", ("header.b", "abc=")),)),
    (f"{MX}; dkim=pass header.b=abc = x", (R("dkim", "pass", ("header.b", "abc")),)),
    (f'{MX}; dkim=pass header.i="ann"@a.org', (R("dkim", "pass", ("header.i", "ann@a.org")),)),
    (f'{MX}; dkim=pass header.i="ann"x@a.org', (R("dkim", "pass", ("header.i", "ann")),)),
    (f'{MX}; spf=pass smtp.mailfrom="x" @own.example', (R("spf", "pass", ("smtp.mailfrom", "x")),)),
    (
        f'{MX}; spf=pass smtp.mailfrom="x"(c)@own.example',
        (R("spf", "pass", ("smtp.mailfrom", "x")),),
    ),
    (f'{MX}; spf=pass smtp.mailfrom="x")@own.example', (R("spf", "pass", ("smtp.mailfrom", "x")),)),
    # comments: escapes and nesting; what is inside is never read
    (f"{MX}; dkim=fail (x \\) header.d=own.example) header.d=a.org", (R("dkim", "fail", D_A),)),
    (f"{MX}; dkim=fail (x\\)) header.d=a.org", (R("dkim", "fail", D_A),)),
    (f"{MX}; dkim=fail (x (y) header.d=own.example) header.d=a.org", (R("dkim", "fail", D_A),)),
    (f"{MX}; dkim=fail (open header.d=own.example", (R("dkim", "fail"),)),
    # quoted strings: escapes, a backslash at the end, a quote left open
    (f'{MX}; dkim=pass reason="a \\" b"', (R("dkim", "pass", reason='a " b'),)),
    (f'{MX}; dkim=pass reason="a\\b', (R("dkim", "pass", reason="ab"),)),
    (f'{MX}; dkim=pass reason="a\\', (R("dkim", "pass", reason="a\\"),)),
    (f'{MX}; dkim=pass header.d="a.org', (PASS_A,)),
]


@pytest.mark.parametrize(("value", "expected"), RESULTS)
def test_results_of_a_field(value: str | bytes, expected: tuple[MethodResult, ...]) -> None:
    parsed = parse_field(value)
    assert parsed is not None and parsed.authserv_id == MX
    assert parsed.results == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("example.org", AuthResults("example.org")),  # the authserv-id alone
        ("example.org 7", AuthResults("example.org", 7)),
        ("example.org 1 2; none", AuthResults("example.org", 1)),
        ("EXAMPLE.org 7;", AuthResults("example.org", 7)),
        ('"quoted.example"; none', AuthResults("quoted.example")),
        ("example.org bogus; dkim=pass header.d=a.org", None),  # a word where a version goes
        ("; dkim=pass", None),
        ("", None),
        ('""; dkim=pass', None),
    ],
)
def test_the_authserv_id_and_version(value: str, expected: AuthResults | None) -> None:
    assert parse_field(value) == expected


@pytest.mark.parametrize(
    ("value", "domains", "expected"),
    [
        # the domain of header.i is after its last "@" (a quoted local part may hold one)
        (f'{MX}; dkim=pass header.i="a@evil.example"@own.example', ["own.example"], True),
        (f'{MX}; dkim=pass header.i="a@own.example"@evil.example', ["own.example"], False),
        (f"{MX}; dkim=pass header.i=@OWN.example", ["own.example"], True),
        (f"{MX}; spf=pass smtp.mailfrom=Me@Own.Example", ["own.example"], True),
        (f"{MX}; spf=pass smtp.mailfrom=own.example", ["own.example"], True),
        # forgeries that a careless reader would glue or unwrap into the owner's domain
        (f'{MX}; spf=pass smtp.mailfrom="x" @own.example', ["own.example"], False),
        (f'{MX}; spf=pass smtp.mailfrom="x"(c)@own.example', ["own.example"], False),
        (f'{MX}; spf=pass smtp.mailfrom="x")@own.example', ["own.example"], False),
        (
            f"{MX}; dkim=fail (x \\) dkim=pass header.d=own.example) header.d=a.org",
            ["own.example"],
            False,
        ),
        (f"{MX}; dkim=fail (x (y) dkim=pass header.d=own.example)", ["own.example"], False),
        (f"{MX}; dkim x pass header.d=own.example", ["own.example"], False),
        (f'{MX}; "dkim"=pass header.d=own.example', ["own.example"], False),
        (f"{MX}; dkim/x=pass header.d=own.example", ["own.example"], False),
        (f"{MX}; dkim=pass", ["own.example"], False),  # passing, but for no domain
        (f"{MX}; spf=pass", ["own.example"], False),
        (f"{MX}; dkim=pass header.d=", ["own.example"], False),
    ],
)
def test_what_a_passing_result_vouches_for(value: str, domains: list[str], expected: bool) -> None:
    assert passes_for([value], [MX], domains) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            b"Authentication-Results: mx; dkim=pass header.d=caf\xe9.org\r\n\r\nbody",
            ["mx; dkim=pass header.d=caf\ufffd.org"],
        ),
        # folded with spaces or a tab, the last field of the section too
        (
            b"Subject: x\r\nAuthentication-Results: mx;\r\n  dkim=pass\r\n  header.d=a.org\r\n\r\n",
            ["mx; dkim=pass header.d=a.org"],
        ),
        (b"Authentication-Results: mx;\n\tspf=pass\nSubject: x\n\n", ["mx; spf=pass"]),
        (b"Authentication-Results: mx; spf=pass", ["mx; spf=pass"]),
        # the header section ends at the first empty line, whatever follows
        (b"Subject: x\n\nAuthentication-Results: mx; spf=pass\n\nmore", []),
        (b" folded: before any field\r\nAuthentication-Results: a\r\n", ["a"]),
    ],
)
def test_fields_of_a_header_section(raw: bytes, expected: list[str]) -> None:
    assert fields(raw) == expected
