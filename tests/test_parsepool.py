"""The parser pool's `prepare` step: each worker runs it once as it starts (the pull gives the workers
its rules that way); a worker whose preparation fails still parses, and the caller decides the rest."""

from __future__ import annotations

import asyncio

from conftest import rss

from socialscale.models import Rule
from socialscale.parsepool import ParsePool

FEED = rss([{"title": "Broken again", "guid": "g1", "description": "I want a refund"},
            {"title": "Hello", "guid": "g2", "description": "nice day"}]).encode()
TARGET = "socialscale.sources.parsing:parse_feed_scored"


def _parse(prepare):
    async def run():
        pool = ParsePool(1, prepare=prepare)
        try:
            return await pool.run(TARGET, FEED, "s", "http://127.0.0.1/feed")
        finally:
            pool.close()

    return asyncio.run(run())


def test_prepared_workers_decide_each_items_rules():
    rules = [Rule(name="other", lane="sales_prospecting", any=("quote",)),
             Rule(name="complaints", lane="customer_service", any=("refund",))]
    items, _, scores, decided = _parse(("socialscale.sources.parsing:use_rules", (rules,)))
    assert [i.guid for i in items] == ["g1", "g2"] and len(scores) == 2
    assert decided == [(1,), ()]


def test_a_worker_without_rules_or_whose_preparation_failed_still_parses():
    for prepare in (None, ("socialscale.no_such_module:nothing", ())):
        items, _, _, decided = _parse(prepare)
        assert [i.guid for i in items] == ["g1", "g2"] and decided is None


def test_an_item_crosses_processes_whole():
    import dataclasses
    import pickle

    from socialscale.models import Item

    item = Item("s", "g", "title", "text", "http://x/1", "ann", "2026-11-24T09:00:00Z", "g0", {"reach": {"likes": 3}},
                "http://x/1", "en", 3)
    # Every field is in __reduce__, in order: a field added to Item and forgotten there fails here.
    assert [f.name for f in dataclasses.fields(Item)] == ["source", "guid", "title", "text", "url", "author",
                                                           "published_at", "in_reply_to", "extra", "canonical_url",
                                                           "lang", "reach"]
    assert pickle.loads(pickle.dumps(item)) == item
    assert pickle.loads(pickle.dumps(Item("s", "g"))) == Item("s", "g")
