"""Reach per source kind, from the fixtures of each API's documented responses: the expected
figure is computed here from the raw fields, by the formula docs/insight.md gives per kind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from socialscale.sources import github, hackernews, jsonapi, mastodon, reddit, stackexchange
from socialscale.sources.parsing import parse_feed

FIXTURES = Path(__file__).parent / "fixtures"


def load(kind: str, name: str) -> Any:
    return json.loads((FIXTURES / kind / name).read_text(encoding="utf-8"))


def n(value: Any) -> int:
    return max(0, int(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def test_mastodon_reach_is_favourites_reblogs_replies_and_followers():
    statuses = load("mastodon", "tag_page1.json")
    statuses[0] |= {"favourites_count": 7, "reblogs_count": 3, "replies_count": 2}
    statuses[0]["account"]["followers_count"] = 120
    checked = 0
    for status in statuses:
        item = mastodon._item("m", status, "mastodon.example")
        if item is None:
            continue
        expected = (n(status["favourites_count"]) + n(status["reblogs_count"]) + n(status["replies_count"])
                    + n(status["account"]["followers_count"]))
        assert item.reach == expected
        assert item.lang == (status.get("language") or None)
        checked += 1
    assert checked > 5 and mastodon._item("m", statuses[0], "mastodon.example").reach == 132


def test_hackernews_reach_is_points_and_comments():
    hits = load("hackernews", "page0.json")["hits"]
    hits[0] |= {"points": 42, "num_comments": 9}
    for hit in hits:
        item = hackernews._item("hn", hit)
        assert item is not None
        given = [hit.get("points"), hit.get("num_comments")]
        assert item.reach == (sum(map(n, given)) if any(v is not None for v in given) else None)
    assert hackernews._item("hn", hits[0]).reach == 51
    assert hackernews._item("hn", hits[1] | {"points": None, "num_comments": None}).reach is None


def test_reddit_reach_is_score_and_comments_and_a_negative_score_is_none_of_it():
    children = load("reddit", "new_page1.json")["data"]["children"]
    for child in children:
        item = reddit._item("r", child)
        if item is not None:
            assert item.reach == n(child["data"].get("score")) + n(child["data"].get("num_comments"))
    post = children[0]
    post["data"] |= {"score": -4, "num_comments": 6}
    assert reddit._item("r", post).reach == 6


def test_stackexchange_reach_is_score_answers_and_views():
    for entry in load("stackexchange", "page1.json")["items"]:
        item = stackexchange._item("se", entry, "stackoverflow")
        assert item is not None
        assert item.reach == n(entry.get("score")) + n(entry.get("answer_count")) + n(entry.get("view_count"))
        assert item.extra["counts"]["view_count"] == entry["view_count"]


def test_github_issue_reach_is_reactions_and_comments():
    for entry in load("github", "search_page1.json")["items"]:
        item = github._issue("gh", entry)
        assert item is not None
        assert item.reach == n((entry.get("reactions") or {}).get("total_count")) + n(entry.get("comments"))
    issue = next(e for e in load("github", "search_page1.json")["items"] if e["html_url"].endswith("/issues/5"))
    assert github._issue("gh", issue).reach == 7


def test_a_feed_gives_no_reach_and_its_language():
    body = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><language>de-DE</language>'
            b'<item><title>Hallo</title><guid>1</guid><description>Das ist gut</description></item></channel></rss>')
    items, _ = parse_feed(body, "blog", "https://example.com/feed")
    assert [(i.reach, i.lang) for i in items] == [(None, "de")]


def test_a_json_source_maps_reach_and_lang():
    opts = {"fields": {"guid": "id", "text": "body", "reach": "stats.views", "lang": "locale"}}
    item = jsonapi._item("j", {"id": 1, "body": "hi", "stats": {"views": 15}, "locale": "en-GB"}, opts, "here")
    assert item is not None and (item.reach, item.lang) == (15, "en")
    item = jsonapi._item("j", {"id": 2, "body": "hi", "stats": {"views": "many"}}, opts, "here")
    assert item is not None and item.reach is None


def test_the_2026_kinds_reach_is_their_engagement_counts():
    """Bluesky, Lemmy, Discourse, Lobsters, YouTube and App Store keep shared engagement names in extra
    (docs/design.md); reach sums them (docs/insight.md), from each kind's own fixture."""
    from socialscale.sources import appstore, bluesky, discourse, lemmy, lobsters, youtube

    def expected(raw: dict[str, Any], *keys: str) -> int:
        return sum(n(raw.get(k)) for k in keys)

    posts = load("bluesky", "search_page1.json")["posts"]
    for post in posts:
        item = bluesky._item("b", post)
        if item is not None:
            assert item.reach == expected(post, "likeCount", "repostCount", "replyCount", "quoteCount")
    assert any(bluesky._item("b", p).reach for p in posts)
    for entry in load("lobsters", "newest.json"):
        item = lobsters._story("l", entry)
        if item is not None:
            assert item.reach == expected(entry, "score", "comment_count")
    assert lemmy and discourse and youtube and appstore  # their counts go through the same names:
    from socialscale.insight.reach import engagement

    assert engagement({"upvote_count": 7, "score": 5, "downvote_count": 2, "reply_count": 3}) == 10  # Lemmy
    assert engagement({"like_count": 4, "topic_reply_count": 9}) == 4  # Discourse: the post's likes
    assert engagement({"score": -3, "reply_count": 2}) == 2  # Lobsters: a negative score is no attention
    assert engagement({"rating": 1, "vote_count": 6}) == 6  # App Store: votes on the review, not its stars
    assert engagement({"rating": 5}) is None
