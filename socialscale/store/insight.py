"""The SQL behind spikes, share of voice and the negative shares: grouped counts only.

The statistics (means, standard deviations, shares) are computed in Python from these counts, so
every backend gives the same figures. Lists (`tags`, `rules`, `brands`) are grouped by their JSON
text, which takes a handful of distinct values, and spread over their elements by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from socialscale.models import NEGATIVE_BELOW
from socialscale.store.database import Database
from socialscale.store.filters import ItemFilter as Filters

SPIKE_COLUMNS = {"lane": "i.lane", "tag": "i.tags", "rule": "i.rules"}
_COUNTED = "i.duplicate_of IS NULL AND i.ours IS NULL"


def _periods(periods: Sequence[tuple[str, str, str]], params: list[Any]) -> str:
    params.extend(value for period in periods for value in period)
    return f"WITH periods(label, lo, hi) AS (VALUES {', '.join('(?, ?, ?)' for _ in periods)})"


def window_counts(db: Database, *, by: str, periods: Sequence[tuple[str, str, str]],
                  filters: Filters) -> list[tuple[str, Any, int]]:
    """(period, lane or JSON list of tags/rules, items started in it), duplicates and our posts left out."""
    if not periods:
        return []
    params: list[Any] = []
    column = SPIKE_COLUMNS[by]
    sql = (f"{_periods(periods, params)} SELECT p.label, {column}, COUNT(*) FROM periods p JOIN items i "
           f"ON i.start_at >= p.lo AND i.start_at < p.hi WHERE {_COUNTED}{filters.sql(params)} "
           f"GROUP BY p.label, {column}")
    return [(r[0], r[1], int(r[2])) for r in db.execute(sql, params).fetchall()]


def brand_counts(db: Database, *, periods: Sequence[tuple[str, str, str]],
                 filters: Filters) -> list[tuple[str, str, bool, int]]:
    """(period, JSON list of brands, negative?, items) for items mentioning a brand."""
    if not periods:
        return []
    params: list[Any] = []
    sql = (f"{_periods(periods, params)} SELECT p.label, i.brands, "
           f"CASE WHEN i.sentiment <= {NEGATIVE_BELOW} THEN 1 ELSE 0 END, COUNT(*) FROM periods p JOIN items i "
           f"ON i.start_at >= p.lo AND i.start_at < p.hi WHERE {_COUNTED} AND i.brands <> '[]'{filters.sql(params)} "
           "GROUP BY p.label, i.brands, 3")
    return [(r[0], r[1], bool(r[2]), int(r[3])) for r in db.execute(sql, params).fetchall()]


def negative_counts(db: Database, *, by: str, since: str, until: str,
                    filters: Filters) -> dict[Any, tuple[int, int]]:
    """Per lane/owner/source: (items with a score, negative ones) among items started in [since, until); a
    group none of whose items has a score is left out (its share is None either way). Unscored items are
    dropped before the GROUP BY sorts the rest: with a million items, 30 days of them took ~40 ms to sort."""
    column = {"lane": "i.lane", "owner": "i.owner", "source": "i.source"}[by]
    params: list[Any] = [since, until]
    sql = (f"SELECT {column}, COUNT(*), SUM(CASE WHEN i.sentiment <= {NEGATIVE_BELOW} THEN 1 ELSE 0 END) "
           f"FROM items i WHERE i.start_at >= ? AND i.start_at < ? AND {_COUNTED} AND i.sentiment IS NOT NULL"
           f"{filters.sql(params)} GROUP BY {column}")
    return {r[0]: (int(r[1]), int(r[2] or 0)) for r in db.execute(sql, params).fetchall()}
