"""The lxml fast path gives the same items as feedparser wherever it accepts a document.

The corpus is feedparser's own test suite (tests/fixtures/feedcorpus, about 2,100 documents) plus
the project's feeds (the demo's, the benchmark server's, the test helpers'). Any difference is
either fixed or listed in KNOWN with its reason (and in docs/design.md, "Fast feed path").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from socialscale.sources import fastfeed, parsing

CORPUS = Path(__file__).parent / "fixtures" / "feedcorpus" / "feedparser"
FIELDS = ("guid", "title", "url", "text", "author", "published_at", "in_reply_to", "extra")
KNOWN: dict[str, str] = {}


def both(body: bytes) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]] | None:
    if fastfeed.read(body) is None:
        return None
    fast, _ = parsing._xml_feed(body, "s", "http://example.com/feed")
    slow, _ = parsing._xml_feed(body, "s", "http://example.com/feed", fast=False)
    return ([tuple(getattr(i, f) for f in FIELDS) for i in fast], [tuple(getattr(i, f) for f in FIELDS) for i in slow])


def corpus() -> list[Path]:
    return sorted(CORPUS.rglob("*.xml"))


def test_the_corpus_is_there_and_the_fast_path_takes_a_fair_share_of_it():
    files = corpus()
    assert len(files) > 2000
    taken = sum(1 for path in files if fastfeed.read(path.read_bytes()) is not None)
    assert taken > 300, taken  # it is unsure of much of a test corpus built from edge cases, by design


@pytest.mark.parametrize("path", corpus(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_fast_path_equals_feedparser(path: Path):
    pair = both(path.read_bytes())
    if pair is None:
        return  # the fast path was unsure: feedparser reads it, so there is nothing to compare
    name = str(path.relative_to(CORPUS))
    if name in KNOWN:
        pytest.skip(KNOWN[name])
    fast, slow = pair
    assert fast == slow


def project_feeds() -> list[tuple[str, bytes]]:
    """The feeds this project itself serves: the demo's, the benchmark server's, the tests' rss()."""
    import sys
    from datetime import datetime, timezone

    from conftest import rss

    from socialscale import demo

    now = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
    feeds = [(f"demo:{name}", demo.render_feed(name, now)[0]) for name, (kind, *_rest) in demo.PLAN.items()
             if kind in ("rss", "atom", "rdf")]
    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    try:
        import feedserver
    finally:
        sys.path.pop(0)
    feeds.append(("benchmark", feedserver.feed(3, 50)))
    feeds.append(("tests", rss([{"title": "Refund please", "guid": "g1", "link": "http://example.com/1",
                                 "description": "&lt;p&gt;My order &amp;amp; my &lt;b&gt;refund&lt;/b&gt;&lt;/p&gt;",
                                 "pubDate": "Mon, 06 Sep 2010 16:45:00 GMT", "author": "dana@example.com (Dana)"}])
                  .encode()))
    return feeds


@pytest.mark.parametrize("name, body", project_feeds(), ids=lambda v: v if isinstance(v, str) else "")
def test_the_projects_own_feeds_take_the_fast_path_and_read_the_same(name: str, body: bytes):
    if name == "demo:blog-comments":  # it carries a raw ESC on purpose: not XML, so feedparser reads it
        assert fastfeed.read(body) is None
        return
    pair = both(body)
    assert pair is not None, f"{name}: the fast path was unsure"
    fast, slow = pair
    assert fast and fast == slow
