"""Tagging: the lane, lanes, tags and owner an item gets from the rules; re-tagging stored items.

`Tagger.apply` runs inside the pull's per-source transaction for new and changed items;
`Tagger.retag` is `socialscale tag`. Both keep a person's decisions: an item someone
assigned, or that is no longer open, keeps its owner and status, and only its lane, lanes
and tags follow the rules (with a `tagged` event saying so).
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING, Any, cast

from socialscale import collector
from socialscale.errors import UsageError
from socialscale.followups import analyse
from socialscale.insight.sentiment import MODEL, Vader, label
from socialscale.insight.sentiment_pool import SentimentWorker, worth_it
from socialscale.models import Config, Item, Rule
from socialscale.rules.matcher import Matcher
from socialscale.rules.pool import Matching, MatchPool, default_workers
from socialscale.shapes import ExplainedRule, LaneMove, RuleStat, RuleStats, RuleTest, TagResult, Why
from socialscale.store import reindex
from socialscale.store import tagging as store
from socialscale.store.database import Database
from socialscale.store.db import bulk_writing, reader_beside, transaction
from socialscale.store.items import get_item

if TYPE_CHECKING:
    from socialscale.rules.explain import RuleExplanation

# Bump when the matching semantics change in code, so `socialscale tag` re-applies the rules.
# 3: replies take their conversation's lane and owner; 4: sentiment and brands.
SEMANTICS = 4  # 2: items.rules holds the deciding rules, not every match
SYSTEM_OWNERS = ("rule", "lane", "conversation")  # owner_set_by values tagging may overwrite; anything else is a person
EXAMPLES = 3
BATCH = 20_000
KEPT = 50_000  # distinct outcomes (and event details) kept while tagging: a bound on memory for a million items
# `tag` drops the report indexes and builds them again at the end (store/reindex.py) when, going by its first
# batch, at least half of the table will change (and at least REBUILD_AT items): on SQLite updating the two
# indexes costs about 18 µs a changed row, building both by a sort about 8 µs for every row of the table
# (benchmarks/README.md, "tag --all with stored sentiment").
REBUILD_SHARE = 0.5
REBUILD_AT = 100_000
# Positions in a store.tagging row (store.TAG_COLUMNS) read by name below.
PARENT, CONVERSATION, FOLLOWUP, RESPONSE_URL, LANG, SENTIMENT, SCORED_BY, VERSION, RULES = (
    store.TAG_COLUMNS.index(c) for c in ("parent_id", "conversation_id", "followup", "response_url", "lang", "sentiment",
                                         "sentiment_model", "rules_version", "rules"))
_GUARD = operator.itemgetter(*(store.TAG_COLUMNS.index(c) for c in store.GUARD))


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
    lanes = tuple(dict.fromkeys(map(_LANE, hits)))
    tags = tuple(dict.fromkeys(chain.from_iterable(map(_TAGS, hits))))
    names = tuple(map(_NAME, hits))
    rule = next((r for r in hits if r.owner and r.lane == lane), None)
    if rule is not None:
        return Outcome(lane, lanes, tags, names, rule.owner, "rule", rule.name)
    owner = _lane_owner(config, lane)
    return Outcome(lane, lanes, tags, names, owner, "lane" if owner else None)


_LANE, _TAGS, _NAME = operator.attrgetter("lane"), operator.attrgetter("tags"), operator.attrgetter("name")


def brand_rules(config: Config) -> list[Rule]:
    """The brands as rules of `any` terms (and `none`), so they are matched exactly as rules are."""
    return [Rule(name=b.name, lane="", any=b.terms, none=b.none, fields=b.fields) for b in config.brands.values()]


def _lane_owner(config: Config, lane: str) -> str | None:
    spec = config.lanes.get(lane)
    return spec.owner if spec else None


def kept_because(status: str | None, owner: str | None, owner_set_by: str | None,
                 response_url: str | None = None) -> str | None:
    """Why re-tagging must leave this item's owner and status alone, or None if it may set them.

    An item answered by one of our replies, seen automatically (`response_url`), is not a person's
    decision: its owner still follows the rules, so the pull order cannot change it."""
    if status and status != "open" and not (status == "responded" and response_url):
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
    scored: int = 0  # items whose sentiment was computed (the others' stored score was the current model's)
    moves: dict[tuple[str | None, str], list[Any]] = field(default_factory=dict)  # (from, to) -> [count, ids]

    @property
    def moved(self) -> int:
        return sum(v[0] for v in self.moves.values())

    def move_rows(self) -> list[LaneMove]:
        rows: list[LaneMove] = [{"from": a, "to": b, "count": v[0], "examples": v[1]} for (a, b), v in self.moves.items()]
        return sorted(rows, key=lambda r: (-r["count"], str(r["from"]), r["to"]))

    def add(self, other: TagSummary) -> None:
        """Count what another run (a batch written apart) did, after this one's."""
        self.checked += other.checked
        self.changed += other.changed
        self.kept += other.kept
        self.rescored += other.rescored
        self.scored += other.scored
        for key, (count, examples) in other.moves.items():
            move = self.moves.setdefault(key, [0, []])
            move[0] += count
            move[1].extend(examples[:EXAMPLES - len(move[1])])

    def to_json(self) -> TagResult:
        return {"dry_run": self.dry_run, "rules_version": self.version, "checked": self.checked,
                "changed": self.changed, "moved": self.moved, "kept_owner": self.kept, "rescored": self.rescored,
                "scored": self.scored, "moves": self.move_rows()}


