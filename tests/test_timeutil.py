"""Durations, `--at` times, business hours and calendar periods (with property tests)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from socialscale.errors import UsageError
from socialscale.models import BusinessHours
from socialscale.timeutil import (
    BusinessClock,
    business_seconds,
    format_duration,
    parse_at,
    parse_duration,
    periods,
    utc_iso,
)

UTC = timezone.utc
LONDON = "Europe/London"
WORKDAYS = BusinessHours(blocks={d: ((9 * 60, 12 * 60 + 30), (13 * 60 + 30, 17 * 60 + 30)) for d in range(5)})
ALL_DAY = BusinessHours(blocks={d: ((0, 1440),) for d in range(7)})


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- durations -------------------------------------------------------------------------------------------

@given(st.integers(0, 400), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59), st.booleans())
def test_parse_duration_of_any_combination(d, h, m, s, spaced):
    text = (" " if spaced else "").join(f"{n}{unit}" for n, unit in ((d, "d"), (h, "h"), (m, "m"), (s, "s")) if n)
    assert parse_duration(text or "0") == d * 86400 + h * 3600 + m * 60 + s


@given(st.integers(0, 10**9))
def test_format_duration_reads_back_rounded_down(seconds):
    shown = format_duration(seconds)
    back = parse_duration(shown.replace(" ", ""))
    assert back <= seconds
    assert seconds - back < (86400 if seconds >= 86400 else 3600 if seconds >= 3600 else 60 if seconds >= 60 else 1)


@given(st.text(max_size=20))
def test_parse_duration_never_crashes(text):
    try:
        assert parse_duration(text) >= 0
    except ValueError:
        pass


def test_format_duration_examples():
    assert [format_duration(s) for s in (None, 45, 60, 4800, 7200, 86400, 3 * 86400 + 4 * 3600 + 59)] == [
        "-", "45s", "1m", "1h 20m", "2h", "1d", "3d 4h"]


# --- --at ------------------------------------------------------------------------------------------------

NOW = datetime(2024, 7, 5, 12, 0, tzinfo=UTC)  # Friday; London is on BST (UTC+1)


@pytest.mark.parametrize(("text", "expected"), [
    ("now", "2024-07-05T12:00:00Z"),
    ("30m ago", "2024-07-05T11:30:00Z"),
    ("1d 2h ago", "2024-07-04T10:00:00Z"),
    ("today 09:30", "2024-07-05T08:30:00Z"),
    ("yesterday 14:00", "2024-07-04T13:00:00Z"),
    ("Yesterday", "2024-07-03T23:00:00Z"),
    ("16:45", "2024-07-05T15:45:00Z"),
    ("2024-07-01T10:00", "2024-07-01T09:00:00Z"),      # naive: the configured timezone
    ("2024-07-01 10:00:30", "2024-07-01T09:00:30Z"),
    ("2024-07-01T10:00Z", "2024-07-01T10:00:00Z"),     # an explicit offset wins
    ("2024-07-01T10:00+02:00", "2024-07-01T08:00:00Z"),
    ("2024-01-15", "2024-01-15T00:00:00Z"),            # winter: GMT
    ("2024-03-31T01:30", "2024-03-31T01:30:00Z"),      # skipped by the clocks: read with the offset before
    ("2024-10-27T01:30", "2024-10-27T00:30:00Z"),      # happens twice: the first one
])
def test_parse_at(text, expected):
    assert utc_iso(parse_at(text, now=NOW, tz=LONDON)) == expected


@pytest.mark.parametrize("text", ["", "soon", "25:00", "today 9", "ago", "3 weeks", "yesterday 24:00", "2024-13-01"])
def test_parse_at_refuses_with_one_line(text):
    with pytest.raises(UsageError, match="--at"):
        parse_at(text, now=NOW, tz=LONDON)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_parse_at_reads_back_any_iso_time(dt):
    dt = dt.replace(microsecond=0)
    assert parse_at(utc_iso(dt), now=NOW, tz=LONDON) == dt
    local = dt.astimezone(ZoneInfo(LONDON))
    assume(local.replace(tzinfo=None).replace(tzinfo=ZoneInfo(LONDON)) == local)  # not in the repeated hour
    assert parse_at(local.replace(tzinfo=None).isoformat(), now=NOW, tz=LONDON) == dt


@given(st.integers(0, 10**7))
def test_parse_at_minutes_ago(minutes):
    assert parse_at(f"{minutes}m ago", now=NOW, tz=LONDON) == NOW - timedelta(minutes=minutes)


@given(st.text(max_size=30))
def test_parse_at_never_crashes(text):
    try:
        assert parse_at(text, now=NOW, tz=LONDON).tzinfo is not None
    except UsageError:
        pass


# --- business hours --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("start", "end", "seconds"), [
    ("2024-03-05T10:00:00Z", "2024-03-05T11:00:00Z", 3600),            # Tuesday morning
    ("2024-03-05T12:00:00Z", "2024-03-05T14:00:00Z", 3600),            # across lunch
    ("2024-03-05T06:00:00Z", "2024-03-05T08:59:00Z", 0),               # before opening
    ("2024-03-08T17:00:00Z", "2024-03-11T09:30:00Z", 3600),            # Friday to Monday: the weekend is free
    ("2024-03-09T10:00:00Z", "2024-03-10T18:00:00Z", 0),               # all weekend
    ("2024-03-29T16:00:00Z", "2024-04-01T09:00:00Z", 9000),            # clocks forward on Sunday 31 March
    ("2024-10-25T15:00:00Z", "2024-10-28T10:00:00Z", 9000),            # clocks back on Sunday 27 October
    ("2024-03-04T00:00:00Z", "2024-04-01T00:00:00Z", 20 * 27000),     # four weeks of 7h30
    ("2024-03-05T11:00:00Z", "2024-03-05T10:00:00Z", -3600),           # backwards
])
def test_business_seconds(start, end, seconds):
    assert business_seconds(utc(start), utc(end), WORKDAYS, LONDON) == seconds


def test_business_hours_holidays_per_day_blocks_and_none():
    hours = BusinessHours(blocks={**WORKDAYS.blocks, 5: ((10 * 60, 12 * 60),)}, holidays=frozenset({"2024-04-01"}))
    # Good Friday 16:00 -> Tuesday 10:00: Friday 1h30, Saturday 10-12, Easter Monday off, Tuesday 1h.
    assert business_seconds(utc("2024-03-29T16:00:00Z"), utc("2024-04-02T09:00:00Z"), hours, LONDON) == 5400 + 7200 + 3600
    assert business_seconds(utc("2024-03-04T00:00:00Z"), utc("2024-04-04T00:00:00Z"), BusinessHours(), LONDON) == 0


def test_all_day_business_hours_are_wall_time_across_dst():
    start, end = utc("2024-03-30T12:00:00Z"), utc("2024-10-28T12:00:00Z")
    assert business_seconds(start, end, ALL_DAY, LONDON) == int((end - start).total_seconds())
    # The 31st of March has 23 hours in London.
    assert business_seconds(utc("2024-03-31T00:00:00Z"), utc("2024-03-31T23:00:00Z"), ALL_DAY, LONDON) == 23 * 3600


def brute_force(start: int, end: int, hours: BusinessHours, tz: str) -> int:
    """Minute by minute: is the local wall-clock minute inside a block on a working day?"""
    zone, total = ZoneInfo(tz), 0
    for t in range(start, end, 60):
        local = datetime.fromtimestamp(t, zone)
        minute = local.hour * 60 + local.minute
        if local.date().isoformat() in hours.holidays:
            continue
        total += 60 * any(a <= minute < b for a, b in hours.blocks.get(local.weekday(), ()))
    return total


blocks = st.lists(st.tuples(st.integers(6 * 60, 23 * 60), st.integers(1, 8 * 60)), min_size=1, max_size=3)
ZONES = ("Europe/London", "America/New_York", "Australia/Sydney")
# Windows around DST changes in each zone (Sydney changes in April and October too).
WINDOWS = (datetime(2024, 3, 5, tzinfo=UTC), datetime(2024, 3, 25, tzinfo=UTC), datetime(2024, 10, 22, tzinfo=UTC),
           datetime(2024, 3, 28, tzinfo=UTC))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(ZONES), st.sampled_from(WINDOWS), st.integers(0, 14 * 1440), st.integers(0, 4 * 1440),
       st.dictionaries(st.integers(0, 6), blocks, max_size=7), st.sets(st.integers(0, 20), max_size=3))
def test_business_seconds_match_a_minute_by_minute_count(tz, window, offset, length, week, holiday_days):
    merged = {}
    for day, spans in week.items():
        # Disjoint, sorted blocks ending by midnight, as the config produces.
        cut, out = 0, []
        for a, n in sorted(spans):
            a = max(a, cut)
            b = min(a + n, 1440)
            if b > a:
                out.append((a, b))
                cut = b
        merged[day] = tuple(out)
    holidays = frozenset((window.date() + timedelta(days=d)).isoformat() for d in holiday_days)
    hours = BusinessHours(blocks=merged, holidays=holidays)
    start = int(window.timestamp()) + offset * 60
    end = start + length * 60
    clock = BusinessClock(hours, tz)
    assert clock.between(start, end) == brute_force(start, end, hours, tz)


instants = st.integers(int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()), int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()))


@given(st.sampled_from(ZONES), instants, instants, instants)
def test_business_seconds_add_up(tz, a, b, c):
    a, b, c = sorted((a, b, c))
    clock = BusinessClock(WORKDAYS, tz)
    ab, bc, ac = clock.between(a, b), clock.between(b, c), clock.between(a, c)
    assert ab + bc == ac and 0 <= ac <= c - a and clock.between(c, a) == -ac


@given(instants, instants)
def test_all_day_is_wall_time(a, b):
    assert BusinessClock(ALL_DAY, "America/New_York").between(a, b) == b - a


# --- periods ---------------------------------------------------------------------------------------------

def test_periods_are_local_days_and_iso_weeks():
    days = periods(utc("2024-03-30T12:00:00Z"), utc("2024-04-01T12:00:00Z"), "day", LONDON)
    assert [(label, utc_iso(a), utc_iso(b)) for label, a, b in days] == [
        ("2024-03-30", "2024-03-30T12:00:00Z", "2024-03-31T00:00:00Z"),  # clipped to the range
        ("2024-03-31", "2024-03-31T00:00:00Z", "2024-03-31T23:00:00Z"),  # 23 hours: clocks went forward
        ("2024-04-01", "2024-03-31T23:00:00Z", "2024-04-01T12:00:00Z")]
    weeks = periods(utc("2024-12-25T00:00:00Z"), utc("2025-01-07T00:00:00Z"), "week", LONDON)
    assert [label for label, _, _ in weeks] == ["2024-W52", "2025-W01", "2025-W02"]  # 30 Dec 2024 is in 2025-W01
    assert utc_iso(weeks[1][1]) == "2024-12-30T00:00:00Z"
    with pytest.raises(ValueError):
        periods(utc("2024-12-25T00:00:00Z"), utc("2025-01-07T00:00:00Z"), "month", LONDON)


@given(st.sampled_from(ZONES), instants, st.integers(0, 90 * 86400), st.sampled_from(["day", "week"]))
def test_periods_cover_the_range_without_gaps(tz, start, length, by):
    since = datetime.fromtimestamp(start, UTC)
    until = since + timedelta(seconds=length + 1)
    spans = periods(since, until, by, tz)
    assert spans[0][1] == since and spans[-1][2] == until
    assert all(a[2] == b[1] for a, b in zip(spans, spans[1:], strict=False))
    assert len({label for label, _, _ in spans}) == len(spans)
    assert all(date.fromisoformat(label) for label, _, _ in spans if by == "day")


def test_now_out_of_range_is_a_clear_usage_error(cli, write_config):
    write_config({})
    for value in ("0001-01-01", "9999-12-31T23:59:59Z"):
        result = cli("report", "latency", "--now", value)
        assert result.exit_code == 2, result.stderr
        assert "out of range" in result.stderr and "Traceback" not in result.stderr
