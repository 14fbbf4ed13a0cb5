"""Batch matching: `Matcher.match_many` (chunks, NULs, missing fields) and `MatchPool` agree with one item at a time."""

from __future__ import annotations

import functools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_rules_property import items, ref_matches, rule_sets

from socialscale.models import Rule
from socialscale.rules import matcher as rules_module
from socialscale.rules.matcher import Matcher
from socialscale.rules.pool import MIN_SPLIT, MatchPool


def as_tuple(it: dict) -> tuple:
    return (it["source"], it["title"], it["text"], it["author"], it["url"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_sets(), st.lists(items, min_size=1, max_size=12), st.integers(1, 5))
def test_batches_agree_with_the_naive_reference(rule_list, item_list, chunk):
    # Small chunks put item boundaries everywhere: a hit must be credited to its own item only.
    matcher = Matcher(rule_list)
    expected = [tuple(i for i, r in enumerate(rule_list) if ref_matches(r, it)) for it in item_list]
    original = rules_module.CHUNK
    rules_module.CHUNK = chunk
    try:
        assert matcher.match_many([as_tuple(it) for it in item_list]) == expected
    finally:
        rules_module.CHUNK = original


BATCH_RULES = [
    Rule(name="refund", lane="l", any=("refund*",)),
    Rule(name="phrase", lane="l", any=("doesn't work",), none=("sponsored",)),
    Rule(name="title", lane="l", any=("acme",), fields=("title",)),
    Rule(name="author", lane="l", any=("bob",), fields=("author",)),
    Rule(name="url", lane="l", regex=("/careers/",), fields=("url",)),
    Rule(name="source", lane="l", any=("price",), sources=("hn",)),
]


def test_neighbours_in_a_batch_do_not_leak_into_each_other():
    batch = [
        ("blog", "acme", "it doesn’t\x00 work", None, None),  # a NUL of its own, and a title hit
        ("blog", None, "refunds", "bob", "https://x.io/careers/1"),
        ("hn", "", "", "", ""),  # empty: the boundaries of its neighbours must not be taken for its text
        ("hn", "price", "sponsored: it doesn't work", None, None),
        ("blog", "it doesn't", "work now", None, None),  # a phrase split across title and text is no phrase
    ]
    assert Matcher(BATCH_RULES).match_many(batch) == [(1, 2), (0, 3, 4), (), (5,), ()]
    assert Matcher(BATCH_RULES).match_many([]) == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize("workers", [1, 2])
def test_the_pool_gives_the_same_results_in_the_same_order(workers):
    texts = ["a refund please", "it doesn't work", "nothing here", "acme price", "sponsored, doesn't work"]
    batch = [("hn" if k % 3 else "blog", "acme" if k % 7 == 0 else "", f"{texts[k % 5]} #{k}", "bob" * (k % 2),
              "https://x.io/careers/" if k % 11 == 0 else None) for k in range(MIN_SPLIT + 501)]
    expected = Matcher(BATCH_RULES).match_many(batch)
    with MatchPool(BATCH_RULES, workers=workers) as pool:
        assert pool.match_many(batch) == expected
        assert pool.match_many(batch[:10]) == expected[:10]  # small batches stay in this process


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rule_sets(), min_size=1, max_size=3).map(lambda sets: [r for s in sets for r in s]),
       st.lists(items, min_size=1, max_size=8), st.data())
def test_deciding_rules_decide_what_every_match_decides(rule_list, item_list, data):
    """`decide_many` keeps only the rules that decide an item's outcome (issue 14: no cost per extra
    match): from them, `decide` gives the same lane, lanes, tags and owner as from every match."""
    from pathlib import Path

    from socialscale.models import Config
    from socialscale.rules.tagging import decide

    lanes, tags = ["l1", "l2", "l3"], ["t1", "t2", "t3"]
    rule_list = [Rule(name=f"r{i}", lane=data.draw(st.sampled_from(lanes)), any=r.any, all=r.all, none=r.none,
                      regex=r.regex, fields=r.fields, sources=r.sources,
                      tags=tuple(data.draw(st.lists(st.sampled_from(tags), max_size=2, unique=True))),
                      owner=data.draw(st.sampled_from([None, None, "ann", "bob"])))
                 for i, r in enumerate(rule_list)]
    config = Config(path=None, database=Path("x.db"), rules=tuple(rule_list))
    matcher = Matcher(rule_list)
    batch = [as_tuple(it) for it in item_list]
    for it, every, deciding in zip(item_list, matcher.match_many(batch), matcher.decide_many(batch), strict=True):
        assert set(deciding) <= set(every) and list(deciding) == sorted(deciding)
        assert deciding == ref_deciding(rule_list, [i for i, r in enumerate(rule_list) if ref_matches(r, it)])
        few, many = decide(config, [rule_list[i] for i in deciding]), decide(config, [rule_list[i] for i in every])
        assert (few.lane, few.lanes, few.tags, few.owner, few.owner_set_by, few.owner_rule) == \
            (many.lane, many.lanes, many.tags, many.owner, many.owner_set_by, many.owner_rule)


