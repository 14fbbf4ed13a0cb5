"""type: discourse — a forum's /search.json played from fixture files shaped like its serializers."""

from __future__ import annotations

from typing import Any

from apitools import (
    Answer,
    Router,
    cursor,
    database_bytes,
    fixture,
    items,
    pull_json,
    query,
    source_result,
    warnings_of,
)

SEARCH = "/search.json"
KEY = "d1sc0urse-api-key-0123456789abcdef"


def forum(server: Any) -> str:
    return server.base + "/forum"  # a forum under a path, as many are


def post(server: Any, topic: int, number: int) -> str:
    return f"{forum(server)}/t/{topic}/{number}"


def serve(server: Any, *extra: tuple[Any, Answer | list[Answer]]) -> Router:
    router = Router([*extra, ({"page": "2"}, Answer(fixture("discourse", "search_page2.json"))),
                     ({"page": "1"}, Answer(fixture("discourse", "search_page1.json")))],
                    default=Answer(fixture("discourse", "search_empty.json")))
    server.add("/forum" + SEARCH, handler=router)
    return router


def config(server: Any, **extra: Any) -> dict[str, Any]:
    source = {"name": "forum", "type": "discourse", "forum": forum(server), "query": "acme", "backfill": "3650d"}
    return {"team": {"alice": {"handles": ["discourse:acme_alice"]}}, "fetch": {"retries": 0},
            "sources": [{**source, **extra}]}


def test_search_pages_newest_first_and_maps_posts_to_topics(server, cli, write_config):
    serve(server)
    write_config(config(server))
    result = pull_json(cli)
    assert result["totals"]["new"] == 5
    asked = [query(r.path) for r in server.hits("/forum" + SEARCH)]
    assert [q["page"] for q in asked] == ["1", "2"]
    assert asked[0]["q"].startswith("acme after:20") and asked[0]["q"].endswith(" order:latest")
    got = items("forum")
    first = got[post(server, 812, 1)]
    assert first["title"] == "Acme integration keeps timing out"
    assert first["text"] == "Every night the acme sync times out and the orders never arrive …"
    assert first["author"] == "maria_k"
    assert first["url"] == post(server, 812, 1)
    assert first["published_at"] == "2025-01-10T09:12:44Z"
    assert first["in_reply_to"] is None
    assert first["extra"]["counts"] == {"like_count": 3, "reply_count": 3}  # the topic's replies: the first post's
    assert first["extra"]["topic_posts_count"] == 4
    assert first["extra"]["tags"] == ["integrations"]
    reply = got[post(server, 812, 2)]
    assert reply["title"] == "Acme integration keeps timing out"  # the topic's title on every post
    assert reply["in_reply_to"] == post(server, 812, 1)  # every post of a topic points at its first post
    assert reply["extra"]["counts"] == {"like_count": 1}
    assert got[post(server, 790, 6)]["in_reply_to"] == post(server, 790, 1)
    assert cursor("forum")["newest"] == "2025-01-10T11:02:10Z"


def test_second_pull_asks_after_the_newest_day_and_adds_nothing(server, cli, write_config):
    serve(server)
    write_config(config(server))
    pull_json(cli)
    before = len(server.requests)
    result = pull_json(cli)
    assert result["totals"]["new"] == 0 and result["totals"]["updated"] == 0
    again = [query(r.path) for r in server.requests[before:]]
    assert again == [{"q": "acme after:2025-01-09 order:latest", "page": "1"}]  # page 1 reaches a known post


def test_our_post_answers_the_topic_and_their_next_post_follows_ours(server, cli, write_config):
    serve(server)
    write_config(config(server))
    pull_json(cli)
    got = items("forum")
    ours, theirs, first = got[post(server, 812, 3)], got[post(server, 812, 4)], got[post(server, 812, 1)]
    assert ours["ours"] == "alice"
    assert first["status"] == "responded" and first["responded_by"] == "alice"
    assert first["responded_at"] == "2025-01-10T10:15:00Z"
    # Their reply after ours is in the same topic: linked to the first post, published after ours.
    assert theirs["in_reply_to"] == post(server, 812, 1) and theirs["ours"] is None
    assert theirs["published_at"] > ours["published_at"]


def test_api_key_headers_and_a_refused_key(server, cli, write_config, monkeypatch):
    serve(server)
    monkeypatch.setenv("DISCOURSE_API_KEY", KEY)
    write_config(config(server, api_key_env="DISCOURSE_API_KEY", api_username="system"))
    first = cli("pull", "--format", "json")
    assert first.exit_code == 0, first.stderr
    hit = server.hits("/forum" + SEARCH)[0]
    assert hit.headers["api-key"] == KEY and hit.headers["api-username"] == "system"

    server.add("/forum" + SEARCH, handler=Router([], default=Answer(fixture("discourse", "invalid_key.json"), 403)))
    result = cli("pull")
    assert result.exit_code == 1
    assert ("forum: the forum refused the search (HTTP 403: You are not permitted to view the requested resource. "
            "The API username or key is invalid.): check the key in DISCOURSE_API_KEY (api_key_env) and "
            "api_username") in result.stderr
    for output in (first.stdout, first.stderr, result.stdout, result.stderr):
        assert KEY not in output
    assert KEY.encode() not in database_bytes()

    monkeypatch.delenv("DISCOURSE_API_KEY")
    result = cli("pull")
    assert "forum: environment variable DISCOURSE_API_KEY (api_key_env) is not set or empty" in result.stderr


def test_rate_limit_is_remembered_not_a_failure(server, cli, write_config):
    serve(server, ({"page": "2"}, Answer(fixture("discourse", "rate_limited.json"), 429)))
    write_config(config(server))
    result = pull_json(cli)
    assert source_result(result, "forum")["status"] == "ok"
    assert result["totals"]["new"] == 3  # page 1 is kept
    assert any("the forum's rate limit (You’ve performed this action too many times." in w
               for w in warnings_of(result, "forum"))
    assert "not_before" in cursor("forum")


def test_a_malformed_answer_is_one_clean_error(server, cli, write_config):
    server.add("/forum" + SEARCH, handler=Router([], default=Answer(fixture("discourse", "not_a_list.json"))))
    write_config(config(server))
    result = cli("pull")
    assert result.exit_code == 1
    assert "expected `posts` (a JSON list), got an object" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_validation(cli, write_config):
    write_config({"sources": [
        {"name": "a", "type": "discourse"},
        {"name": "b", "type": "discourse", "forum": "forum.example.org", "query": "x", "api_key_env": "abc-123"},
        {"name": "c", "type": "discourse", "forum": "https://forum.example.org", "query": "x",
         "api_key_env": "DISCOURSE_API_KEY"}]})
    result = cli("check")
    text = result.stdout + result.stderr
    assert result.exit_code == 2
    assert "sources[0].forum: is required" in text and "sources[0].query: is required" in text
    assert "sources[1].forum: expected the forum's address" in text
    assert "sources[1].api_key_env: expected the NAME of an environment variable" in text
    assert "abc-123" not in text
    assert "sources[2].api_username: is required with api_key_env" in text
