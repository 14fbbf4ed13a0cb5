"""Tagging: the lane, lanes, tags and owner an item gets from the rules; re-tagging stored items.

`Tagger.apply` runs inside the pull's per-source transaction for new and changed items;
`Tagger.retag` is `socialscale tag`. Both keep a person's decisions: an item someone
assigned, or that is no longer open, keeps its owner and status, and only its lane, lanes
and tags follow the rules (with a `tagged` event saying so).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import sqlite_utils

from socialscale.errors import UsageError
from socialscale.insight.sentiment import MODEL, Vader, label
from socialscale.insight.sentiment_pool import SentimentWorker, worth_it
from socialscale.models import Config, Rule
from socialscale.rules.matcher import Matcher
from socialscale.rules.pool import MatchPool, default_workers
from socialscale.store import tagging as store
from socialscale.store.db import transaction
from socialscale.store.items import get_item

# Bump when the matching semantics change in code, so `socialscale tag` re-applies the rules.
SEMANTICS = 3  # 2: items.rules holds the deciding rules, not every match; 3: sentiment and brands
SYSTEM_OWNERS = ("rule", "lane")  # owner_set_by values tagging may overwrite; anything else is a person
EXAMPLES = 3
BATCH = 20_000


def rules_version(config: Config) -> str:
    """A fingerprint of everything that decides tagging: rules, lanes, default lane."""
    payload = {"semantics": SEMANTICS, "default_lane": config.default_lane, "sentiment": MODEL,
               "rules": [asdict(r) for r in config.rules], "brands": [asdict(b) for b in config.brands.values()],
               "lanes": {name: [lane.owner] for name, lane in sorted(config.lanes.items())}}
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


@dataclass(frozen=True)
class Outcome:
    """What the rules decide for one item."""

    lane: str
    lanes: tuple[str, ...]
    tags: tuple[str, ...]
    rules: tuple[str, ...]
    owner: str | None
    owner_set_by: str | None  # 'rule' | 'lane' | None
    owner_rule: str | None = None  # the rule that named the owner


def decide(config: Config, hits: Sequence[Rule]) -> Outcome:
    """docs/rules.md: the first matching rule's lane (config order), every lane matched, the union of tags;
    the owner of the first matching rule in that lane that names one, else that lane's owner."""
    if not hits:
        lane = config.default_lane
        owner = _lane_owner(config, lane)
        return Outcome(lane, (lane,), (), (), owner, "lane" if owner else None)
    lane = hits[0].lane
    lanes = tuple(dict.fromkeys(r.lane for r in hits))
    tags = tuple(dict.fromkeys(t for r in hits for t in r.tags))
    rule = next((r for r in hits if r.lane == lane and r.owner), None)
    if rule is not None:
        return Outcome(lane, lanes, tags, tuple(r.name for r in hits), rule.owner, "rule", rule.name)
    owner = _lane_owner(config, lane)
    return Outcome(lane, lanes, tags, tuple(r.name for r in hits), owner, "lane" if owner else None)


def brand_rules(config: Config) -> list[Rule]:
    """The brands as rules of `any` terms (and `none`), so they are matched exactly as rules are."""
    return [Rule(name=b.name, lane="", any=b.terms, none=b.none, fields=b.fields) for b in config.brands.values()]


def _lane_owner(config: Config, lane: str) -> str | None:
    spec = config.lanes.get(lane)
    return spec.owner if spec else None


def kept_because(status: str | None, owner: str | None, owner_set_by: str | None) -> str | None:
    """Why re-tagging must leave this item's owner and status alone, or None if it may set them."""
    if status and status != "open":
        return f"status is {status}"
    if owner is not None and owner_set_by not in SYSTEM_OWNERS:
        return f"assigned by {owner_set_by}" if owner_set_by else "assigned by hand"
    return None


@dataclass
class TagSummary:
    """What a tagging run did (or, with dry_run, would do)."""

    version: str
    dry_run: bool = False
    checked: int = 0
    changed: int = 0  # items whose lane, lanes, tags, rules or owner changed (or were tagged first)
    kept: int = 0  # of those, items whose owner/status a person decided and that kept them
    rescored: int = 0  # items whose sentiment or brands changed
    moves: dict[tuple[str | None, str], list[Any]] = field(default_factory=dict)  # (from, to) -> [count, ids]

    @property
    def moved(self) -> int:
        return sum(v[0] for v in self.moves.values())

    def move_rows(self) -> list[dict[str, Any]]:
        rows = [{"from": a, "to": b, "count": v[0], "examples": v[1]} for (a, b), v in self.moves.items()]
        return sorted(rows, key=lambda r: (-r["count"], str(r["from"]), r["to"]))

    def to_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "rules_version": self.version, "checked": self.checked,
                "changed": self.changed, "moved": self.moved, "kept_owner": self.kept, "rescored": self.rescored,
                "moves": self.move_rows()}