@dataclass(frozen=True, eq=False)  # hashed by identity: one per distinct set of matched rules
class _Prepared:
    outcome: Outcome
    lanes: str
    tags: str
    rules: str


class Tagger:
    """The rules of one config, compiled once, applied to stored items."""

    def __init__(self, config: Config, rebuild_at: int = REBUILD_AT) -> None:
        self.config = config
        self.rebuild_at = rebuild_at
        self._dropped = False
        self.matcher = Matcher(config.rules)
        self.version = rules_version(config)
        self._prepared: dict[tuple[int, ...], _Prepared] = {}
        self._strings: dict[str, str] = {}  # lane and tag names as JSON strings
        self._names = [json.dumps(r.name, ensure_ascii=False) for r in config.rules]  # each rule's name as JSON
        self._rule_index = {r.name: i for i, r in enumerate(config.rules)}  # names are unique (config check)
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
        """What these deciding rules (`Matcher.decide_many`) decide, with its lists as stored; kept per set of
        rules. With rules of common words nearly every item has a set of its own, so what is kept is bounded
        (KEPT), and the stored `rules` list is joined from each name's JSON rather than encoded again."""
        p = self._prepared.get(indices)
        if p is None:
            if len(self._prepared) >= KEPT:
                self._prepared.clear()
            o = decide(self.config, [self.config.rules[i] for i in indices])
            p = _Prepared(o, self._list(o.lanes), self._list(o.tags), "[" + ", ".join(map(self._names.__getitem__,
                                                                                          indices)) + "]")
            self._prepared[indices] = p
        return p

    def _list(self, values: tuple[str, ...]) -> str:
        """`_dump(values)`, joined from each value's JSON (a lane or tag name: a few distinct ones)."""
        try:
            return "[" + ", ".join(map(self._strings.__getitem__, values)) + "]"
        except KeyError:
            self._strings.update((v, json.dumps(v, ensure_ascii=False)) for v in values)
            return "[" + ", ".join(map(self._strings.__getitem__, values)) + "]"

    def tag_new(self, source: str, fresh: Sequence[tuple[int, Item, str]],
                now: str) -> list[tuple[tuple[Any, ...], tuple[Any, ...]]]:
        """store.items.upsert_items' `tag`: new items that reply to nothing, (id, item, content hash), tagged
        before they are inserted as what they are then, a conversation of their own (store.tagging.new_row):
        each one's values of the tagged columns and its `tagged` event, for `apply` to write with the others'."""
        rows = [store.new_row(item_id, source, item, digest) for item_id, item, digest in fresh]
        updates, events, _ = self._process(rows, now, TagSummary(self.version))
        event_of = {e[0]: e for e in events}  # each new row changes: one update and one event each
        return [(u[:-1], event_of[u[-1]]) for u in updates]

    def apply(self, db: Database, item_ids: Sequence[int], now: str,
              reason: str | None = None, settled: Collection[int] = (),
              links: Mapping[int, tuple[int | None, int]] | None = None,
              tagged: Mapping[int, tuple[tuple[Any, ...], tuple[Any, ...]]] | None = None) -> TagSummary:
        """Tag these (new or changed) items; call inside the caller's `transaction(db)`. `reason` goes
        into the `tagged` events (e.g. the upgrade that re-tagged them). `settled`: those of them whose
        text did not change since they were tagged (re-tagged for their conversation's sake): the
        sentiment stored then stands (scored again only where none is stored). Otherwise sentiment is scored
        for the items without a score of the current model (new ones, and those whose text the pull changed).
        `links`: (parent_id, conversation_id) of some of them, not yet stored: tagged with them, and
        written with the tagging (one write of the row, not two); they must all be among the rows written
        (new items: every one is, or stays as inserted, a root). `tagged`: new items inserted tagged
        (`tag_new`: what it gave each). Those still a root, as inserted (`links` says (None, their id)), are
        neither read nor written: a root's tagging is its own rules' whatever replies it has; only their
        events are written. The others are tagged as the new items they are, and written where that
        differs from their insert. The summary counts the items read here, not those as inserted."""
        summary = TagSummary(self.version)
        tagged = tagged or {}
        roots = {i for i in item_ids if i in tagged and links is not None and links.get(i) == (None, i)}
        rows = store.rows_by_id(db, [i for i in item_ids if i not in roots] if roots else item_ids)
        if tagged:
            rows = [store.untagged(row) if row[0] in tagged else row for row in rows]
        if links and any(parent is not None for parent, _ in links.values()):
            # (A row without a parent is a root whatever its conversation: those need no change.)
            rows = [row if row[0] not in links else (*row[:PARENT], *links[row[0]], *row[CONVERSATION + 1:])
                    for row in rows]
        known = {row[0]: (_texts(row), row[SENTIMENT]) for row in rows
                 if row[0] in settled and row[SENTIMENT] is not None} if settled else None
        updates, events, unchanged = self._process(rows, now, summary, ctx=self._context(db, rows, links), reason=reason,
                                                   known=known, decided=self._stored_decisions(rows, settled))
        if tagged:
            links = links or {}
            updates = [u for u in updates if u[-1] not in tagged or tagged[u[-1]][0] != u[:-1]
                       or links.get(u[-1], (None, u[-1])) != (None, u[-1])]
            if roots:  # in id order, as if they were among the rows
                events = sorted([*events, *(tagged[i][1] for i in sorted(roots))], key=operator.itemgetter(0))
        store.write_tagging(db, updates, events, links)
        store.stamp_version(db, unchanged, self.version, links)
        return summary

    def retag(self, db: Database, *, now: str, all_items: bool = False, dry_run: bool = False,
              batch: int = BATCH, progress: Callable[[TagSummary], None] | None = None,
              worker: bool | None = None, rescore: bool = False) -> TagSummary:
        """`socialscale tag`: re-apply the rules to items tagged by other rules (or to all items).

        An item's stored sentiment is kept when the current model scored it from its current text (a
        score depends on nothing else); the others are scored, and with `rescore` every item is.
        One transaction per batch, so a pull running meanwhile waits seconds, not minutes;
        `progress` is called after each batch. With `worker` (default: when many items need scoring and
        there is a second core), a worker process scores the sentiment of the next batch meanwhile.
        """
        summary = TagSummary(self.version, dry_run=dry_run)
        stale_for = None if all_items else self.version
        if worker is None:
            if rescore:
                to_score = store.count_items(db) if all_items else store.count_stale(db, self.version)
            else:
                to_score = store.count_to_score(db, MODEL, stale_for)
            worker = worth_it(to_score)
        scorer = SentimentWorker() if worker else None
        try:
            # No cycles are made here, but the collector walked everything alive every so often: the compiled
            # rules, the matcher's word cache, the outcomes kept (6 CPU us an item with dense rules,
            # benchmarks/README.md, "`tag --all`, sixth session").
            with bulk_writing(db, cache_kib=store.CACHE_KIB), collector.paused():
                return self._retag(db, now, stale_for, dry_run, batch, progress, summary, scorer, rescore)
        finally:
            if scorer is not None:
                scorer.close()

    def _retag(self, db: Database, now: str, stale_for: str | None, dry_run: bool, batch: int,
               progress: Callable[[TagSummary], None] | None, summary: TagSummary,
               scorer: SentimentWorker | None, rescore: bool) -> TagSummary:
        self._dropped = False
        try:
            result = self._batches(db, now, stale_for, dry_run, batch, progress, summary, scorer, rescore)
        except BaseException:
            if self._dropped:
                with suppress(Exception):  # else the next open rebuilds them (store.reindex.repair)
                    self._rebuild(db)
            raise
        if self._dropped:
            self._rebuild(db)
        return result

    def _rebuild(self, db: Database) -> None:
        with transaction(db):
            reindex.rebuild(db)
        self._dropped = False

    def _worth_rebuilding(self, db: Database, changed: int, checked: int, stale_for: str | None) -> bool:
        """After the first batch: will enough items change, going by that batch's share of changes and the
        items left to check, that dropping the report indexes and building them at the end costs less than
        updating them row by row?"""
        if changed < REBUILD_SHARE * checked:
            return False
        expected = store.count_stale(db, self.version) * changed / checked
        return expected >= self.rebuild_at and expected >= REBUILD_SHARE * store.count_items(db)

    def _batches(self, db: Database, now: str, stale_for: str | None, dry_run: bool, batch: int,
                 progress: Callable[[TagSummary], None] | None, summary: TagSummary,
                 scorer: SentimentWorker | None, rescore: bool) -> TagSummary:
        """The batches in id order. The first is read, matched and written in one transaction; after it (when a
        second connection can be had) a writer thread stores each batch while the next one is read on that
        connection and matched: SQLite and the server work while Python matches (docs/design.md, "tag --all
        writes beside its matching"). Such a batch is written only where nobody changed its items since they
        were read (store.write_if_unmoved); else it is tagged again inside one transaction."""
        last = 0
        beside = _Beside()
        ahead = _Ahead.read(db, last, batch, stale_for, scorer, rescore) if scorer is not None else None
        pool: MatchPool | None = None  # started once a second batch shows the job is large (not beside a scorer)
        matching: _Matching | None = None  # the next batch, read and in the match pool's hands
        try:
            while True:
                match: Callable[[Sequence[Sequence[Any]]], list[tuple[int, ...]]] = \
                    pool.match_many if pool is not None else self.matcher.decide_many
                known = None
                if ahead is not None and scorer is not None:
                    ahead, known = ahead.next(beside.reader or db, last, batch, stale_for, scorer, rescore)
                if dry_run:
                    rows, mine, matching = self._read(db, last, batch, stale_for, pool, match, matching)
                    self._process(rows, now, summary, mine, self._context(db, rows), known=known, rescore=rescore)
                elif beside.reader is None:
                    rows, changed = self._locked(db, last, None, batch, stale_for, summary, match, now, known, rescore)
                    if last == 0 and len(rows) == batch and self._worth_rebuilding(db, changed, len(rows), stale_for):
                        with transaction(db):
                            self._dropped = reindex.drop(db)
                else:
                    rows, mine, matching = self._read(beside.reader, last, batch, stale_for, pool, match, matching)
                    self._beside(db, beside, rows, mine, last, batch, stale_for, summary, match, now, known, rescore)
                if len(rows) < batch:
                    self._settle(db, beside, summary, match, now, stale_for, batch, rescore)
                if progress is not None:
                    progress(summary)
                if len(rows) < batch:
                    return summary
                last = rows[-1][0]
                if not dry_run:
                    beside.start(db)
                if pool is None and scorer is None and default_workers() > 0:
                    pool = MatchPool(self.config.rules, matcher=self.matcher, deciding=True)
        finally:
            beside.close()
            if pool is not None:
                pool.close()

    def _stored_decisions(self, rows: Sequence[tuple[Any, ...]], settled: Collection[int]) -> dict[int, tuple[int, ...]]:
        """The deciding rules of the `settled` rows these rules tagged: their stored `rules` (the deciding
        rules' names, as `outcome` wrote them), not matched again. A settled row's text did not change since
        it was tagged, so the same rules decide the same (unless a rule reads the sentiment: then matched)."""
        if not settled or self.matcher.moods:
            return {}
        index, out = self._rule_index, {}
        for row in rows:
            if row[0] in settled and row[VERSION] == self.version and row[RULES]:
                try:
                    out[row[0]] = tuple(index[name] for name in json.loads(row[RULES]))
                except (KeyError, TypeError, ValueError):
                    continue  # not a list of these rules' names: matched again
        return out

    def _read(self, conn: Database, after: int, batch: int, stale_for: str | None, pool: MatchPool | None,
              match: Callable[[Sequence[Sequence[Any]]], list[tuple[int, ...]]], matching: _Matching | None,
              ) -> tuple[list[tuple[Any, ...]], Callable[[Sequence[Sequence[Any]]], list[tuple[int, ...]]],
                         _Matching | None]:
        """The batch after `after` and how to match it (`match`, unless it was read ahead); with the match pool,
        also the batch after that, read now and handed to the pool's workers, which match it while this one is
        compared and handed on (what they have not started by then is taken back: rules.pool.Matching).
        Returns (rows, how to match them, the next batch's _Matching)."""
        if matching is not None and matching.after == after:
            rows = matching.rows
            match = matching.match
        else:
            rows = store.rows_after(conn, after, batch, stale_for)
        if pool is None or len(rows) < batch or self.matcher.moods:  # (rules with moods are matched here)
            return rows, match, None
        following = store.rows_after(conn, rows[-1][0], batch, stale_for)
        return rows, match, _Matching(rows[-1][0], following, pool.submit([r[1:6] for r in following]))

    def _beside(self, db: Database, beside: _Beside, rows: list[tuple[Any, ...]],
                mine: Callable[[Sequence[Sequence[Any]]], list[tuple[int, ...]]], after: int, batch: int,
                stale_for: str | None, summary: TagSummary,
                match: Callable[[Sequence[Sequence[Any]]], list[tuple[int, ...]]], now: str,
                known: dict[int, tuple[tuple[Any, ...], float | None]] | None, rescore: bool) -> None:
        """One batch, read on the second connection, matched (by `mine`) while the writer thread stores the one
        before; then handed to the writer (once the one before is settled; `match` tags that one again if one
        of its items moved)."""
        assert beside.reader is not None
        if not rows:
            self._settle(db, beside, summary, match, now, stale_for, batch, rescore)
            return
        part = TagSummary(self.version)
        updates, events, unchanged = self._process(rows, now, part, mine, self._context(beside.reader, rows),
                                                   known=known, rescore=rescore)
        self._settle(db, beside, summary, match, now, stale_for, batch, rescore)
        beside.hand(db, *self._guarded(rows, updates, unchanged), events, part, after, int(rows[-1][0]))

    def _locked(self, db: Database, after: int, upto: int | None, batch: int, stale_for: str | None,
                summary: TagSummary, match: Callable[[Sequence[Sequence[Any]]], list[tuple[int, ...]]], now: str,
                known: dict[int, tuple[tuple[Any, ...], float | None]] | None,
                rescore: bool) -> tuple[list[tuple[Any, ...]], int]:
        """One batch read, matched and written in one transaction: (its rows, how many changed)."""
        updates: list[tuple[Any, ...]] = []
        with transaction(db):
            rows = store.rows_after(db, after, batch, stale_for, upto=upto)
            if rows:
                updates, events, _ = self._process(rows, now, summary, match, self._context(db, rows), known=known,
                                                   rescore=rescore)
                store.write_tagging(db, updates, events)
                store.stamp_range(db, rows[0][0], rows[-1][0], self.version)
        return rows, len(updates)

    def _guarded(self, rows: Sequence[tuple[Any, ...]], updates: list[tuple[Any, ...]],
                 unchanged: list[int]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """A batch's writes as store.write_if_unmoved takes them: each with the GUARD columns as they were read."""
        by_id = {row[0]: row for row in rows}
        version = self.version
        return ([(*u[:-1], *_GUARD(by_id[u[-1]]), u[-1]) for u in updates],
                [(version, *_GUARD(row), row[0]) for row in map(by_id.__getitem__, unchanged) if row[VERSION] != version])

    def _settle(self, db: Database, beside: _Beside, summary: TagSummary,
                match: Callable[[Sequence[Sequence[Any]]], list[tuple[int, ...]]], now: str, stale_for: str | None,
                batch: int, rescore: bool) -> None:
        """Wait for the batch in the writer thread's hands, if any; count it, or, when one of its items changed
        since it was read (then nothing of it was written), tag it again reading it inside the write's
        transaction."""
        pending, beside.pending = beside.pending, None
        if pending is None:
            return
        if pending.future.result():
            summary.add(pending.part)
        else:
            self._locked(db, pending.after, pending.upto, batch, stale_for, summary, match, now, None, rescore)

    def expects(self, lane: str) -> bool:
        spec = self.config.lanes.get(lane)
        return spec.respond if spec is not None else True

    def in_conversation(self, p: _Prepared, kept: str | None, owner: str | None, owner_set_by: str | None,
                        conversation_id: int | None, root: tuple[str, str | None] | None, followup: bool,
                        heir: str | None) -> tuple[str, str, str | None, str | None, int | None]:
        """(lane, lanes as JSON, owner, owner_set_by, the conversation whose lane it took) of an item, from
        its own rules and its conversation's root (`root`: its own lane and owner; None for a root).

        docs/rules.md: a reply keeps its own first rule's lane when that lane expects a response, else takes
        the root's lane when that one does; a follow-up's owner is our latest earlier author (`heir`), else
        the root's owner, unless a rule of its own lane or a person set one."""
        o = p.outcome
        lane, lanes, inherited = o.lane, p.lanes, None
        new_owner, set_by = (owner, owner_set_by) if kept else (o.owner, o.owner_set_by)
        if root is None:
            return lane, lanes, new_owner, set_by, None
        if not (o.rules and self.expects(o.lane)) and self.expects(root[0]):
            lane, inherited = root[0], conversation_id
            lanes = _dump((root[0], *(x for x in o.lanes if x != root[0] and o.rules)))
        if not kept and not (o.owner_set_by == "rule" and inherited is None):
            heir = heir if followup else None
            if heir or ((followup or inherited is not None) and root[1]):
                new_owner, set_by = heir or root[1], "conversation"
            elif inherited is not None:
                new_owner = _lane_owner(self.config, lane)
                set_by = "lane" if new_owner else None
        return lane, lanes, new_owner, set_by, inherited

    def _context(self, db: Database, rows: Sequence[tuple[Any, ...]],
                 links: Mapping[int, tuple[int | None, int]] | None = None) -> Context:
        """What the rules of a reply need from its conversation: the root's own lane and owner (matched
        here when the root is not among `rows`), and our latest earlier author for follow-ups (`links`:
        as `apply`'s, links not written yet)."""
        ctx = Context()
        ids = {row[0] for row in rows}
        outside = {row[CONVERSATION] for row in rows
                   if row[PARENT] is not None and row[CONVERSATION] is not None and row[CONVERSATION] not in ids}
        if outside:
            # A root tagged by these rules has its own lane stored (a root never takes another's);
            # only the others are matched.
            roots = []
            for row in store.rows_by_id(db, sorted(outside)):
                if row[VERSION] == self.version:
                    ctx.roots[row[0]] = (row[6], row[10])
                else:
                    roots.append(row)
            for row, indices in zip(roots, self.matcher.decide_many([r[1:6] for r in roots]), strict=True):
                ctx.roots[row[0]] = (self.outcome(indices).outcome.lane, row[10])
        followups = sorted({row[CONVERSATION] for row in rows if row[FOLLOWUP] and row[CONVERSATION] is not None})
        if followups:
            from socialscale.store.threads import members

            groups: dict[int, list[dict[str, Any]]] = {}
            for m in members(db, followups, links):
                groups.setdefault(int(m["conversation_id"]), []).append(m)
            for group in groups.values():
                ctx.latest_ours.update((i, f.latest_ours) for i, f in analyse(group).items() if f.latest_ours)
        return ctx

    def _sentiments(self, rows: Sequence[tuple[Any, ...]], known: dict[int, tuple[tuple[Any, ...], float | None]] | None,
                    summary: TagSummary, rescore: bool = False) -> list[float | None]:
        """Each row's sentiment: the stored one where the current model scored it (unless `rescore`), else
        scored; `known`: scored by the worker from an earlier read, kept where the text is still the same."""
        score = self.vader.item_score
        out = []
        for row in rows:
            if row[SCORED_BY] == MODEL and not rescore:
                out.append(row[SENTIMENT])
                continue
            summary.scored += 1
            texts = _texts(row)
            found = known.get(row[0]) if known else None
            out.append(found[1] if found is not None and found[0] == texts else score(*texts))
        return out

    def _decisions(self, fields: list[tuple[Any, ...]], rows: Sequence[tuple[Any, ...]], sentiments: list[float | None],
                   match: Callable[[Sequence[Sequence[Any]]], list[tuple[int, ...]]] | None,
                   decided: Mapping[int, tuple[int, ...]] | None) -> list[tuple[int, ...]]:
        """Each row's deciding rules (their indices); `decided` rows' are given (_stored_decisions)."""
        if self.matcher.moods:
            # Rules with a `sentiment:` condition: every match first, filtered by the item's label, then the
            # deciding ones (a rule the filter drops may have hidden another that now decides).
            deciding = self.matcher._deciding
            return [deciding(h) for h in self.matcher.match_many(fields, list(map(label, sentiments)))]
        # Only the rules that decide each item: an item matching a hundred rules costs what its lanes and tags
        # need; `decided` ones (stored, _stored_decisions) are not matched again.
        decide = match or self.matcher.decide_many
        if not decided:
            return decide(fields)
        todo = [n for n, row in enumerate(rows) if row[0] not in decided]
        matched = [decided.get(row[0], ()) for row in rows]
        if todo:
            for n, found in zip(todo, decide([fields[n] for n in todo]), strict=True):
                matched[n] = found
        return matched

    def _process(self, rows: Sequence[tuple[Any, ...]], now: str, summary: TagSummary,
                 match: Callable[[Sequence[Sequence[Any]]], list[tuple[int, ...]]] | None = None,
                 ctx: Context | None = None, reason: str | None = None,
                 known: dict[int, tuple[tuple[Any, ...], float | None]] | None = None, rescore: bool = False,
                 decided: Mapping[int, tuple[int, ...]] | None = None,
                 ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[int]]:
        sentiments = self._sentiments(rows, known, summary, rescore)
        fields = [row[1:6] for row in rows]  # (source, title, text, author, url)
        matched = self._decisions(fields, rows, sentiments, match, decided)
        brand_list = self.brand_list
        brands = list(map(brand_list, self.brands.match_many(fields))) if self.brands else ["[]"] * len(rows)
        outcome = self.outcome
        version = self.version
        updates: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        unchanged: list[int] = []
        moves = summary.moves
        details = self._details
        ctx = ctx or Context()
        prepared = [outcome(indices) for indices in matched]
        roots = dict(ctx.roots)
        for row, p in zip(rows, prepared, strict=True):
            if row[PARENT] is None or row[CONVERSATION] in (None, row[0]):  # a root: the rules alone decide
                kept = _kept(row)
                roots[row[0]] = (p.outcome.lane, row[10] if kept else p.outcome.owner)
        for row, p, sentiment, brand in zip(rows, prepared, sentiments, brands, strict=True):
            (item_id, _, _, _, _, _, lane, lanes, tags, rules, owner, owner_set_by, status, old_version,
             parent_id, conversation_id, followup, _, _, old_sentiment, old_brands, scored_by, _) = row
            kept = _kept(row)
            root = roots.get(conversation_id) if parent_id is not None and conversation_id != item_id else None
            new_lane, new_lanes, new_owner, new_set_by, inherited = self.in_conversation(
                p, kept, owner, owner_set_by, conversation_id, root, bool(followup), ctx.latest_ours.get(item_id))
            same = old_sentiment == sentiment and old_brands == brand
            summary.rescored += not same
            same = same and scored_by == MODEL  # else the same score, but which model made it is recorded
            if (old_version is not None and lane == new_lane and lanes == new_lanes and tags == p.tags
                    and rules == p.rules and owner == new_owner and owner_set_by == new_set_by):
                if same:
                    unchanged.append(item_id)
                else:  # only what the text says moved: no `tagged` event, the workflow did not change
                    updates.append((lane, lanes, tags, rules, version, owner, owner_set_by, sentiment, brand,
                                    MODEL, item_id))
                continue
            summary.changed += 1
            if kept:
                summary.kept += 1
            if lane != new_lane:
                move = moves.setdefault((lane, new_lane), [0, []])
                move[0] += 1
                if len(move[1]) < EXAMPLES:
                    move[1].append(item_id)
            updates.append((new_lane, new_lanes, p.tags, p.rules, version, new_owner, new_set_by, sentiment, brand,
                            MODEL, item_id))
            previous = lane if lane is not None and lane != new_lane else None
            key = (p, previous, new_owner, new_set_by, kept, inherited, new_lanes, reason)
            detail = details.get(key)
            if detail is None:  # a handful of distinct details cover a whole re-tag (with common words, one an item)
                if len(details) >= KEPT:
                    details.clear()
                detail = details[key] = _detail(p, previous, new_owner, kept, new_lane=new_lane,
                                                new_lanes=new_lanes, inherited=inherited,
                                                owner_from=new_set_by, reason=reason)
            events.append((item_id, now, detail))
        summary.checked += len(rows)
        return updates, events, unchanged


@dataclass
class Context:
    """A batch's conversations, as tagging needs them."""

    roots: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # root id -> (own lane, owner)
    latest_ours: dict[int, str] = field(default_factory=dict)  # follow-up id -> our latest earlier author


def _kept(row: tuple[Any, ...]) -> str | None:
    status, owner, owner_set_by = row[12], row[10], row[11]
    # Most items are open with a rule's owner: skip the call for them (this runs once per stored item on `tag --all`).
    if status != "open" or (owner is not None and owner_set_by not in SYSTEM_OWNERS):
        return kept_because(status, owner, owner_set_by, row[RESPONSE_URL])
    return None


def _texts(row: tuple[Any, ...]) -> tuple[Any, Any, Any]:
    """What sentiment reads of a row: title, text, language."""
    return row[2], row[3], row[LANG]


@dataclass
class _Pending:
    """A batch in the writer thread's hands: what writing it counts, and its range of ids (after, upto]."""

    future: Future[bool]
    part: TagSummary
    after: int
    upto: int


class _Beside:
    """The writer thread that stores a batch while the next is read (on `reader`, a second connection) and
    matched, and the batch in its hands."""

    def __init__(self) -> None:
        self.reader: Database | None = None
        self.executor: ThreadPoolExecutor | None = None
        self.pending: _Pending | None = None

    def start(self, db: Database) -> None:
        """Once (a no-op after): the second connection, and the thread (none where there is no connection)."""
        if self.executor is None and self.reader is None:
            self.reader = reader_beside(db)
            if self.reader is not None:
                self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="socialscale-tag-writer")

    def hand(self, db: Database, updates: list[tuple[Any, ...]], stamps: list[tuple[Any, ...]],
             events: list[tuple[Any, ...]], part: TagSummary, after: int, upto: int) -> None:
        assert self.executor is not None and self.pending is None
        self.pending = _Pending(self.executor.submit(_write_unmoved, db, updates, stamps, events), part, after, upto)

    def close(self) -> None:
        if self.pending is not None:  # failing: the writer must be done with `db` before anyone else uses it
            with suppress(Exception):
                self.pending.future.result()
            self.pending = None
        if self.executor is not None:
            self.executor.shutdown(wait=True)
        if self.reader is not None:
            self.reader.close()
            self.reader = None


