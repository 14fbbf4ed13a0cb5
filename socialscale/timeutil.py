"""Times and durations: UTC ISO-8601 text, "90m"/"2h"/"3d" durations, human formatting,
`--at` times, business hours and calendar periods in the configured timezone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from socialscale.errors import UsageError
from socialscale.models import BusinessHours

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d|w)", re.IGNORECASE)


def utc_iso(dt: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` for any aware datetime (naive ones are taken as UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_FROZEN: ContextVar[datetime | None] = ContextVar("socialscale_frozen_clock", default=None)


def now_utc() -> datetime:
    """The current time, whole seconds, UTC; inside `frozen_clock(t)`, t."""
    return _FROZEN.get() or datetime.now(timezone.utc).replace(microsecond=0)


@contextmanager
def frozen_clock(when: datetime) -> Iterator[None]:
    """Every command run inside sees `when` as now: the demo reads the same on every run."""
    token = _FROZEN.set(when.astimezone(timezone.utc).replace(microsecond=0))
    try:
        yield
    finally:
        _FROZEN.reset(token)


def parse_iso(text: str) -> datetime:
    """Parse ISO-8601 (with Z or an offset; naive means UTC) into an aware UTC datetime."""
    dt = _fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def _fromisoformat(text: str) -> datetime:
    """datetime.fromisoformat that also takes a trailing `Z`; naive when the text has no offset."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    return datetime.fromisoformat(value)


def parse_duration(text: str | int | float) -> int:
    """Seconds in a duration such as `90m`, `2h`, `1d12h`, `45s` or a bare number of seconds."""
    if isinstance(text, bool):
        raise ValueError("a duration such as 30m, 2h or 3d")
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError("a duration must not be negative")
        return int(text)
    raw = str(text).strip()
    if raw.isdigit():
        return int(raw)
    pos, total = 0, 0.0
    compact = raw.replace(" ", "")
    for match in _DURATION.finditer(compact):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2).lower()]
        pos = match.end()
    if pos != len(compact) or not compact:
        raise ValueError(f"{raw!r} is not a duration such as 30m, 2h or 3d")
    return int(total)


def format_duration(seconds: float | int | None) -> str:
    """Human-readable duration for tables: `45s`, `1h 20m`, `3d 4h`; `-` for None."""
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    s = int(round(abs(seconds)))
    if s < 60:
        return f"{sign}{s}s"
    days, rem = divmod(s, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        return f"{sign}{days}d {hours}h" if hours else f"{sign}{days}d"
    if hours:
        return f"{sign}{hours}h {minutes}m" if minutes else f"{sign}{hours}h"
    return f"{sign}{minutes}m"


def parse_since(text: str, now: datetime, tz: str = "UTC", what: str = "--since") -> datetime:
    """`--since`/`--until`: what `--at` takes (parse_at), e.g. `30d` (back from now), `yesterday`,
    `monday 09:00` or an ISO-8601 date."""
    return parse_at(text, now=now, tz=tz, what=what)


# --- `--at` / `--now`: absolute and relative times in the configured timezone ---------------------------

_AGO = re.compile(r"^(?P<dur>.+?)\s+ago$", re.IGNORECASE)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAYWORD = re.compile(r"^(?P<day>today|yesterday|" + "|".join(f"{d[:3]}(?:{d[3:]})?" for d in _WEEKDAYS)
                      + r")(?:\s+(?P<clock>\d{1,2}:\d{2}(?::\d{2})?))?$", re.IGNORECASE)
_BARE_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?\s*[a-z]+\s*)+$", re.IGNORECASE)
_CLOCK_ONLY = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?$")


def zone(tz: str) -> tzinfo:
    """The configured time zone; `UTC` without a tz database lookup."""
    return timezone.utc if tz in ("UTC", "Etc/UTC", "") else ZoneInfo(tz)


def local_wall(day: date, minutes: int | float, tz: tzinfo) -> datetime:
    """The aware instant of a local wall-clock time (`minutes` after midnight of `day`, 1440 = next midnight).

    A wall time skipped by a DST change is read with the offset before the change, and a repeated
    one as its first occurrence (fold=0), as zoneinfo does.
    """
    naive = datetime(day.year, day.month, day.day) + timedelta(minutes=minutes)
    return naive.replace(tzinfo=tz)