@dataclass(frozen=True, eq=False)  # hashed by identity: one per distinct set of matched rules
class _Prepared:
    outcome: Outcome
    lanes: str
    tags: str
    rules: str


class Tagger:
    """The rules of one config, compiled once, applied to stored items."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.matcher = Matcher(config.rules)
        self.version = rules_version(config)
        self._prepared: dict[tuple[int, ...], _Prepared] = {}
        self._details: dict[tuple[Any, ...], str] = {}
        self.vader = Vader()
        self.brands = Matcher(brand_rules(config)) if config.brands else None
        self._brand_names = tuple(config.brands)
        self._brand_lists: dict[tuple[int, ...], str] = {(): "[]"}

    def brand_list(self, indices: tuple[int, ...]) -> str:
        found = self._brand_lists.get(indices)
        if found is None:
            found = self._brand_lists[indices] = _dump(tuple(self._brand_names[i] for i in indices))
        return found

    def outcome(self, indices: tuple[int, ...]) -> _Prepared:
        p = self._prepared.get(indices)
        if p is None:
            o = decide(self.config, [self.config.rules[i] for i in indices])
            p = _Prepared(o, _dump(o.lanes), _dump(o.tags), _dump(o.rules))
            self._prepared[indices] = p
        return p

    def apply(self, db: sqlite_utils.Database, item_ids: Sequence[int], now: str) -> TagSummary:
        """Tag these (new or changed) items; call inside the caller's `transaction(db)`."""
        summary = TagSummary(self.version)
        rows = store.rows_by_id(db, item_ids)
        updates, events, unchanged = self._process(rows, now, summary)
        store.write_tagging(db, updates, events)
        store.stamp_version(db, unchanged, self.version)
        return summary

    def retag(self, db: sqlite_utils.Database, *, now: str, all_items: bool = False, dry_run: bool = False,
              batch: int = BATCH, progress: Callable[[TagSummary], None] | None = None,
              worker: bool | None = None) -> TagSummary:
        """`socialscale tag`: re-apply the rules to items tagged by other rules (or to all items).

        One transaction per batch, so a pull running meanwhile waits seconds, not minutes;
        `progress` is called after each batch. With `worker` (default: when there are many items and a
        second core), a worker process scores the sentiment of the next batch meanwhile.
        """
        summary = TagSummary(self.version, dry_run=dry_run)
        stale_for = None if all_items else self.version
        if worker is None:
            worker = worth_it(store.count_items(db) if all_items else store.count_stale(db, self.version))
        scorer = SentimentWorker() if worker else None
        try:
            return self._retag(db, now, stale_for, dry_run, batch, progress, summary, scorer)
        finally:
            if scorer is not None:
                scorer.close()

    def _retag(self, db: sqlite_utils.Database, now: str, stale_for: str | None, dry_run: bool, batch: int,
               progress: Callable[[TagSummary], None] | None, summary: TagSummary,
               scorer: SentimentWorker | None) -> TagSummary:
        last = 0
        ahead = _Ahead.read(db, last, batch, stale_for, scorer) if scorer is not None else None
        pool: MatchPool | None = None  # started once a second batch shows the job is large (not beside a scorer)
        try:
            while True:
                match = pool.match_many if pool is not None else self.matcher.decide_many
                known = None
                if ahead is not None and scorer is not None:
                    current = ahead  # the next batch goes to the scorer first, then this one's scores are awaited
                    ahead = _Ahead.read(db, current.last(last), batch, stale_for, scorer) if current.full(batch) else None
                    known = current.scores()
                if dry_run:
                    rows = store.rows_after(db, last, batch, stale_for)
                    self._process(rows, now, summary, match, known)
                else:
                    with transaction(db):
                        rows = store.rows_after(db, last, batch, stale_for)
                        if rows:
                            updates, events, _ = self._process(rows, now, summary, match, known)
                            store.write_tagging(db, updates, events)
                            store.stamp_range(db, rows[0][0], rows[-1][0], self.version)
                if progress is not None:
                    progress(summary)
                if len(rows) < batch:
                    return summary
                last = rows[-1][0]
                if pool is None and scorer is None and default_workers() > 0:
                    pool = MatchPool(self.config.rules, matcher=self.matcher, deciding=True)
        finally:
            if pool is not None:
                pool.close()

    def _process(self, rows: Sequence[tuple[Any, ...]], now: str, summary: TagSummary,
                 match: Callable[[Sequence[Sequence[Any]]], list[tuple[int, ...]]] | None = None,
                 known: dict[int, tuple[tuple[Any, ...], float | None]] | None = None
                 ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[int]]:
        score = self.vader.item_score
        if known:  # scored by the worker from an earlier read: kept where the text is still the same
            sentiments = []
            for row in rows:
                found = known.get(row[0])
                texts = (row[2], row[3], row[14])
                sentiments.append(found[1] if found is not None and found[0] == texts else score(*texts))
        else:
            sentiments = [score(row[2], row[3], row[14]) for row in rows]
        fields = [row[1:6] for row in rows]  # (source, title, text, author, url)
        if self.matcher.moods:
            # Rules with a `sentiment:` condition: every match first, filtered by the item's label, then the
            # deciding ones (a rule the filter drops may have hidden another that now decides).
            deciding = self.matcher._deciding
            matched = [deciding(h) for h in self.matcher.match_many(fields, list(map(label, sentiments)))]
        else:
            # Only the rules that decide each item: an item matching a hundred rules costs what its lanes and
            # tags need.
            matched = (match or self.matcher.decide_many)(fields)
        brand_list = self.brand_list
        brands = list(map(brand_list, self.brands.match_many(fields))) if self.brands else ["[]"] * len(rows)
        outcome = self.outcome
        version = self.version
        updates: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        unchanged: list[int] = []
        moves = summary.moves
        details = self._details
        for (item_id, _, _, _, _, _, lane, lanes, tags, rules, owner, owner_set_by, status, old_version, _,
             old_sentiment, old_brands), indices, sentiment, brand in zip(rows, matched, sentiments, brands,
                                                                           strict=True):
            p = outcome(indices)
            o = p.outcome
            # Most items are open with a rule's owner: skip the call for them (this loop runs once per
            # stored item on `tag --all`).
            kept = None
            if status != "open" or (owner is not None and owner_set_by not in SYSTEM_OWNERS):
                kept = kept_because(status, owner, owner_set_by)
            new_owner, new_set_by = (owner, owner_set_by) if kept else (o.owner, o.owner_set_by)
            same = old_sentiment == sentiment and old_brands == brand
            if not same:
                summary.rescored += 1
            if (old_version is not None and lane == o.lane and lanes == p.lanes and tags == p.tags
                    and rules == p.rules and owner == new_owner and owner_set_by == new_set_by):
                if same:
                    unchanged.append(item_id)
                else:  # only what the text says moved: no `tagged` event, the workflow did not change
                    updates.append((lane, lanes, tags, rules, version, owner, owner_set_by, sentiment, brand,
                                    item_id))
                continue
            summary.changed += 1
            if kept:
                summary.kept += 1
            if lane != o.lane:
                move = moves.setdefault((lane, o.lane), [0, []])
                move[0] += 1
                if len(move[1]) < EXAMPLES:
                    move[1].append(item_id)
            updates.append((o.lane, p.lanes, p.tags, p.rules, version, new_owner, new_set_by, sentiment, brand,
                            item_id))
            previous = lane if lane is not None and lane != o.lane else None
            key = (p, previous, new_owner, kept)
            detail = details.get(key)
            if detail is None:  # a handful of distinct details cover a whole re-tag
                detail = details[key] = _detail(o, previous, new_owner, kept)
            events.append((item_id, now, detail))
        summary.checked += len(rows)
        return updates, events, unchanged