class _Moved(Exception):
    """An item of a batch written beside the reading changed since it was read: the batch is rolled back."""


def _write_unmoved(db: Database, updates: list[tuple[Any, ...]], stamps: list[tuple[Any, ...]],
                   events: list[tuple[Any, ...]]) -> bool:
    """The writer thread's job: one batch in one transaction, or nothing of it (False) when an item moved."""
    try:
        with transaction(db):
            if not store.write_if_unmoved(db, updates, stamps, events):
                raise _Moved
    except _Moved:
        return False
    return True


@dataclass
class _Matching:
    """The batch after id `after`, read ahead and handed to the match pool (`Tagger._read`)."""

    after: int
    rows: list[tuple[Any, ...]]
    pieces: Matching

    def match(self, fields: Sequence[Sequence[Any]]) -> list[tuple[int, ...]]:
        """Its rows' deciding rules (`fields`: theirs, as the pool was given them)."""
        assert len(fields) == len(self.rows)
        return self.pieces.result()


@dataclass
class _Ahead:
    """A batch read before its turn, its sentiment being scored by the worker meanwhile."""

    rows: list[tuple[Any, ...]]
    scoring: list[tuple[Any, ...]]  # the rows given to the worker: those without the current model's score
    future: Future[list[float | None]] | None

    @classmethod
    def read(cls, db: Database, after: int, batch: int, stale_for: str | None,
             pool: SentimentWorker, rescore: bool = False) -> _Ahead:
        rows = store.rows_after(db, after, batch, stale_for)
        scoring = rows if rescore else [r for r in rows if r[SCORED_BY] != MODEL]
        return cls(rows, scoring, pool.submit([_texts(r) for r in scoring]) if scoring else None)

    def next(self, db: Database, last: int, batch: int, stale_for: str | None, pool: SentimentWorker,
             rescore: bool) -> tuple[_Ahead | None, dict[int, tuple[tuple[Any, ...], float | None]]]:
        """The batch after this one, handed to the scorer first; then this one's scores, awaited."""
        ahead = _Ahead.read(db, self.last(last), batch, stale_for, pool, rescore) if self.full(batch) else None
        return ahead, self.scores()

    def scores(self) -> dict[int, tuple[tuple[Any, ...], float | None]]:
        if self.future is None:
            return {}
        return {row[0]: (_texts(row), value) for row, value in zip(self.scoring, self.future.result(), strict=True)}

    def full(self, batch: int) -> bool:
        return len(self.rows) == batch

    def last(self, default: int) -> int:
        return int(self.rows[-1][0]) if self.rows else default


