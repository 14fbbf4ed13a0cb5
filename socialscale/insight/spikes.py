"""`report spikes`: is the current window's volume out of line with the windows before it?

Per group (lane, tag or rule), the current window [now - window, now) is compared with the
`baseline` windows of the same length just before it: with mean m and population standard
deviation sd of their counts, the group spikes when count > m + k·sd and count >= 5.
"""

from __future__ import annotations

import json
import statistics
from datetime import datetime, timedelta
from typing import Any

from socialscale.errors import UsageError
from socialscale.models import Config
from socialscale.reports import _ordered, _utc
from socialscale.shapes import Spike, SpikeFigures, Spikes
from socialscale.store import insight as sql
from socialscale.store.database import Database
from socialscale.store.filters import ItemFilter as Filters
from socialscale.timeutil import period_start, periods, utc_iso

SPIKES_BY = ("lane", "tag", "rule")
MIN_COUNT = 5
NO_LANE = "(none)"


def spikes(db: Database, config: Config, *, now: datetime, by: str = "lane", window_s: int = 86400,
           baseline_s: int = 14 * 86400, k: float = 3.0, lane: str | None = None, source: str | None = None
           ) -> Spikes:
    """docs/insight.md's `report spikes` shape, plus every group's figures under `groups`."""
    if by not in SPIKES_BY:
        raise UsageError(f"--by {by!r}: expected one of {', '.join(SPIKES_BY)}")
    if window_s <= 0:
        raise UsageError("--window: expected a duration longer than zero, such as 1d or 6h")
    if baseline_s < window_s:
        raise UsageError(f"--baseline: expected at least one window ({window_s} s), such as 14d")
    if k < 0:
        raise UsageError("--k: expected a number of standard deviations, 0 or more")
    now = _utc(now)
    n = baseline_s // window_s
    window = timedelta(seconds=window_s)
    # label 0 is the current window, 1..n the baseline windows going back in time
    periods = [(str(j), utc_iso(now - (j + 1) * window), utc_iso(now - j * window)) for j in range(n + 1)]
    counts: dict[str, list[int]] = {}
    for label, value, count in sql.window_counts(db, by=by, periods=periods, filters=Filters(lane=lane, source=source)):
        for group in _groups(by, value):
            counts.setdefault(group, [0] * (n + 1))[int(label)] += count
    expected = [name for name in config.lanes if lane is None or name == lane] if by == "lane" else []
    if by == "rule":
        expected = [r.name for r in config.rules if lane is None or r.lane == lane]
    groups: list[SpikeFigures] = []
    for group in _ordered(expected, counts):
        series = counts.get(group, [0] * (n + 1))
        groups.append(_figures(NO_LANE if group is None else group, series[0], series[1:], k))
    return {"now": utc_iso(now), "by": by, "window_s": window_s, "baseline_s": n * window_s, "baseline_windows": n,
            "k": k, "spikes": [_spike(g) for g in groups if g["spike"]],
            "groups": groups}


def _groups(by: str, value: Any) -> list[Any]:
    if by == "lane":
        return [value]
    try:
        found = json.loads(value) if isinstance(value, str) else []
    except ValueError:
        found = []
    return [v for v in dict.fromkeys(found) if isinstance(v, str)]


def _spike(g: SpikeFigures) -> Spike:
    return {"group": g["group"], "count": g["count"], "baseline_mean": g["baseline_mean"],
            "baseline_sd": g["baseline_sd"], "threshold": g["threshold"]}


def _figures(group: str, count: int, baseline: list[int], k: float) -> SpikeFigures:
    mean = statistics.fmean(baseline)
    sd = statistics.pstdev(baseline)
    threshold = mean + k * sd
    return {"group": group, "count": count, "baseline_mean": round(mean, 4), "baseline_sd": round(sd, 4),
            "threshold": round(threshold, 4), "spike": count > threshold and count >= MIN_COUNT,
            "baseline": baseline}


def spikes_by_period(db: Database, config: Config, *, now: datetime, since: datetime,
                     baseline_periods: int = 14, k: float = 3.0) -> dict[tuple[str, str], SpikeFigures]:
    """For the HTML volume chart: (local day, lane) -> the spike's figures, each day of [since, now] taken
    as the window and the `baseline_periods` days before it as the baseline (the same formula)."""
    first = period_start(since, "day", config.timezone) - timedelta(days=baseline_periods + 1)
    spans = periods(first, now + timedelta(seconds=1), "day", config.timezone)
    labels = [label for label, _, _ in spans]
    counts: dict[Any, dict[str, int]] = {}
    for label, lane, count in sql.window_counts(db, by="lane", periods=[(lbl, utc_iso(lo), utc_iso(hi))
                                                                       for lbl, lo, hi in spans], filters=Filters()):
        counts.setdefault(NO_LANE if lane is None else lane, {})[label] = count
    out: dict[tuple[str, str], SpikeFigures] = {}
    for lane, per_day in counts.items():
        series = [per_day.get(label, 0) for label in labels]
        for j in range(baseline_periods, len(series)):
            figures = _figures(lane, series[j], series[j - baseline_periods:j], k)
            if figures["spike"] and spans[j][2] > since:
                out[(labels[j], lane)] = figures
    return out