def ref_deciding(rule_list: list[Rule], matched: list[int]) -> tuple[int, ...]:
    """docs/rules.md's `rules`, from every match in config order: the first match, the first match of each
    lane, the first rule to give each tag, and the first rule of the primary lane that names an owner."""
    if not matched:
        return ()
    kept, lanes, tags = {matched[0]}, set(), set()
    for i in matched:
        rule = rule_list[i]
        if rule.lane not in lanes or not set(rule.tags) <= tags:
            kept.add(i)
        lanes.add(rule.lane)
        tags.update(rule.tags)
    primary = rule_list[matched[0]].lane
    kept.update(next(([i] for i in matched if rule_list[i].lane == primary and rule_list[i].owner), []))
    return tuple(sorted(kept))


COMMON = ("the and to of for you it is this not with have looking any service customer help recommend "
          "great work thanks please app order price").split()


def dense_rules(rng: random.Random) -> list[Rule]:
    """Rules of common words, as real rule sets are: most posts match dozens of them. Every kind of term and
    condition is there: words, two- and three-word phrases, prefixes (of a word and of a phrase), `any`
    lists, `all` and `none` terms, sources, title-only and author rules, a regex, a `none` phrase."""
    def term() -> str:
        kind = rng.random()
        if kind < 0.35:
            return rng.choice(COMMON)
        if kind < 0.75:
            return f"{rng.choice(COMMON)} {rng.choice(COMMON)}"
        if kind < 0.85:
            return " ".join(rng.choice(COMMON) for _ in range(3))
        if kind < 0.93:
            return rng.choice(COMMON)[:3] + "*"
        return f"{rng.choice(COMMON)} {rng.choice(COMMON)[:2]}*"

    rules = []
    for i in range(160):
        rules.append(Rule(
            name=f"d{i}", lane=rng.choice(["l1", "l2", "l3", "l4"]),
            any=tuple(term() for _ in range(rng.randint(1, 3))),
            all=tuple(term() for _ in range(rng.choice([0, 0, 0, 0, 1, 2]))),
            none=tuple(rng.choice([rng.choice(COMMON), "not work", "we are hiring"]) for _ in range(i % 3 == 1)),
            regex=(r"\bv\d",) if i % 37 == 5 else (),
            fields=("title",) if i % 23 == 4 else ("title", "text", "author") if i % 29 == 6 else ("title", "text"),
            sources=("a",) if i % 19 == 2 else (),
            tags=tuple(rng.sample(["t1", "t2", "t3", "t4", "t5", "t6"], rng.choice([0, 0, 1, 2]))),
            owner=rng.choice([None, None, None, "ann", "bob"])))
    return rules


def dense_items(rng: random.Random, n: int) -> list[dict]:
    def words(k: int) -> str:
        parts = [rng.choice(COMMON + ["Customer", "SERVICE", "café", "v2"]) + rng.choice(SPACING) for _ in range(k)]
        return "".join(parts)

    return [{"source": rng.choice(["a", "b"]), "title": words(rng.randint(0, 8)), "text": words(rng.randint(5, 40)),
             "author": rng.choice([None, "the app", "bob"]), "url": None} for _ in range(n)]


SPACING = [" ", " ", " ", ", ", " - ", "! ", "\n", "’", " 🙂 ", "\x00"]


@pytest.mark.parametrize("paths", ["as tuned", "every item one by one", "every item by bit sets"])
def test_dense_rules_match_and_decide_as_the_reference(monkeypatch, paths):
    """Issue 14: items that match dozens of rules. Every match (`match_many`) is the naive reference's, and
    the deciding rules (`decide_many`, what tagging and the pull store) are exactly the reference's first
    match, first of each lane, first to give each tag and owner's rule; through each of the matcher's ways
    of getting there (keys found by the automaton or by words, few keys checked rule by rule or bit sets,
    phrases confirmed at once from word pairs or one by one, a few candidates or many) and across chunk
    boundaries and NULs inside fields."""
    import test_rules_property

    monkeypatch.setattr(test_rules_property, "ref_normalise", functools.cache(test_rules_property.ref_normalise))
    rng = random.Random(14)
    rule_list = dense_rules(rng)
    item_list = dense_items(rng, 60)
    if paths == "every item one by one":  # and found by the automaton
        monkeypatch.setattr(rules_module, "FEW_KEYS", 10**9)
        monkeypatch.setattr(rules_module, "FEW", 10**9)
        monkeypatch.setattr(rules_module, "DENSE_HITS", 10**9)
    elif paths == "every item by bit sets":  # and found by words from the second chunk on
        monkeypatch.setattr(rules_module, "FEW_KEYS", 0)
        monkeypatch.setattr(rules_module, "FEW", 0)
        monkeypatch.setattr(rules_module, "PAIRS_AT_ONCE", 1)
        monkeypatch.setattr(rules_module, "DENSE_HITS", -1)
        monkeypatch.setattr(rules_module, "WORDS_KEPT", 50)  # the words' keys are forgotten and found again
    monkeypatch.setattr(rules_module, "CHUNK", 7)
    expected = [[i for i, r in enumerate(rule_list) if ref_matches(r, it)] for it in item_list]
    assert sum(map(len, expected)) / len(item_list) > 20  # dense: dozens of matches an item
    matcher = Matcher(rule_list)
    batch = [as_tuple(it) for it in item_list]
    assert matcher.match_many(batch) == [tuple(e) for e in expected]
    assert matcher.decide_many(batch) == [ref_deciding(rule_list, e) for e in expected]
    assert matcher._scanners[0].by_word == (paths != "every item one by one")  # dense: split into words


