"""`keep:` on any source: only items matching one of its terms are stored, with their conversations."""

from __future__ import annotations

import json
from typing import Any

from apitools import Answer, Router, items, pull_json

POSTS = "/api/posts"
FIELDS = {"guid": "id", "title": "subject", "text": "body", "in_reply_to": "reply_to", "published_at": "created"}


def post(id: str, subject: str, body: str = "", reply_to: str | None = None) -> dict[str, Any]:
    return {"id": id, "subject": subject, "body": body, "reply_to": reply_to, "created": "2025-01-10T12:00:00Z"}


def config(server: Any, keep: Any) -> dict[str, Any]:
    return {"sources": [{"name": "forum", "type": "json", "url": server.url(POSTS), "items": "posts",
                         "fields": FIELDS, "backfill": "3650d", "keep": keep}]}


def serve(server: Any, posts: list[dict[str, Any]]) -> None:
    server.add(POSTS, handler=Router([], default=Answer(json.dumps({"posts": posts}))))


def test_keep_stores_matching_items_and_the_replies_beneath_them(server, cli, write_config):
    serve(server, [
        post("3", "Re: re", "thanks!", reply_to="2"),  # a reply listed before its parent
        post("2", "Re: widget", "which model?", reply_to="1"),
        post("1", "My ACME widget broke"),
        post("4", "Unrelated", "nothing to see"),
        post("5", "acmeish", "a longer word is not the term"),
        post("6", "Re: unrelated", "acme? no", reply_to="4"),  # matches by itself; its parent does not
    ])
    write_config(config(server, ["acme", "Widgets Inc"]))
    result = pull_json(cli)
    assert result["sources"][0]["seen"] == 6
    assert sorted(items("forum")) == ["1", "2", "3", "6"]


def test_a_later_reply_to_a_kept_item_is_kept_and_stored_items_are_updated(server, cli, write_config):
    serve(server, [post("1", "acme is great")])
    write_config(config(server, "acme"))
    pull_json(cli)
    serve(server, [post("1", "edited: great product", "new words"), post("7", "Re", "agreed", reply_to="1"),
                   post("8", "Other", "no")])
    result = pull_json(cli)
    assert result["totals"]["new"] == 1 and result["totals"]["updated"] == 1
    got = items("forum")
    assert sorted(got) == ["1", "7"]
    assert got["1"]["title"] == "edited: great product"


def test_keep_is_validated_with_key_paths(cli, write_config):
    write_config({"sources": [
        {"name": "a", "type": "feed", "url": "https://example.com/feed", "keep": []},
        {"name": "b", "type": "feed", "url": "https://example.com/feed", "keep": ["ok", " * ", {"x": 1}]},
        {"name": "c", "type": "feed", "url": "https://example.com/feed", "keep": ["fine", "**"]}]})
    result = cli("check")
    text = result.stdout + result.stderr
    assert result.exit_code == 2
    assert "sources[0].keep: an empty list would keep nothing" in text
    assert "sources[1].keep: expected a list of strings" in text
    assert "sources[2].keep[1]: an empty term matches nothing" in text
