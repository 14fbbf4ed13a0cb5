"""Times and durations: UTC ISO-8601 text, "90m"/"2h"/"3d" durations, human formatting."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from socialscale.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d|w)", re.IGNORECASE)


def utc_iso(dt: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` for any aware datetime (naive ones are taken as UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def parse_iso(text: str) -> datetime:
    """Parse ISO-8601 (with Z or an offset; naive means UTC) into an aware UTC datetime."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


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


def parse_since(text: str, now: datetime) -> datetime:
    """`--since`: a duration back from now (`30d`) or an ISO-8601 date/time."""
    try:
        return datetime.fromtimestamp(now.timestamp() - parse_duration(text), tz=timezone.utc)
    except ValueError:
        pass
    try:
        return parse_iso(text)
    except ValueError:
        raise UsageError(f"--since/--until {text!r}: expected a duration (30d) or an ISO-8601 date") from None
