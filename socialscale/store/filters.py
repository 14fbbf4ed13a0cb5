"""The one filter spec that `items` and the reports share, and the SQL it stands for.

A filter field is a condition on items; `sql()` renders the set ones as `AND ...` fragments over the
items table aliased `i`. Adding a filter is one field here and one clause in `_clauses`.

What "open" means is the backlog's meaning (docs/reports.md): an open item counts when it is not a duplicate,
not one of our own posts and its lane expects a response. `items` applies the same rule unless
`everything` is set (`items --all`) or the listing is one conversation (`items --conversation ID`,
which shows every message of it, ours included), so `items --lane L --status open` lists what `report backlog`
counts for L.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from socialscale.models import NEGATIVE_BELOW, POSITIVE_FROM
from socialscale.store.dialect import SQLITE, Dialect
from socialscale.store.search import search_clause

# Items the reports never count: later copies of a conversation seen elsewhere, and the team's own posts.
COUNTED_SQL = "i.duplicate_of IS NULL AND i.ours IS NULL"
# A lane expects a response unless the config says `respond: false` (the `lanes` table is synced from it).
RESPONDING_LANE_SQL = "COALESCE((SELECT l.respond FROM lanes l WHERE l.name = i.lane), 1) = 1"


# A label's range of scores (negative <= NEGATIVE_BELOW < neutral < POSITIVE_FROM <= positive).
_SENTIMENT_SQL = {"negative": "i.sentiment <= ?", "neutral": "i.sentiment > ? AND i.sentiment < ?",
                  "positive": "i.sentiment >= ?"}
_SENTIMENT_BOUNDS = {"negative": (NEGATIVE_BELOW,), "neutral": (NEGATIVE_BELOW, POSITIVE_FROM),
                     "positive": (POSITIVE_FROM,)}


@dataclass(frozen=True)
class ItemFilter:
    """Conditions on items; None (or False, or empty) means no condition."""

    lane: str | None = None
    owner: str | None = None
    source: str | None = None
    status: str | None = None
    tags: tuple[str, ...] = ()      # every one of these tags
    unassigned: bool = False        # no owner
    since: str | None = None        # start_at >= since (UTC ISO)
    until: str | None = None        # start_at < until
    search: str | None = None       # the `--search` language (store/search.py)
    conversation: int | None = None  # the conversation of this item id (every message of it, ours included)
    sentiment: str | None = None    # negative | neutral | positive (models.SENTIMENT_LABELS); unscored items never
    everything: bool = False        # also duplicates, our own posts, open items of lanes that expect no response

    def sql(self, params: list[Any], d: Dialect = SQLITE) -> str:
        """The set conditions as `" AND ..."` (empty when none), their values appended to `params`."""
        return "".join(f" AND {clause}" for clause in self._clauses(params, d))

    def where(self, params: list[Any], d: Dialect = SQLITE) -> str:
        """A whole WHERE condition for a listing: the filters, and unless `everything`, only what the
        reports count (the reports add their own rules for waiting and answered items to `sql()`)."""
        clauses = self._clauses(params, d)
        if not self.everything and self.conversation is None:
            clauses.append(COUNTED_SQL)
            if self.status == "open":
                clauses.append(RESPONDING_LANE_SQL)
        return " AND ".join(clauses) or "1 = 1"

    def _clauses(self, params: list[Any], d: Dialect) -> list[str]:
        clauses = []
        for column in ("lane", "owner", "source", "status"):
            value = getattr(self, column)
            if value is not None:
                clauses.append(f"i.{column} = ?")
                params.append(value)
        for tag in self.tags:
            clauses.append(f"EXISTS (SELECT 1 FROM {d.json_array_text('i.tags', 't')} WHERE t.value = ?)")
            params.append(tag)
        if self.unassigned:
            clauses.append("i.owner IS NULL")
        if self.since:
            clauses.append("i.start_at >= ?")
            params.append(self.since)
        if self.until:
            clauses.append("i.start_at < ?")
            params.append(self.until)
        if self.conversation is not None:
            clauses.append("i.conversation_id = (SELECT c.conversation_id FROM items c WHERE c.id = ?)")
            params.append(self.conversation)
        if self.sentiment is not None:
            clauses.append(_SENTIMENT_SQL[self.sentiment])
            params.extend(_SENTIMENT_BOUNDS[self.sentiment])
        if self.search is not None:
            clause, values = search_clause(d, self.search, "i.id")
            clauses.append(clause)
            params += values
        return clauses

    def hidden(self) -> ItemFilter:
        """The same listing with the reports' rules turned off: what `--all` would add."""
        from dataclasses import replace

        return replace(self, everything=True)
