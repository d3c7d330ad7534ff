"""daemon/core/stored.py `stored_date`: the date and day a row stores, written without
strftime, are `utc_iso` and `utc_day_number` of the moment, for every moment and zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from kithkin.daemon.core.dates import utc_iso
from kithkin.daemon.core.stored import stored_date
from kithkin.daemon.store.interactions import utc_day_number

ZONES = st.one_of(
    st.none(),
    st.just(UTC),
    st.builds(
        timezone,
        st.timedeltas(
            min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59)
        ),
    ),
)


def outcome(fn: object, moment: datetime) -> object:
    try:
        return fn(moment)  # type: ignore[operator]
    except (OverflowError, ValueError) as exc:
        return type(exc)


@settings(max_examples=3000, deadline=None)
@given(st.datetimes(), ZONES)
def test_the_same_as_utc_iso_and_utc_day_number(moment: datetime, zone: timezone | None) -> None:
    moment = moment.replace(tzinfo=zone)
    expected = outcome(lambda m: (utc_iso(m), utc_day_number(m)), moment)
    assert outcome(stored_date, moment) == expected


def test_examples() -> None:
    assert stored_date(datetime(2024, 3, 1, 9, 30, 5, 123, tzinfo=UTC)) == (
        "2024-03-01T09:30:05Z", 19783
    )  # fmt: skip
    plus_two = timezone(timedelta(hours=2))
    assert stored_date(datetime(2024, 3, 1, 1, 0, tzinfo=plus_two)) == (
        "2024-02-29T23:00:00Z",
        19782,
    )
    assert stored_date(datetime(1970, 1, 1)) == ("1970-01-01T00:00:00Z", 0)
    assert stored_date(datetime(999, 5, 1, tzinfo=UTC)) == (
        utc_iso(datetime(999, 5, 1)),
        utc_day_number(datetime(999, 5, 1)),
    )
