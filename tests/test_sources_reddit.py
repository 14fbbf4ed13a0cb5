"""type: reddit — public JSON listings played from fixture files."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from apitools import Answer, Router, cursor, fixture, items, pull_json, query, warnings_of

NEW = "/r/acme/new.json"


def config(server: Any, **extra: Any) -> dict[str, Any]:
    source = {"name": "rd", "type": "reddit", "api_url": server.base, "subreddit": "acme", "backfill": "3650d"}
    return {"sources": [{**source, **extra}]}


def listing(name: str, **headers: str) -> Answer:
    return Answer(fixture("reddit", name), headers=headers)


def first_pull_routes(*extra: tuple[dict[str, str], Answer]) -> Router:
    return Router([*extra, ({"after": "t3_a1"}, listing("new_page2.json")),
                   (lambda q: "after" not in q and "before" not in q, listing("new_page1.json"))])


def test_first_pull_pages_back_and_sends_a_descriptive_user_agent(server, cli, write_config):
    server.add(NEW, handler=first_pull_routes())
    write_config(config(server))
    result = pull_json(cli)
    assert result["totals"]["new"] == 3
    asked = [query(r.path) for r in server.hits(NEW)]
    assert asked == [{"limit": "100", "raw_json": "1"}, {"limit": "100", "raw_json": "1", "after": "t3_a1"}]
    agent = server.hits(NEW)[0].headers["user-agent"]
    assert agent.startswith("python:socialscale:") and "github.com/socialscale" in agent

    got = items("rd")
    post = got["t3_b2"]
    assert post["title"] == "Acme widget broke after a week"
    assert post["text"] == "It just stopped working. Refund?"
    assert post["url"] == "https://www.reddit.com/r/acme/comments/b2/acme_widget_broke_af/"
    assert post["author"] == "unhappy_user" and post["published_at"] == "2025-01-10T12:30:00Z"
    assert got["t3_a1"]["extra"]["link"] == "https://review.example/widgets"
    assert "link" not in post["extra"]  # a self post links to itself
    assert cursor("rd") | {"query": None} == {"query": None, "before": "t3_b2", "created": 1736512200.0}


def test_second_pull_asks_only_for_newer_posts(server, cli, write_config):
    server.add(NEW, handler=first_pull_routes(({"before": "t3_b2"}, listing("newer.json"))))
    write_config(config(server))
    pull_json(cli)
    before = len(server.requests)
    result = pull_json(cli)
    assert result["totals"]["new"] == 1
    assert [query(r.path) for r in server.requests[before:]] == [{"limit": "100", "raw_json": "1", "before": "t3_b2"}]
    assert items("rd")["t3_d4"]["text"] == "Any ideas? <3 & thanks"  # markdown text: no HTML stripping
    assert cursor("rd")["before"] == "t3_d4"


def test_backfill_bounds_the_first_pull(server, cli, write_config):
    server.add(NEW, handler=first_pull_routes())
    boundary = datetime(2025, 1, 10, 12, 15, tzinfo=timezone.utc)
    write_config(config(server, backfill=f"{int(time.time() - boundary.timestamp())}s"))
    result = pull_json(cli)
    assert set(items("rd")) == {"t3_b2"} and result["totals"]["new"] == 1
    assert len(server.hits(NEW)) == 1  # the first page already reached back past the backfill


def test_deleted_anchor_falls_back_to_the_newest_page(server, cli, write_config):
    server.add(NEW, handler=first_pull_routes(({"before": "t3_b2"}, listing("empty.json"))))
    write_config(config(server))
    pull_json(cli)
    server.routes[NEW].handler = Router([({"before": "t3_b2"}, listing("empty.json")),
                                        (lambda q: "before" not in q, listing("gap.json"))])
    before = len(server.requests)
    result = pull_json(cli)
    assert result["totals"]["new"] == 1 and "t3_d4" in items("rd")
    assert [query(r.path).get("before") for r in server.requests[before:]] == ["t3_b2", None]
    assert any("is gone" in w for w in warnings_of(result, "rd"))
    assert cursor("rd")["before"] == "t3_d4"


def test_nothing_new_costs_two_requests_and_keeps_the_cursor(server, cli, write_config):
    server.add(NEW, handler=first_pull_routes(({"before": "t3_b2"}, listing("empty.json"))))
    write_config(config(server))
    pull_json(cli)
    result = pull_json(cli)
    assert result["totals"]["new"] == 0 and not warnings_of(result, "rd")
    assert cursor("rd")["before"] == "t3_b2"


def test_comments_listing_keeps_fullnames_and_parent_ids(server, cli, write_config):
    server.add("/r/acme/comments.json", handler=Router([], default=listing("comments.json")))
    write_config(config(server, listing="comments"))
    pull_json(cli)
    got = items("rd")
    comment = got["t1_c1"]
    assert comment["in_reply_to"] == "t3_b2"
    assert comment["extra"]["parent_id"] == "t3_b2" and comment["extra"]["link_id"] == "t3_b2"
    assert comment["text"] == "Sorry about that! DM us your order number." and comment["title"] == ""
    assert comment["url"] == "https://www.reddit.com/r/acme/comments/b2/acme_widget_broke/c1/"


def test_search_within_a_subreddit_and_site_wide(server, cli, write_config):
    server.add("/r/acme/search.json", handler=Router([], default=listing("empty.json")))
    server.add("/search.json", handler=Router([], default=listing("newer.json")))
    write_config({"sources": [
        {"name": "in-sub", "type": "reddit", "api_url": server.base, "subreddit": "acme", "search": "refund"},
        {"name": "everywhere", "type": "reddit", "api_url": server.base, "search": "acme widgets",
         "backfill": "3650d"}]})
    pull_json(cli)
    assert query(server.hits("/r/acme/search.json")[0].path) == {
        "q": "refund", "sort": "new", "type": "link", "restrict_sr": "1", "limit": "100", "raw_json": "1"}
    assert query(server.hits("/search.json")[0].path)["q"] == "acme widgets"
    assert set(items("everywhere")) == {"t3_d4"}


def test_spent_rate_limit_is_waited_out_before_the_next_page(server, cli, write_config, sleeps):
    server.add(NEW, handler=first_pull_routes(
        (lambda q: "after" not in q, listing("new_page1.json", **{"x-ratelimit-remaining": "0.0",
                                                                   "x-ratelimit-reset": "1",
                                                                   "x-ratelimit-used": "100"}))))
    write_config(config(server))
    result = pull_json(cli)
    assert [s for s in sleeps if s > 0] == [1.0], sleeps  # x-ratelimit-reset: 1
    assert result["totals"]["new"] == 3
    assert any("waited 1s (Reddit rate limit" in w for w in warnings_of(result, "rd"))


def test_long_rate_limit_stops_and_the_next_pull_does_not_ask(server, cli, write_config):
    server.add(NEW, handler=first_pull_routes(
        (lambda q: "after" not in q, listing("new_page1.json", **{"x-ratelimit-remaining": "0",
                                                                   "x-ratelimit-reset": "500"}))))
    write_config(config(server))
    result = pull_json(cli)
    assert result["totals"]["new"] == 2 and result["sources"][0]["status"] == "ok"
    assert any("asked to wait 8m" in w for w in warnings_of(result, "rd"))
    assert len(server.hits(NEW)) == 1
    assert "not_before" in cursor("rd")
    again = pull_json(cli)
    assert len(server.hits(NEW)) == 1  # nothing asked
    assert any("not asked" in w for w in warnings_of(again, "rd"))


def test_error_body_and_wrong_shape_are_clean_errors(server, cli, write_config):
    server.add(NEW, handler=Router([], default=Answer(fixture("reddit", "error_private.json"), 403)))
    server.add("/r/other/new.json", handler=Router([], default=listing("not_a_listing.json")))
    write_config({"sources": [
        {"name": "rd", "type": "reddit", "api_url": server.base, "subreddit": "acme"},
        {"name": "other", "type": "reddit", "api_url": server.base, "subreddit": "other"}]})
    result = cli("pull")
    assert result.exit_code == 1
    assert "HTTP 403 Forbidden: Forbidden (private)" in result.stderr
    assert "expected a Listing (a JSON object), got a list" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_needs_a_subreddit_or_a_search(cli, write_config):
    write_config({"sources": [{"name": "rd", "type": "reddit"},
                              {"name": "rd2", "type": "reddit", "subreddit": "r/no spaces", "listing": "hot"}]})
    result = cli("check")
    assert result.exit_code == 2
    text = result.stdout + result.stderr
    assert "sources[0].subreddit: give a subreddit" in text
    assert "sources[1].subreddit" in text and "sources[1].listing" in text
