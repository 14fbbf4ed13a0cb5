"""type: bluesky — createSession, searchPosts and refreshSession played from lexicon-shaped fixtures."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
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
    send,
    source_result,
    warnings_of,
)

SEARCH = "/xrpc/app.bsky.feed.searchPosts"
CREATE = "/xrpc/com.atproto.server.createSession"
REFRESH = "/xrpc/com.atproto.server.refreshSession"
PASSWORD = "abcd-efgh-ijkl-mnop"
ACCESS1, REFRESH1 = (json.loads(fixture("bluesky", "session.json"))[k] for k in ("accessJwt", "refreshJwt"))
ACCESS2 = json.loads(fixture("bluesky", "refreshed.json"))["accessJwt"]
SECRETS = (PASSWORD, ACCESS1, REFRESH1, ACCESS2)
JANE = "did:plc:jane2x4ykmrwhxqphzdbaxms"
ACME = "did:plc:acme7q3lz4x2y6kqv5nwhk2p"
ROOT = f"at://{JANE}/app.bsky.feed.post/3lfa2xkq6ok2a"
OURS = f"at://{ACME}/app.bsky.feed.post/3lfa3b7c2rs2b"
THEIRS = f"at://{JANE}/app.bsky.feed.post/3lfa3ucw5nk2c"
BOB = "at://did:plc:bob5tkhu4mzv2k7a3xwq6rjn/app.bsky.feed.post/3lf9yz2qbns2d"


def search_router(*extra: tuple[Any, Answer | list[Answer]]) -> Router:
    return Router([*extra, ({"cursor": "3"}, Answer(fixture("bluesky", "search_page2.json"))),
                   (lambda q: "cursor" not in q, Answer(fixture("bluesky", "search_page1.json")))])


def serve(server: Any, search: Any = None, create: Answer | None = None) -> None:
    server.add(CREATE, handler=Router([], default=create or Answer(fixture("bluesky", "session.json"))))
    server.add(REFRESH, handler=Router([], default=Answer(fixture("bluesky", "refreshed.json"))))
    server.add(SEARCH, handler=search or search_router())


def config(server: Any, monkeypatch: Any, **extra: Any) -> dict[str, Any]:
    monkeypatch.setenv("BSKY_HANDLE", "acme.bsky.social")
    monkeypatch.setenv("BSKY_APP_PASSWORD", PASSWORD)
    source = {"name": "bsky", "type": "bluesky", "api_url": server.base, "query": "acme",
              "handle_env": "BSKY_HANDLE", "password_env": "BSKY_APP_PASSWORD", "backfill": "3650d"}
    return {"team": {"acme": {"handles": ["bluesky:acme.bsky.social"]}}, "fetch": {"retries": 0},
            "sources": [{**source, **extra}]}


def assert_no_secrets(*outputs: str) -> None:
    for secret in SECRETS:
        for output in outputs:
            assert secret not in output
        assert secret.encode() not in database_bytes()


def test_signs_in_pages_with_cursor_and_maps_posts(server, cli, write_config, monkeypatch):
    serve(server)
    write_config(config(server, monkeypatch))
    result = cli("--verbose", "pull", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["new"] == 5
    assert json.loads(server.posts[0][1]) == {"identifier": "acme.bsky.social", "password": PASSWORD}
    asked = [query(r.path) for r in server.hits(SEARCH)]
    assert [{k: v for k, v in q.items() if k != "since"} for q in asked] == [
        {"q": "acme", "sort": "latest", "limit": "100"}, {"q": "acme", "sort": "latest", "limit": "100", "cursor": "3"}]
    assert asked[0]["since"] < "2017-01-01T00:00:00Z"  # the backfill of 3650 days
    assert all(r.headers["authorization"] == f"Bearer {ACCESS1}" for r in server.hits(SEARCH))

    got = items("bsky")
    root = got[ROOT]
    assert root["author"] == "jane.example.com"
    assert root["text"] == "My acme widget arrived broken. Anyone else?"
    assert root["url"] == "https://bsky.app/profile/jane.example.com/post/3lfa2xkq6ok2a"
    assert root["published_at"] == "2025-01-10T11:40:00Z"
    assert root["in_reply_to"] is None
    assert root["extra"]["counts"] == {"like_count": 4, "repost_count": 1, "reply_count": 1, "quote_count": 0}
    assert root["extra"]["author_id"] == JANE
    assert got[BOB]["published_at"] == "2025-01-10T09:00:00Z"  # createdAt's +02:00 converted to UTC
    assert got[THEIRS]["extra"]["root_uri"] == ROOT
    assert cursor("bsky")["since"] == "2025-01-10T12:05:00Z"
    assert_no_secrets(result.stdout, result.stderr)


def test_second_pull_asks_from_the_newest_post_and_adds_nothing(server, cli, write_config, monkeypatch):
    serve(server)
    write_config(config(server, monkeypatch))
    pull_json(cli)
    before = len(server.requests)
    result = pull_json(cli)
    assert result["totals"]["new"] == 0 and result["totals"]["updated"] == 0
    again = [query(r.path) for r in server.requests[before:] if r.path.startswith(SEARCH)]
    assert again[0]["since"] == "2025-01-10T12:00:00Z"  # the newest post less 5 minutes of index lag
    assert len(server.hits(CREATE)) == 2  # a new session each pull: tokens are never kept


def test_our_reply_answers_and_their_reply_to_ours_points_at_ours(server, cli, write_config, monkeypatch):
    serve(server)
    write_config(config(server, monkeypatch))
    pull_json(cli)
    got = items("bsky")
    assert got[OURS]["ours"] == "acme"
    assert got[OURS]["in_reply_to"] == ROOT
    assert got[ROOT]["status"] == "responded"
    assert got[ROOT]["responded_by"] == "acme"
    assert got[ROOT]["responded_at"] == "2025-01-10T11:50:00Z"
    assert got[THEIRS]["in_reply_to"] == OURS  # their reply to ours: a follow-up in the conversation
    assert got[THEIRS]["ours"] is None


def test_an_expired_access_token_is_refreshed_once(server, cli, write_config, monkeypatch):
    def search(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("Authorization") == f"Bearer {ACCESS1}":
            send(handler, Answer(fixture("bluesky", "expired_token.json"), 400))
        else:
            search_router()(handler)

    serve(server, search=search)
    write_config(config(server, monkeypatch))
    result = cli("--verbose", "pull", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["new"] == 5
    assert [r.headers["authorization"] for r in server.hits(REFRESH)] == [f"Bearer {REFRESH1}"]
    assert [r.headers["authorization"] for r in server.hits(SEARCH)] == [
        f"Bearer {ACCESS1}", f"Bearer {ACCESS2}", f"Bearer {ACCESS2}"]
    assert_no_secrets(result.stdout, result.stderr)


def test_a_refused_refresh_signs_in_again(server, cli, write_config, monkeypatch):
    served = {"n": 0}

    def search(handler: BaseHTTPRequestHandler) -> None:
        served["n"] += 1
        if served["n"] == 1:
            send(handler, Answer(fixture("bluesky", "expired_token.json"), 400))
        else:
            search_router()(handler)

    serve(server, search=search)
    server.add(REFRESH, handler=Router([], default=Answer(fixture("bluesky", "expired_token.json"), 400)))
    write_config(config(server, monkeypatch))
    assert pull_json(cli)["totals"]["new"] == 5
    assert len(server.hits(CREATE)) == 2


def test_a_refused_sign_in_names_the_variables_never_the_values(server, cli, write_config, monkeypatch):
    serve(server, create=Answer(fixture("bluesky", "bad_login.json"), 401))
    write_config(config(server, monkeypatch))
    result = cli("pull")
    assert result.exit_code == 1
    assert ("bsky: Bluesky refused the sign-in (HTTP 401: AuthenticationRequired: Invalid identifier or "
            "password): check the handle in BSKY_HANDLE (handle_env) and the app password in BSKY_APP_PASSWORD "
            "(password_env)") in result.stderr
    assert "Traceback" not in result.stderr and not server.hits(SEARCH)
    assert_no_secrets(result.stdout, result.stderr)

    monkeypatch.delenv("BSKY_APP_PASSWORD")
    result = cli("pull")
    assert result.exit_code == 1
    assert "bsky: environment variable BSKY_APP_PASSWORD (password_env) is not set or empty" in result.stderr


def test_rate_limit_headers_wait_for_the_reset(server, cli, write_config, monkeypatch, sleeps):
    reset = str(int(time.time()) + 2)
    serve(server, search=search_router(
        (lambda q: "cursor" not in q, Answer(fixture("bluesky", "search_page1.json"),
                                             headers={"RateLimit-Remaining": "0", "RateLimit-Reset": reset}))))
    write_config(config(server, monkeypatch))
    result = pull_json(cli)
    assert result["totals"]["new"] == 5
    assert any(w.startswith("waited") and "RateLimit-Remaining is 0" in w for w in warnings_of(result, "bsky"))
    assert any(0 < s <= 3 for s in sleeps)


def test_a_long_rate_limit_is_a_note_and_the_next_pull_waits(server, cli, write_config, monkeypatch):
    reset = str(int(time.time()) + 3600)
    serve(server, search=Router([], default=Answer(fixture("bluesky", "rate_limited.json"), 429,
                                                   headers={"RateLimit-Remaining": "0", "RateLimit-Reset": reset})))
    write_config(config(server, monkeypatch))
    result = pull_json(cli)
    assert source_result(result, "bsky")["status"] == "ok"
    assert any("Bluesky rate limit (RateLimitExceeded): asked to wait" in w for w in warnings_of(result, "bsky"))
    assert "not_before" in cursor("bsky")
    asked = len(server.requests)
    result = pull_json(cli)
    assert any(w.startswith("not asked: the API asked to wait until") for w in warnings_of(result, "bsky"))
    assert len(server.requests) == asked


def test_a_malformed_answer_is_one_clean_error(server, cli, write_config, monkeypatch):
    serve(server, search=Router([], default=Answer(fixture("bluesky", "not_a_list.json"))))
    write_config(config(server, monkeypatch))
    result = cli("pull")
    assert result.exit_code == 1
    assert "expected `posts` (a JSON list), got an object" in result.stderr
    assert "Traceback" not in result.stderr
    assert items("bsky") == {}


def test_config_validation(cli, write_config):
    write_config({"sources": [
        {"name": "a", "type": "bluesky"},
        {"name": "b", "type": "bluesky", "query": "acme", "handle_env": "acme.bsky.social",
         "password_env": "abcd-efgh-ijkl-mnop"}]})
    result = cli("check")
    text = result.stdout + result.stderr
    assert result.exit_code == 2
    assert "sources[0].query: is required" in text
    assert "sources[0].handle_env: is required (the NAME of the environment variable" in text
    assert "sources[0].password_env: is required" in text
    assert "sources[1].password_env: expected the NAME of an environment variable" in text
    assert "abcd-efgh-ijkl-mnop" not in text