@dataclass
class _Ahead:
    """A batch read before its turn, its sentiment being scored by the worker meanwhile."""

    rows: list[tuple[Any, ...]]
    future: Future[list[float | None]] | None

    @classmethod
    def read(cls, db: sqlite_utils.Database, after: int, batch: int, stale_for: str | None,
             pool: SentimentWorker) -> _Ahead:
        rows = store.rows_after(db, after, batch, stale_for)
        return cls(rows, pool.submit([(r[2], r[3], r[14]) for r in rows]) if rows else None)

    def scores(self) -> dict[int, tuple[tuple[Any, ...], float | None]]:
        if self.future is None:
            return {}
        return {row[0]: ((row[2], row[3], row[14]), value)
                for row, value in zip(self.rows, self.future.result(), strict=True)}

    def full(self, batch: int) -> bool:
        return len(self.rows) == batch

    def last(self, default: int) -> int:
        return int(self.rows[-1][0]) if self.rows else default


def _detail(o: Outcome, previous: str | None, owner: str | None, kept: str | None) -> str:
    """The `tagged` event's detail: the rules and what they decided (and what a person's choice kept)."""
    detail: dict[str, Any] = {"rules": list(o.rules), "lane": o.lane, "lanes": list(o.lanes), "tags": list(o.tags),
                              "owner": owner}
    if previous is not None:
        detail["previous_lane"] = previous
    if kept:
        detail["owner_kept"] = kept
    return json.dumps(detail, ensure_ascii=False)


