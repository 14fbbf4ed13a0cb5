"""Batch matching: `Matcher.match_many` (chunks, NULs, missing fields) and `MatchPool` agree with one item at a time."""

from __future__ import annotations

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
