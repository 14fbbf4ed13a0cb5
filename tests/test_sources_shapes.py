"""Untrusted API payloads: any JSON value where a field is expected gives an Item, None or a ParseError."""

from __future__ import annotations

import json
from typing import Any

from apitools import Answer, Router, items, pull_json
from hypothesis import given, settings
from hypothesis import strategies as st

from socialscale.errors import ParseError
from socialscale.models import Item
from socialscale.sources import (
    appstore,
    bluesky,
    discourse,
    github,
    hackernews,
    jsonapi,
    lemmy,
    lobsters,
    mastodon,
    reddit,
    stackexchange,
    youtube,
)

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)
KEYS = ["id", "objectID", "name", "kind", "data", "created_at", "created_at_i", "created_utc", "creation_date",
        "account", "acct", "content", "author", "title", "body", "user", "html_url", "parent_id", "in_reply_to_id",
        "question_id", "owner", "tags", "labels", "permalink", "url", "reblog", "_tags", "comment_text",
        "uri", "record", "text", "createdAt", "indexedAt", "reply", "parent", "handle", "did", "likeCount", "langs",
        "post_number", "topic_id", "path", "snippet", "short_id", "im:rating", "label"]
entries = st.dictionaries(st.sampled_from(KEYS), values, max_size=10)


def adapters(entry: Any) -> list[Any]:
    return [
        lambda: hackernews._item("s", entry),
        lambda: reddit._item("s", entry),
        lambda: reddit._item("s", {"kind": "t1", "data": entry}),
        lambda: mastodon._item("s", entry, "host"),
        lambda: stackexchange._item("s", entry, "site"),
        lambda: github._issue("s", entry),
        lambda: github._comment("s", entry, "o/r"),
        lambda: bluesky._item("s", entry),
        lambda: appstore._item("s", entry, "1", "us"),
        lambda: discourse._item("s", entry, entry, "https://f.example"),
        lambda: youtube._item("s", entry, None, 3),
        lambda: lemmy._post("s", entry, "h"),
        lambda: lobsters._story("s", entry),
        lambda: lobsters._comment("s", entry, "story"),
        lambda: lemmy._comment("s", entry, "h"),
        lambda: lemmy._comment("s", {"comment": {"id": 1, "post_id": 2, "path": entry}, "counts": entry}, "h"),
        lambda: youtube._item("s", {"id": "c1", "snippet": entry}, "top"),
        lambda: discourse._item("s", {"topic_id": 1, "post_number": 2, "blurb": entry}, entry, "https://f.example"),
        lambda: appstore._item("s", {"id": {"label": "1"}, "im:rating": {"label": "5"}, "title": entry,
                                     "author": entry, "updated": entry}, "1", "us"),
        lambda: bluesky._item("s", {"uri": "at://did:x/app.bsky.feed.post/1", "record": entry, "author": entry}),
        lambda: jsonapi._item("s", entry, {"fields": {"guid": "id", "title": "title", "published_at": "created_at",
                                                      "author": "user.name", "in_reply_to": "parent_id"}}, "here"),
    ]


@settings(max_examples=300, deadline=None)
@given(st.one_of(entries, values))
def test_any_json_gives_an_item_none_or_a_parse_error(entry: Any) -> None:
    for make in adapters(entry):
        try:
            out = make()
        except ParseError:
            continue
        assert out is None or isinstance(out, Item)
        if isinstance(out, Item):
            assert out.guid and isinstance(out.title, str) and isinstance(out.text, str)
            json.dumps(out.extra)  # storable


def test_wrongly_typed_fields_are_skipped_not_fatal(server, cli, write_config):
    statuses = [
        {"id": "1", "created_at": "2025-01-10T12:00:00Z", "content": "<p>fine</p>", "account": {"acct": "a"}},
        {"id": {"x": 1}, "content": "no usable id"},
        # Its link is all that is usable: enough to keep it (an entry carrying nothing is not stored).
        {"id": "2", "created_at": 12, "content": ["not", "text"], "account": [], "tags": "acme",
         "url": "https://m.example/@x/2"},
        "not an object",
    ]
    server.add("/api/v1/timelines/tag/acme", handler=Router([], default=Answer(json.dumps(statuses))))
    write_config({"sources": [{"name": "md", "type": "mastodon", "instance": "https://m.example",
                               "api_url": server.base, "tag": "acme", "backfill": "3650d"}]})
    result = pull_json(cli)
    assert result["totals"]["new"] == 2
    got = items("md")
    assert got["m.example:1"]["text"] == "fine"
    assert got["m.example:2"]["published_at"] is None and got["m.example:2"]["author"] is None


def test_non_finite_numbers_and_garbled_rate_limit_headers(server, cli, write_config):
    body = '{"hits": [{"objectID": "1", "created_at_i": 1e999, "title": "x"}], "nbPages": 1e999}'
    server.add("/search_by_date", handler=Router([], default=Answer(body, headers={"X-Extra": "1"})))
    server.add("/search/issues", handler=Router([], default=Answer(
        '{"total_count": 0, "items": []}', headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "nan"})))
    write_config({"sources": [{"name": "hn", "type": "hackernews", "api_url": server.base, "query": "x"},
                              {"name": "gh", "type": "github", "api_url": server.base, "query": "x"}]})
    result = pull_json(cli)
    assert result["totals"] == {"sources": 2, "ok": 2, "errors": 0, "new": 1, "updated": 0}
    assert items("hn")["1"]["published_at"] is None


def test_a_digit_that_is_not_a_decimal_is_kept_as_text():
    item = discourse._item("s", {"topic_id": 1, "post_number": "²"}, None, "https://forum.example")
    assert item is not None and item.extra["post_number"] == "²"
