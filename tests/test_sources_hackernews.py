"""type: hackernews — the Algolia search API played from fixture files."""

from __future__ import annotations

import time
from typing import Any

from apitools import Answer, Router, cursor, fixture, items, pull_json, query, rows, warnings_of

PATH = "/search_by_date"


def config(server: Any, **extra: Any) -> dict[str, Any]:
    return {"sources": [{"name": "hn", "type": "hackernews", "api_url": server.base, "query": "acme", **extra}]}


def test_first_pull_pages_back_to_the_backfill_and_stores_items(server, cli, write_config):
    server.add(PATH, handler=Router([({"page": "0"}, Answer(fixture("hackernews", "page0.json"))),
                                     ({"page": "1"}, Answer(fixture("hackernews", "page1.json")))]))
    write_config(config(server))
    started = int(time.time())
    result = pull_json(cli)
    assert result["totals"] == {"sources": 1, "ok": 1, "errors": 0, "new": 3, "updated": 0}

    asked = [query(r.path) for r in server.hits(PATH)]
    assert [q["page"] for q in asked] == ["0", "1"]
    assert asked[0]["query"] == "acme" and asked[0]["tags"] == "(story,comment)" and asked[0]["hitsPerPage"] == "100"
    bound = int(asked[0]["numericFilters"].removeprefix("created_at_i>"))
    assert started - 3 * 86400 - 5 <= bound <= int(time.time()) - 3 * 86400  # default backfill: 3d

    got = items("hn")
    assert set(got) == {"1000", "1001", "1002"}
    story, reply, old = got["1001"], got["1002"], got["1000"]
    assert story["title"] == "Acme widgets keep breaking"
    assert story["url"] == "https://news.ycombinator.com/item?id=1001"
    assert story["author"] == "jdoe" and story["published_at"] == "2025-01-10T12:00:00Z"
    assert story["extra"]["link"] == "https://blog.example/acme-widgets" and story["in_reply_to"] is None
    assert reply["in_reply_to"] == "1001" and reply["extra"]["story_id"] == "1001"
    assert reply["text"] == "Thanks! We shipped a fix for that in 2.1 — changelog."
    assert old["text"] == "Is there a refund policy? My acme order arrived broken & late."
    assert cursor("hn")["created_at_i"] == 1736512200


def test_second_pull_asks_only_for_newer_items(server, cli, write_config):
    newest = 1736512200
    router = Router([({"numericFilters": f"created_at_i>{newest - 300}"}, Answer(fixture("hackernews", "newer.json"))),
                     ({"page": "0"}, Answer(fixture("hackernews", "page0.json"))),
                     ({"page": "1"}, Answer(fixture("hackernews", "page1.json")))])
    server.add(PATH, handler=router)
    write_config(config(server))
    pull_json(cli)
    before = len(server.requests)
    result = pull_json(cli)
    assert result["totals"]["new"] == 1
    second = [query(r.path) for r in server.requests[before:]]
    # one request: created after the newest item seen, less 5 minutes for the search index's lag
    assert [q["numericFilters"] for q in second] == [f"created_at_i>{newest - 300}"]
    assert "1003" in items("hn")
    assert cursor("hn")["created_at_i"] == 1736582400
    # a third pull starts from the new newest item
    pull_json(cli)
    assert query(server.requests[-1].path)["numericFilters"] == f"created_at_i>{1736582400 - 300}"


def test_changed_query_starts_again_with_a_backfill(server, cli, write_config):
    server.add(PATH, handler=Router([], default=Answer(fixture("hackernews", "empty.json"))))
    write_config(config(server))
    pull_json(cli)
    write_config(config(server, query="acme widgets"))
    pull_json(cli)
    bound = int(query(server.requests[-1].path)["numericFilters"].removeprefix("created_at_i>"))
    assert abs(bound - (time.time() - 3 * 86400)) < 30


def test_retry_after_is_waited_out_and_reported(server, cli, write_config, sleeps):
    server.add(PATH, handler=Router([({}, [Answer(b'{"message": "slow down"}', 429, {"Retry-After": "1"}),
                                            Answer(fixture("hackernews", "empty.json"))])]))
    write_config(config(server))
    result = pull_json(cli)
    assert [s for s in sleeps if s > 0] == [1.0], sleeps  # Retry-After: 1
    assert len(server.hits(PATH)) == 2
    assert any("waited 1s" in w for w in warnings_of(result, "hn"))


def test_error_body_is_reported_and_other_sources_still_work(server, cli, write_config):
    server.add(PATH, handler=Router([], default=Answer(fixture("hackernews", "error.json"), 400)))
    write_config(config(server))
    result = cli("pull")
    assert result.exit_code == 1
    assert "hn: " in result.stderr and "HTTP 400" in result.stderr
    assert "invalid numeric filter" in result.stderr
    assert rows("SELECT consecutive_failures FROM sources WHERE name = 'hn'")[0]["consecutive_failures"] == 1


def test_wrong_shape_is_a_clean_parse_error(server, cli, write_config):
    server.add(PATH, handler=Router([], default=Answer(fixture("hackernews", "wrong_shape.json"))))
    write_config(config(server))
    result = cli("pull")
    assert result.exit_code == 1
    assert "expected `hits` (a JSON list), got an object" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_max_pages_stops_with_a_warning(server, cli, write_config):
    server.add(PATH, handler=Router([({"page": "0"}, Answer(fixture("hackernews", "page0.json")))]))
    write_config(config(server, max_pages=1))
    result = pull_json(cli)
    assert result["totals"]["new"] == 2
    assert len(server.hits(PATH)) == 1
    assert any("max_pages" in w for w in warnings_of(result, "hn"))


def test_authors_source_tracks_team_comments(server, cli, write_config):
    server.add(PATH, handler=Router([], default=Answer(fixture("hackernews", "empty.json"))))
    write_config({"sources": [{"name": "hn-team", "type": "hackernews", "api_url": server.base,
                               "authors": ["acme_alice", "acme_bob"]}]})
    pull_json(cli)
    asked = query(server.requests[-1].path)
    assert asked["tags"] == "(story,comment),(author_acme_alice,author_acme_bob)" and asked["query"] == ""


def test_config_problems_are_listed(cli, write_config):
    write_config({"sources": [{"name": "hn", "type": "hackernews", "max_pages": 0, "backfill": "soon",
                               "api_url": "ftp://x", "authors": ["bad name"]}]})
    result = cli("check")
    assert result.exit_code == 2
    text = result.stdout + result.stderr
    for key in ("sources[0].max_pages", "sources[0].backfill", "sources[0].api_url", "sources[0].authors"):
        assert key in text
