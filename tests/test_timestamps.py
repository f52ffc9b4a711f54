"""Timestamps: year inference for BSD syslog, zones, RFC 3339, user times."""

from datetime import datetime, timedelta, timezone

import pytest

from emaillog.timestamps import Clock, TimestampError, parse_when, zone

UTC = timezone.utc

# (reference mtime, stamp, expected UTC ISO, why)
SYSLOG_CASES = [
    ("2026-11-28T18:00:00+00:00", "Nov 28 13:10:01", "2026-11-28T13:10:01+00:00", "same year as the file"),
    ("2027-01-02T01:00:00+00:00", "Dec 31 23:59:59", "2026-12-31T23:59:59+00:00", "December line in a January file"),
    ("2027-01-02T01:00:00+00:00", "Jan  1 00:00:05", "2027-01-01T00:00:05+00:00", "January line, same file"),
    ("2026-11-28T18:00:00+00:00", "Mar 7 02:09:33", "2026-03-07T02:09:33+00:00", "single space before a one-digit day"),
    ("2026-11-28T18:00:00+00:00", "Nov  3 08:00:00.123456", "2026-11-03T08:00:00.123456+00:00", "fractional seconds"),
    ("2026-11-28T18:00:00+00:00", "Nov 29 13:10:01", "2026-11-29T13:10:01+00:00", "a day ahead: clock skew, not last year"),
]


@pytest.mark.parametrize("ref,stamp,expected,why", SYSLOG_CASES)
def test_syslog_year_inference(ref, stamp, expected, why):
    clock = Clock(datetime.fromisoformat(ref), tz=UTC)
    assert clock.syslog(stamp) == datetime.fromisoformat(expected), why


def test_year_override_wins():
    clock = Clock(datetime(2027, 1, 2, tzinfo=UTC), year=2020, tz=UTC)
    assert clock.syslog("Dec 31 23:59:59").year == 2020


def test_zone_less_stamps_use_the_given_zone_with_dst():
    clock = Clock(datetime(2026, 11, 28, tzinfo=UTC), tz=zone("Europe/Berlin"))
    assert clock.syslog("Nov 28 13:10:01") == datetime(2026, 11, 28, 12, 10, 1, tzinfo=UTC)  # CET
    assert clock.syslog("Jul  1 13:10:01") == datetime(2026, 7, 1, 11, 10, 1, tzinfo=UTC)  # CEST


@pytest.mark.parametrize("stamp,expected", [
    ("2026-11-28T13:10:01.123456+01:00", datetime(2026, 11, 28, 12, 10, 1, 123456, tzinfo=UTC)),
    ("2026-11-28T13:10:01Z", datetime(2026, 11, 28, 13, 10, 1, tzinfo=UTC)),
    ("2026-11-28 13:10:01", datetime(2026, 11, 28, 13, 10, 1, tzinfo=UTC)),  # zone-less: tz=UTC
])
def test_rfc3339(stamp, expected):
    assert Clock(datetime(2026, 11, 28, tzinfo=UTC), tz=UTC).iso(stamp) == expected


def test_bad_stamps_raise_a_timestamp_error():
    clock = Clock(datetime(2026, 11, 28, tzinfo=UTC), tz=UTC)
    with pytest.raises(TimestampError):
        clock.syslog("Foo 28 13:10:01")
    with pytest.raises(TimestampError):
        clock.iso("2026-13-45T99:00:00")


def test_unknown_zone_is_a_clear_error():
    with pytest.raises(TimestampError, match="unknown time zone"):
        zone("Mars/Olympus")


def test_parse_when():
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert parse_when("now", now=now) == now
    assert parse_when("-2h", now=now) == now - timedelta(hours=2)
    assert parse_when("+3d", now=now) == now + timedelta(days=3)
    assert parse_when("2026-11-29T08:00Z") == datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    assert parse_when("2026-11-29T08:00", tz=zone("Europe/Berlin")) == datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
    with pytest.raises(TimestampError, match="ISO 8601"):
        parse_when("tomorrow-ish")