def _clock(text: str) -> tuple[int, int, int]:
    parts = [int(p) for p in text.split(":")]
    h, m, s = (parts + [0])[:3]
    if h > 23 or m > 59 or s > 59:
        raise ValueError(f"{text!r} is not a time of day")
    return h, m, s


def parse_at(text: str, *, now: datetime, tz: str = "UTC", what: str = "--at") -> datetime:
    """A point in time for `--at`/`--now`, as an aware UTC datetime.

    Accepts `now`, `30m ago` or just `30m` (any duration back from now), `today 09:30`, `yesterday 14:00`,
    `monday 09:00` (the latest Monday at that time not after now), a day word alone (its midnight), a bare
    `14:00` (today), and ISO-8601 dates or date-times. Times without an offset
    are in the configured timezone `tz`; `Z` or `+01:00` are taken as written.
    """
    moment = _parse_at(text, now=now, tz=tz, what=what)
    # Reports subtract windows of days from --now and compare with stored UTC text: a year-1 or
    # year-9999 instant would overflow there, and nothing socialscale stores is from before 1970.
    if not 1970 <= moment.year <= 9000:
        raise UsageError(f"{what} {text!r}: out of range (expected a time between 1970 and 9000)")
    return moment


def _parse_at(text: str, *, now: datetime, tz: str, what: str) -> datetime:
    raw = text.strip()
    zone_ = zone(tz)
    local_now = now.astimezone(zone_)
    try:
        if raw.lower() == "now":
            return now.astimezone(timezone.utc)
        ago = _AGO.match(raw)
        if ago:
            seconds = parse_duration(ago.group("dur"))
            return (now - timedelta(seconds=seconds)).astimezone(timezone.utc)
        if _BARE_DURATION.match(raw):
            try:
                return (now - timedelta(seconds=parse_duration(raw))).astimezone(timezone.utc)
            except ValueError:
                pass  # letters that are not units: perhaps a day word
        word = _DAYWORD.match(raw)
        if word or _CLOCK_ONLY.match(raw):
            day = local_now.date()
            clock = raw
            weekday = None
            if word:
                name = word.group("day").lower()
                if name == "yesterday":
                    day -= timedelta(days=1)
                elif name != "today":
                    weekday = next(k for k, d in enumerate(_WEEKDAYS) if d.startswith(name[:3]))
                    day -= timedelta(days=(local_now.weekday() - weekday) % 7)
                clock = word.group("clock") or "00:00"
            h, m, s = _clock(clock)
            moment = local_wall(day, h * 60 + m + s / 60, zone_).astimezone(timezone.utc)
            if weekday is not None and moment > now:  # `monday 09:00` early on a Monday: last week's
                moment = local_wall(day - timedelta(days=7), h * 60 + m + s / 60, zone_).astimezone(timezone.utc)
            return moment
        parsed = _fromisoformat(raw)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone_)
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise UsageError(f"{what} {text!r}: expected ISO-8601 (2024-03-05T14:00), `30m ago`, `7d`, "
                         f"`today 09:30`, `yesterday 14:00` or `monday 09:00`") from None


# --- business hours ----------------------------------------------------------------------------------

def public_holidays(country: str | None, subdivision: str | None = None) -> Any:
    """The `holidays` package's calendar for a country (and region): `date in calendar` for any year."""
    if not country:
        return None
    import holidays

    return holidays.country_holidays(country, subdiv=subdivision)


def holiday_regions() -> dict[str, list[str]]:
    """Every country code the `holidays` package knows, with its subdivision codes."""
    import holidays

    return {country: list(subdivisions) for country, subdivisions in holidays.list_supported_countries().items()}