def _detail(p: _Prepared, previous: str | None, owner: str | None, kept: str | None, *, new_lane: str,
            new_lanes: str, inherited: int | None, owner_from: str | None, reason: str | None) -> str:
    """The `tagged` event's detail: the rules and what they decided (and what a person's choice kept), as
    `json.dumps` of {"rules", "lane", "lanes", "tags", "owner", ...} writes it, joined from the lists already
    encoded for the row (with rules of common words nearly every item has a detail of its own)."""
    out = f'{{"rules": {p.rules}, "lane": {_json(new_lane)}, "lanes": {new_lanes}, "tags": {p.tags}, ' \
          f'"owner": {_json(owner)}'
    if previous is not None:
        out += f', "previous_lane": {_json(previous)}'
    if inherited is not None:
        out += f', "lane_from_conversation": {_json(inherited)}'
    if owner_from == "conversation" and not kept:
        out += ', "owner_from": "conversation"'
    if kept:
        out += f', "owner_kept": {_json(kept)}'
    if reason:
        out += f', "reason": {_json(reason)}'
    return out + "}"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _dump(values: tuple[str, ...]) -> str:
    # Same form as the store's other JSON lists, so a stored value compares equal as text.
    return json.dumps(list(values), ensure_ascii=False)


def retag(db: Database, config: Config, *, now: str, all_items: bool = False,
          dry_run: bool = False) -> TagSummary:
    """The function behind `socialscale tag`."""
    return Tagger(config).retag(db, now=now, all_items=all_items, dry_run=dry_run)


