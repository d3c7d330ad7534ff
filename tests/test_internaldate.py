"""daemon/mail/internaldate.py: INTERNALDATE read by one regex gives exactly what imapclient's
`parse_to_datetime(value, normalise=False)` gives: the same instant, offset, zone name and
type, or the same exception, for the shape servers send and for anything else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imapclient.datetime_util import parse_to_datetime

from kithkin.daemon.mail.internaldate import parse_internaldate
from kithkin.daemon.mail.records import FetchedHeader


def outcome(parse: object, value: bytes) -> tuple[object, ...]:
    try:
        parsed = parse(value)  # type: ignore[operator]
    except Exception as exc:  # noqa: BLE001 - the kind of failure is what is compared
        return ("raised", type(exc))
    try:
        offset = parsed.utcoffset()
    except Exception as exc:  # noqa: BLE001
        return ("offset raised", type(exc), parsed.replace(tzinfo=None))
    return (parsed.replace(tzinfo=None), offset, parsed.tzname(), type(parsed.tzinfo))


def imapclient(value: bytes) -> datetime:
    return parse_to_datetime(value, normalise=False)


# fmt: off
VALUES = [
    b"02-Jun-2021 03:47:24 +0000", b" 2-Jun-2021 03:47:24 +0000", b"2-jun-2021 03:47:24 +0000",
    b"31-Dec-1999 23:59:59 -0500", b"01-JAN-2024 00:00:00 +1400", b"15-Mar-2024 12:30:00 +0530",
    b"15-Mar-2024 12:30:00 -0000", b"15-Mar-2024 12:30:00 +0099", b"15-Mar-2024 12:30:00 +9999",
    b"15-Mar-2024 12:30:00 +2400", b"15-Mar-2024 12:30:00 -2359", b"30-Feb-2024 10:00:00 +0000",
    b"15-Mar-0099 12:30:00 +0000", b"15-Mar-0100 12:30:00 +0000", b"15-Mar-9999 23:59:59 -0100",
    b"15-Mar-2024 24:00:00 +0000", b"15-Mar-2024 12:60:00 +0000", b"15-Mar-2024 12:30:60 +0000",
    b"00-Mar-2024 12:30:00 +0000", b"15-Xyz-2024 12:30:00 +0000", b"15-Mar-2024 12:30 +0000",
    b"15-Mar-2024 12:30:00", b"15-Mar-2024 12:30:00 GMT", b"Fri, 15 Mar 2024 12:30:00 +0000",
    b"15 Mar 2024 12:30:00 +0000", b"", b"garbage", b"15-Mar-2024  12:30:00 +0000",
    b"15-Mar-2024 12:30:00 +0000 ", b"15-March-2024 12:30:00 +0000", b"\xff-Mar-2024",
]
# fmt: on


@pytest.mark.parametrize("value", VALUES)
def test_the_same_as_imapclient(value: bytes) -> None:
    assert outcome(parse_internaldate, value) == outcome(imapclient, value)


def test_the_shape_servers_send() -> None:
    parsed = parse_internaldate(b"02-Jun-2021 03:47:24 -0130")
    assert parsed.astimezone(UTC) == datetime(2021, 6, 2, 5, 17, 24, tzinfo=UTC)
    assert parsed.utcoffset() == -timedelta(hours=1, minutes=30)


DIGITS = st.text("0123456789", min_size=1, max_size=5)


@st.composite
def internaldates(draw: st.DrawFn) -> bytes:
    day = draw(st.sampled_from([" ", "", "0", "1", "3"])) + draw(st.text("0123456789", max_size=2))
    month = draw(st.sampled_from(["Jan", "feb", "MAR", "Apr", "Sep", "Dec", "Foo", "June"]))
    year = draw(st.sampled_from(["2024", "1970", "0099", "0100", "1899", "99", "20240"]))
    time = ":".join(draw(st.lists(st.text("0123456789", min_size=1, max_size=3), min_size=2,
                                  max_size=3)))  # fmt: skip
    zone = draw(st.sampled_from(["+", "-", ""])) + draw(DIGITS)
    value = f"{day}-{month}-{year} {time} {zone}"
    return value.encode("latin-1")


@settings(max_examples=3000, deadline=None)
@given(internaldates())
def test_generated_values_the_same_as_imapclient(value: bytes) -> None:
    assert outcome(parse_internaldate, value) == outcome(imapclient, value)


@settings(max_examples=1000, deadline=None)
@given(st.datetimes(min_value=datetime(100, 1, 1), max_value=datetime(9999, 12, 30)),
       st.integers(-1439, 1439))  # fmt: skip
def test_every_moment_in_the_server_shape(moment: datetime, minutes: int) -> None:
    sign = "-" if minutes < 0 else "+"
    zone = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    value = moment.strftime(f"%d-%b-{moment.year:04d} %H:%M:%S {zone}").encode()
    assert outcome(parse_internaldate, value) == outcome(imapclient, value)


def test_a_fetched_header_reads_its_internaldate_so() -> None:
    fetched = FetchedHeader(1, b"", b"02-Jun-2021 03:47:24 +0000")
    assert fetched.internaldate == datetime(2021, 6, 2, 3, 47, 24, tzinfo=UTC)
    assert FetchedHeader(1, b"", b"02-Jun-2021 03:47:24 +9999").internaldate is None
    assert FetchedHeader(1, b"", b"30-Feb-2021 03:47:24 +0000").internaldate is None
