"""`report voice`: share of voice of the configured brands over a window, optionally by week.

An item's brands are found at tagging (`items.brands`, the brands' terms matched as rules' `any`
terms are). mentions = items started in the window that mention the brand (an item mentioning two
brands counts for both); share = mentions / the sum of every brand's mentions (the shares sum to 1);
negative_share = the brand's negative mentions / its mentions.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from socialscale.errors import UsageError
from socialscale.models import Config
from socialscale.reports import _share, _since, _utc
from socialscale.shapes import BrandShare, Voice
from socialscale.store import insight as sql
from socialscale.store.database import Database
from socialscale.store.filters import ItemFilter as Filters
from socialscale.timeutil import periods, utc_iso

VOICE_BY = ("total", "week")


def voice(db: Database, config: Config, *, now: datetime, since: str | datetime = "30d",
          by: str = "total", lane: str | None = None, source: str | None = None) -> Voice:
    """docs/insight.md's shape `{"since", "brands": [{"brand", "mentions", "share", "negative_share"}]}`; with
    by="week" also `weeks: [{"period", "brands": [...]}]`."""
    if by not in VOICE_BY:
        raise UsageError(f"--by {by!r}: expected week (or leave it out for the whole window)")
    if not config.brands:
        raise UsageError("no brands configured: add `brands:` to the config (docs/insight.md#share-of-voice)")
    now = _utc(now)
    first = _since(since, now, config.timezone)
    until = now + timedelta(seconds=1)
    spans = [(label, utc_iso(lo), utc_iso(hi)) for label, lo, hi in periods(first, until, "week", config.timezone)] \
        if by == "week" else [("total", utc_iso(first), utc_iso(until))]
    tally: dict[str, dict[str, list[int]]] = {label: {} for label, _, _ in spans}
    for label, names, is_negative, count in sql.brand_counts(db, periods=spans, filters=Filters(lane=lane, source=source)):
        for brand in _names(names):
            figures = tally[label].setdefault(brand, [0, 0])
            figures[0] += count
            figures[1] += count if is_negative else 0
    totals: dict[str, list[int]] = {}
    for per_brand in tally.values():
        for brand, (mentions, negative) in per_brand.items():
            t = totals.setdefault(brand, [0, 0])
            t[0] += mentions
            t[1] += negative
    out: Voice = {"now": utc_iso(now), "since": utc_iso(first), "by": by,
                           "brands": _rows(config, totals)}
    if by == "week":
        out["weeks"] = [{"period": label, "brands": _rows(config, tally[label])} for label, _, _ in spans]
    return out


def _names(value: Any) -> list[str]:
    try:
        found = json.loads(value) if isinstance(value, str) else []
    except ValueError:
        return []
    return [v for v in dict.fromkeys(found) if isinstance(v, str)]


def _rows(config: Config, figures: dict[str, list[int]]) -> list[BrandShare]:
    """Every configured brand in config order (then brands stored under a name no longer configured)."""
    names = [*config.brands, *sorted(b for b in figures if b not in config.brands)]
    whole = sum(figures.get(b, [0, 0])[0] for b in names)
    rows: list[BrandShare] = []
    for brand in names:
        mentions, negative = figures.get(brand, [0, 0])
        spec = config.brands.get(brand)
        rows.append({"brand": brand, "ours": bool(spec and spec.ours), "mentions": mentions,
                     "share": _share(mentions, whole), "negative_share": _share(negative, mentions)})
    return rows