def _dump(values: tuple[str, ...]) -> str:
    # Same form as the store's other JSON lists, so a stored value compares equal as text.
    return json.dumps(list(values), ensure_ascii=False)


def retag(db: sqlite_utils.Database, config: Config, *, now: str, all_items: bool = False,
          dry_run: bool = False) -> TagSummary:
    """The function behind `socialscale tag`."""
    return Tagger(config).retag(db, now=now, all_items=all_items, dry_run=dry_run)


# -- what the `rules` and `why` commands show ---------------------------------------------------------


def test_item(config: Config, item: dict[str, Any]) -> dict[str, Any]:
    """docs/json.md's `rules test` shape: {"lane", "lanes", "owner", "tags", "rules": [{"name", "lane", "terms"}]},
    and the text's sentiment."""
    sentiment = Vader().item_score(item.get("title"), item.get("text"))
    hits = Matcher(config.rules).match(item | {"sentiment": sentiment})
    o = decide(config, [config.rules[h.index] for h in hits])
    return {"lane": o.lane, "lanes": list(o.lanes), "owner": o.owner, "tags": list(o.tags),
            "rules": [{"name": h.name, "lane": h.lane, "terms": list(h.terms)} for h in hits],
            "sentiment": sentiment}


def why(db: sqlite_utils.Database, config: Config, item_id: int, now: datetime | None = None) -> dict[str, Any]:
    """Why a stored item is (or would now be) in its lane: every rule's outcome, the winner, the owner's origin;
    its sentiment and reach, and the parts of its priority (open items)."""
    from socialscale.insight import priority
    from socialscale.timeutil import now_utc

    row = get_item(db, item_id)
    if row is None:
        raise UsageError(f"no item with id {item_id}")
    matcher = Matcher(config.rules)
    explanations = matcher.explain(row)
    hits = matcher.match(row)
    o = decide(config, [config.rules[h.index] for h in hits])
    kept = kept_because(row.get("status"), row.get("owner"), row.get("owner_set_by"))
    owner = row.get("owner") if kept else o.owner
    if kept:
        owner_from = f"kept ({kept}); the rules would say {o.owner or 'nobody'}"
    elif o.owner_set_by == "rule":
        owner_from = f"rule {o.owner_rule} names {o.owner}"
    elif o.owner_set_by == "lane":
        owner_from = f"the owner of lane {o.lane}"
    else:
        owner_from = f"nobody: no matching rule in lane {o.lane} names an owner, and the lane has none"
    if hits:
        reason = f"the first matching rule in config order (rule {hits[0].index + 1} of {len(config.rules)})"
        if len(hits) > 1:
            reason += "; also matched: " + ", ".join(h.name for h in hits[1:])
    else:
        reason = f"no rule matched, so the default lane ({config.default_lane})"
    version = rules_version(config)
    return {
        "id": row["id"], "source": row["source"], "title": row.get("title"), "url": row.get("url"),
        "stored": {k: row.get(k) for k in ("lane", "lanes", "tags", "rules", "owner", "owner_set_by", "status")}
        | {"current": row.get("rules_version") == version},
        "result": {"lane": o.lane, "lanes": list(o.lanes), "tags": list(o.tags), "rules": list(o.rules),
                   "owner": owner, "owner_from": owner_from},
        "winner": hits[0].name if hits else None, "winner_reason": reason,
        "rules": [asdict(e) for e in explanations],
        "sentiment": {"score": row.get("sentiment"), "label": label(row.get("sentiment")), "lang": row.get("lang")},
        "reach": row.get("reach"),
        "priority": priority.parts(row, config, now or now_utc()),
    }


def rule_stats(db: sqlite_utils.Database, config: Config, since: str) -> dict[str, Any]:
    """Each rule with how many items first seen since `since` it matched (as stored)."""
    counts = store.rule_match_counts(db, since)
    rules = []
    for i, r in enumerate(config.rules):
        owner = r.owner or _lane_owner(config, r.lane)
        rules.append({"index": i + 1, "name": r.name, "lane": r.lane, "owner": owner, "any": list(r.any),
                      "all": list(r.all), "none": list(r.none), "regex": list(r.regex), "fields": list(r.fields),
                      "sources": list(r.sources), "tags": list(r.tags), "matches": counts.get(r.name, 0)})
    return {"since": since, "items": store.items_since(db, since),
            "stale": store.count_stale(db, rules_version(config)), "rules": rules}