class BusinessClock:
    """Seconds of business time between two instants, for `--business-hours`.

    Business time is the union of the configured blocks (local wall-clock, per weekday) on days
    that are not holidays. Each block is measured between its local start and end instants, so a
    block that spans a DST change lasts an hour more or less, as it did on the clock. Whole days
    are summed through a per-day prefix table, so long intervals cost no more than short ones.
    """

    def __init__(self, hours: BusinessHours, tz: str) -> None:
        self._zone = zone(tz)
        self._blocks = hours.blocks
        self._holidays = hours.holidays
        self._calendar = public_holidays(hours.holiday_country, hours.holiday_subdivision)
        self._intervals: dict[date, tuple[tuple[float, float], ...]] = {}
        self._origin: date | None = None
        self._prefix: list[float] = [0.0]  # business seconds from _origin to the start of origin + k days

    def day_intervals(self, day: date) -> tuple[tuple[float, float], ...]:
        """The business blocks of one local date, as (start, end) POSIX timestamps."""
        found = self._intervals.get(day)
        if found is None:
            if day.isoformat() in self._holidays or (self._calendar is not None and day in self._calendar):
                found = ()
            else:
                found = tuple((local_wall(day, a, self._zone).timestamp(), local_wall(day, b, self._zone).timestamp())
                              for a, b in self._blocks.get(day.weekday(), ()))
            self._intervals[day] = found
        return found

    def _day_total(self, day: date) -> float:
        return sum(b - a for a, b in self.day_intervals(day))

    def _before(self, day: date) -> float:
        """Business seconds from the origin to the start of `day`."""
        if self._origin is None or day < self._origin:
            self._origin = day - timedelta(days=7)
            self._prefix = [0.0]
        k = (day - self._origin).days
        while len(self._prefix) <= k:
            self._prefix.append(self._prefix[-1] + self._day_total(self._origin + timedelta(days=len(self._prefix) - 1)))
        return self._prefix[k]

    def _within_day(self, day: date, ts: float) -> float:
        """Business seconds on `day` before the instant `ts`."""
        return sum(max(0.0, min(ts, b) - a) for a, b in self.day_intervals(day))

    def seconds(self, start: datetime, end: datetime) -> int:
        """Business seconds in [start, end); negative when end is before start."""
        return self.between(start.timestamp(), end.timestamp())

    def between(self, t0: float, t1: float) -> int:
        """`seconds()` for POSIX timestamps."""
        if t1 < t0:
            return -self.between(t1, t0)
        d0 = datetime.fromtimestamp(t0, self._zone).date()
        d1 = datetime.fromtimestamp(t1, self._zone).date()
        if d0 == d1:
            total = self._within_day(d1, t1) - self._within_day(d0, t0)
        else:
            first = self._before(d0)  # before d1, so that the prefix table grows forwards only
            total = (self._before(d1) - first) + self._within_day(d1, t1) - self._within_day(d0, t0)
        return int(round(total))


def business_seconds(start: datetime, end: datetime, hours: BusinessHours, tz: str) -> int:
    """Seconds of business time between two instants (see BusinessClock)."""
    return BusinessClock(hours, tz).seconds(start, end)


# --- calendar periods for `--by day|week` ------------------------------------------------------------

def period_start(dt: datetime, by: str, tz: str) -> datetime:
    """The local midnight starting the day (or the Monday starting the ISO week) that contains `dt`."""
    zone_ = zone(tz)
    day = dt.astimezone(zone_).date()
    if by == "week":
        day -= timedelta(days=day.weekday())
    return local_wall(day, 0, zone_).astimezone(timezone.utc)


def period_label(start: datetime, by: str, tz: str) -> str:
    """`2024-03-25` for a day, `2024-W13` for an ISO week (in the configured timezone)."""
    day = start.astimezone(zone(tz)).date()
    if by == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return day.isoformat()


def periods(since: datetime, until: datetime, by: str, tz: str) -> list[tuple[str, datetime, datetime]]:
    """Consecutive local days or weeks covering [since, until): (label, start, end), clipped to the range."""
    if by not in ("day", "week"):
        raise ValueError(f"unknown period {by!r}")
    out: list[tuple[str, datetime, datetime]] = []
    zone_ = zone(tz)
    start = period_start(since, by, tz)
    step = 7 if by == "week" else 1
    while start < until:
        day = start.astimezone(zone_).date() + timedelta(days=step)
        end = local_wall(day, 0, zone_).astimezone(timezone.utc)
        out.append((period_label(start, by, tz), max(start, since), min(end, until)))
        start = end
    return out