# -- what the `rules` and `why` commands show ---------------------------------------------------------


def test_item(config: Config, item: dict[str, Any]) -> RuleTest:
    """docs/json.md's `rules test` shape: {"lane", "lanes", "owner", "tags", "rules": [{"name", "lane", "terms"}]},
    and the text's sentiment."""
    sentiment = Vader().item_score(item.get("title"), item.get("text"))
    hits = Matcher(config.rules).match(item | {"sentiment": sentiment})
    o = decide(config, [config.rules[h.index] for h in hits])
    return {"lane": o.lane, "lanes": list(o.lanes), "owner": o.owner, "tags": list(o.tags),
            "rules": [{"name": h.name, "lane": h.lane, "terms": list(h.terms)} for h in hits],
            "sentiment": sentiment}


def why(db: Database, config: Config, item_id: int, now: datetime | None = None) -> Why:
    """Why a stored item is (or would now be) in its lane: every rule's outcome, the winner, the owner's origin;
    its sentiment and reach, and the parts of its priority (open items)."""
    from socialscale.insight import priority
    from socialscale.timeutil import now_utc

    row = get_item(db, item_id)
    if row is None:
        raise UsageError(f"no item with id {item_id}")
    tagger = Tagger(config)
    matcher = tagger.matcher
    explanations = matcher.explain(row)
    hits = matcher.match(row)
    o = decide(config, [config.rules[h.index] for h in hits])
    kept = kept_because(row.get("status"), row.get("owner"), row.get("owner_set_by"), row.get("response_url"))
    rows = store.rows_by_id(db, [item_id])
    ctx = tagger._context(db, rows)
    cid = row.get("conversation_id")
    root = ctx.roots.get(cid) if row.get("parent_id") is not None and cid not in (None, item_id) else None
    lane, lanes, owner, set_by, inherited = tagger.in_conversation(
        tagger.outcome(tuple(h.index for h in hits)), kept, row.get("owner"), row.get("owner_set_by"), cid, root,
        bool(row.get("followup")), ctx.latest_ours.get(item_id))
    if kept:
        owner_from = f"kept ({kept}); the rules would say {o.owner or 'nobody'}"
    elif set_by == "conversation" and root is not None:
        heir = ctx.latest_ours.get(item_id) if row.get("followup") else None
        owner_from = (f"{heir} wrote our latest message before it in conversation {cid}" if heir and owner == heir
                      else f"the owner of conversation {cid}")
    elif o.owner_set_by == "rule" and inherited is None:
        owner_from = f"rule {o.owner_rule} names {o.owner}"
    elif set_by == "lane":
        owner_from = f"the owner of lane {lane}"
    else:
        owner_from = f"nobody: no matching rule in lane {lane} names an owner, and the lane has none"
    if hits:
        reason = f"the first matching rule in config order (rule {hits[0].index + 1} of {len(config.rules)})"
        if len(hits) > 1:
            reason += "; also matched: " + ", ".join(h.name for h in hits[1:])
    else:
        reason = f"no rule matched, so the default lane ({config.default_lane})"
    if inherited is not None and root is not None:
        kind = "follow-up" if row.get("followup") else "reply"
        reason = (f"{kind} in conversation {inherited}, which is in {root[0]} "
                  f"(its own rules give {o.lane}, which {'expects' if tagger.expects(o.lane) else 'expects no'} "
                  "response)")
    version = rules_version(config)
    return {
        "id": row["id"], "source": row["source"], "title": row.get("title"), "url": row.get("url"),
        "stored": {"lane": row.get("lane"), "lanes": row.get("lanes"), "tags": row.get("tags"), "rules": row.get("rules"),
                   "owner": row.get("owner"), "owner_set_by": row.get("owner_set_by"), "status": row.get("status"),
                   "current": row.get("rules_version") == version},
        "result": {"lane": lane, "lanes": json.loads(lanes), "tags": list(o.tags), "rules": list(o.rules),
                   "owner": owner, "owner_from": owner_from, "lane_from_conversation": inherited},
        "winner": hits[0].name if hits else None, "winner_reason": reason,
        "rules": [_explained(e) for e in explanations],
        "sentiment": {"score": row.get("sentiment"), "label": label(row.get("sentiment")), "lang": row.get("lang")},
        "reach": row.get("reach"),
        "priority": priority.parts(row, config, now or now_utc()),
    }


def _explained(e: RuleExplanation) -> ExplainedRule:
    """A rule's explanation as `why --json` writes it: the dataclass's fields, in order."""
    return cast(ExplainedRule, asdict(e))


def rule_stats(db: Database, config: Config, since: str) -> RuleStats:
    """Each rule with how many items first seen since `since` it matched (as stored)."""
    counts = store.rule_match_counts(db, since)
    rules: list[RuleStat] = []
    for i, r in enumerate(config.rules):
        owner = r.owner or _lane_owner(config, r.lane)
        rules.append({"index": i + 1, "name": r.name, "lane": r.lane, "owner": owner, "any": list(r.any),
                      "all": list(r.all), "none": list(r.none), "regex": list(r.regex), "fields": list(r.fields),
                      "sources": list(r.sources), "tags": list(r.tags), "matches": counts.get(r.name, 0)})
    return {"since": since, "items": store.items_since(db, since),
            "stale": store.count_stale(db, rules_version(config)), "rules": rules}