def test_an_outcome_stores_its_lists_as_json_whatever_the_names(monkeypatch):
    """Tagging keeps each distinct outcome (bounded: with common words nearly every item has its own) and joins
    the stored `rules` list from each name's JSON: the same text as encoding the list, quotes, backslashes
    and non-ASCII included."""
    import json
    from pathlib import Path

    from socialscale.models import Config
    from socialscale.rules import tagging

    names = ['a "quoted" one', "back\\slash", "café ☕", "plain"]
    rule_list = [Rule(name=n, lane=f"l{i % 2}", any=("x",), tags=(f"t{i}", "ü")) for i, n in enumerate(names)]
    tagger = tagging.Tagger(Config(path=None, database=Path("x.db"), rules=tuple(rule_list)))
    monkeypatch.setattr(tagging, "KEPT", 3)
    for indices in [(0, 1, 2, 3), (1, 2), (3,), (0, 2), (), (0, 1, 2, 3)]:
        p = tagger.outcome(indices)
        assert p.rules == json.dumps([names[i] for i in indices], ensure_ascii=False)
        assert (p.lanes, p.tags) == (json.dumps(list(p.outcome.lanes), ensure_ascii=False),
                                     json.dumps(list(p.outcome.tags), ensure_ascii=False))
        assert p.outcome == tagging.decide(tagger.config, [rule_list[i] for i in indices])
        assert len(tagger._prepared) <= 3


def test_a_large_retag_uses_the_pool_and_stores_what_one_process_stores(tmp_path, monkeypatch):
    """`tag --all` over many batches matches in worker processes too; what it stores is the same."""
    import shutil
    import sqlite3

    import yaml

    from socialscale.config import load_config
    from socialscale.models import Item
    from socialscale.rules import pool as rules_pool
    from socialscale.rules.tagging import Tagger
    from socialscale.store.db import open_db, transaction
    from socialscale.store.items import upsert_items

    words = ["refund", "broken", "looking for", "alternative", "great", "thanks", "price", "quote", "hiring"]
    config_path = tmp_path / "socialscale.yaml"
    config_path.write_text(yaml.safe_dump({
        "database": "a.db", "team": {"ann": {}, "bob": {}},
        "lanes": {"listening": {"respond": False}, "customer_service": {"sla": "2h", "owner": "ann"},
                  "sales_prospecting": {"sla": "1d"}},
        "rules": [{"name": f"r{i}", "lane": ["customer_service", "sales_prospecting", "listening"][i % 3],
                   "any": [words[i % len(words)], words[(i * 7) % len(words)]], "tags": [f"t{i % 4}"],
                   **({"owner": "bob"} if i % 5 == 4 else {})} for i in range(30)]}), encoding="utf-8")
    config = load_config(config_path)
    db = open_db(config.database)
    items = [Item(source="s", guid=f"g{i}", title=" ".join(words[(i * k) % len(words)] for k in range(1, 4)),
                  text=f"post {i} " + words[i % len(words)]) for i in range(400)]
    with transaction(db):
        upsert_items(db, "s", items, "2026-11-24T08:00:00Z")
    db.conn.close()
    shutil.copy(config.database, tmp_path / "b.db")

    pooled: list[bool] = []
    real = rules_pool.MatchPool.match_many

    def spy(self, batch):  # type: ignore[no-untyped-def]
        pooled.append(self._executor is not None and len(batch) >= rules_pool.MIN_SPLIT)
        return real(self, batch)

    monkeypatch.setattr(rules_pool, "MIN_SPLIT", 10)
    monkeypatch.setattr(rules_pool.MatchPool, "match_many", spy)
    monkeypatch.setattr(rules_pool, "default_workers", lambda: 1)
    monkeypatch.setattr("socialscale.rules.tagging.default_workers", lambda: 1)
    tagger = Tagger(config)
    results = []
    for name, batch in (("a.db", 50), ("b.db", 10_000)):
        db = open_db(tmp_path / name)
        summary = tagger.retag(db, now="2026-11-24T09:00:00Z", all_items=True, batch=batch)
        db.conn.close()
        assert summary.checked == 400
        with sqlite3.connect(tmp_path / name) as conn:
            results.append(conn.execute("SELECT guid, lane, lanes, tags, rules, owner FROM items ORDER BY id").fetchall())
    assert pooled and all(pooled)  # the many-batch run matched in the pool's worker
    assert results[0] == results[1]
