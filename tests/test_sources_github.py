"""type: github — issue search and repository comments played from fixture files."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
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

SEARCH = "/search/issues"
COMMENTS = "/repos/acme/widgets/issues/comments"
TOKEN = "ghp_SecretTokenValue1234567890"


def config(server: Any, **extra: Any) -> dict[str, Any]:
    return {"sources": [{"name": "gh", "type": "github", "api_url": server.base, "query": "acme",
                         "repo": "acme/widgets", **extra}]}


def search_router(*extra: tuple[Any, Answer]) -> Router:
    return Router([*extra, ({"page": "1"}, Answer(fixture("github", "search_page1.json"))),
                   ({"page": "2"}, Answer(fixture("github", "search_page2.json")))])


def comments_router(*extra: tuple[Any, Answer]) -> Router:
    return Router([*extra], default=Answer(fixture("github", "comments.json")))


def created_bound(q: str) -> datetime:
    stamp = q.split("created:>=", 1)[1].split()[0]
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def test_first_pull_searches_issues_and_lists_comments(server, cli, write_config):
    server.add(SEARCH, handler=search_router())
    server.add(COMMENTS, handler=comments_router())
    write_config(config(server))
    result = pull_json(cli)
    assert result["totals"]["new"] == 103
    asked = [query(r.path) for r in server.hits(SEARCH)]
    assert [q["page"] for q in asked] == ["1", "2"]
    assert asked[0]["q"].startswith("acme repo:acme/widgets created:>=")
    assert (asked[0]["sort"], asked[0]["order"], asked[0]["per_page"]) == ("created", "asc", "100")
    three_days_ago = datetime.now(timezone.utc) - timedelta(days=3)
    assert abs((created_bound(asked[0]["q"]) - three_days_ago).total_seconds()) < 30
    headers = server.hits(SEARCH)[0].headers
    assert headers["accept"] == "application/vnd.github+json" and "authorization" not in headers
    listed = query(server.hits(COMMENTS)[0].path)
    assert (listed["sort"], listed["direction"], listed["page"]) == ("created", "asc", "1")

    got = items("gh")
    issue = got["https://github.com/acme/widgets/issues/5"]
    assert issue["title"] == "Widget crashes on start <script>"  # plain text as written, escaped on display
    assert issue["text"] == "Steps: 1. `acme run` 2. crash <b>boom</b>"
    assert issue["author"] == "jdoe" and issue["published_at"] == "2025-01-10T12:00:00Z"
    assert issue["extra"] == {"number": "5", "repo": "acme/widgets", "kind": "issue", "labels": ["bug"],
                              "counts": {"reactions": 4, "comments": 3}}
    assert issue["reach"] == 7
    assert got["https://github.com/acme/widgets/pull/6"]["extra"]["kind"] == "pull_request"
    comment = got["https://github.com/acme/widgets/issues/5#issuecomment-9001"]
    assert comment["in_reply_to"] == "https://github.com/acme/widgets/issues/5"
    assert comment["author"] == "acme-alice"
    assert got["https://github.com/acme/widgets/pull/6#issuecomment-9002"]["in_reply_to"] == \
        "https://github.com/acme/widgets/pull/6"
    assert cursor("gh") | {"query": None} == {"query": None, "created": "2025-01-10T13:00:00Z",
                                              "comments": "2025-01-10T12:50:00Z"}


def test_second_pull_asks_only_for_newer_issues_and_comments(server, cli, write_config):
    server.add(SEARCH, handler=search_router((lambda q: "2025-01-10T12:55:00Z" in q.get("q", ""),
                                              Answer(fixture("github", "search_newer.json")))))
    server.add(COMMENTS, handler=comments_router(({"since": "2025-01-10T12:45:00Z"},
                                                  Answer(fixture("github", "comments_empty.json")))))
    write_config(config(server))
    pull_json(cli)
    before = len(server.requests)
    result = pull_json(cli)
    assert result["totals"]["new"] == 1
    second = [query(r.path) for r in server.requests[before:]]
    assert second[0]["q"] == "acme repo:acme/widgets created:>=2025-01-10T12:55:00Z"  # newest less 5 minutes
    assert second[1]["since"] == "2025-01-10T12:45:00Z"
    assert len(second) == 2
    assert any("incomplete results" in w for w in warnings_of(result, "gh"))
    assert cursor("gh")["created"] == "2025-01-11T08:00:00Z"
    assert cursor("gh")["comments"] == "2025-01-10T12:50:00Z"  # kept: nothing newer


def test_token_is_sent_as_a_header_and_never_shown(server, cli, write_config, monkeypatch):
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    server.add(SEARCH, handler=Router([], default=Answer(fixture("github", "validation_failed.json"), 422)))
    server.add("/ok" + SEARCH, handler=Router([], default=Answer(fixture("github", "search_empty.json"))))
    write_config({"sources": [config(server, token_env="GH_TOKEN", comments=False)["sources"][0],
                              {**config(server, token_env="GH_TOKEN")["sources"][0], "name": "ok",
                               "api_url": server.base + "/ok", "repo": None}]})
    result = cli("--verbose", "pull")
    assert result.exit_code == 1
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.requests)
    assert "HTTP 422 Unprocessable Entity: Validation Failed: The listed users and repositories" in result.stderr
    outputs = [result.stdout, result.stderr, cli("sources", "--format", "json").stdout,
               cli("items", "--format", "json").stdout]
    assert all(TOKEN not in text for text in outputs)
    assert TOKEN.encode() not in database_bytes()
    assert not server.hits(COMMENTS)  # comments: false


def test_spent_rate_limit_is_waited_out(server, cli, write_config, sleeps):
    reset = str(int(time.time()) + 2)
    limited = Answer(fixture("github", "rate_limited.json"), 403,
                     {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
    server.add(SEARCH, handler=Router([({}, [limited, Answer(fixture("github", "search_empty.json"))])]))
    write_config(config(server, repo=None))
    result = pull_json(cli)
    waits = [s for s in sleeps if s > 0]
    assert len(waits) == 1 and 0 < waits[0] <= 2, sleeps  # until X-RateLimit-Reset, at most 2s away
    assert len(server.hits(SEARCH)) == 2
    assert any(w.startswith("waited") and "GitHub rate limit" in w for w in warnings_of(result, "gh"))


def test_long_rate_limit_stops_and_is_remembered(server, cli, write_config):
    reset = str(int(time.time()) + 3600)
    server.add(SEARCH, handler=Router([], default=Answer(
        fixture("github", "rate_limited.json"), 403,
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})))
    server.add(COMMENTS, handler=comments_router())
    write_config(config(server))
    result = pull_json(cli)
    assert source_result(result, "gh")["status"] == "ok"
    assert any("asked to wait" in w for w in warnings_of(result, "gh"))
    assert not server.hits(COMMENTS)
    assert cursor("gh")["not_before"] >= datetime.fromtimestamp(int(reset), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    pull_json(cli)
    assert len(server.hits(SEARCH)) == 1


def test_secondary_rate_limit_retry_after_and_plain_forbidden(server, cli, write_config):
    server.add(SEARCH, handler=Router([({}, [Answer(b'{"message": "You have exceeded a secondary rate limit"}', 403,
                                                    {"Retry-After": "1"}),
                                             Answer(fixture("github", "search_empty.json"))])]))
    server.add("/no" + SEARCH, handler=Router([], default=Answer(fixture("github", "forbidden.json"), 403)))
    write_config({"sources": [config(server, repo=None)["sources"][0],
                              {**config(server, repo=None)["sources"][0], "name": "no", "api_url": server.base + "/no"}]})
    result = cli("pull", "--format", "json")
    assert result.exit_code == 1
    assert len(server.hits(SEARCH)) == 2
    assert "HTTP 403 Forbidden: Resource not accessible by integration" in result.stderr


def test_config_validation(cli, write_config):
    write_config({"sources": [{"name": "g1", "type": "github"},
                              {"name": "g2", "type": "github", "repo": "not a repo", "comments": "yes"},
                              {"name": "g3", "type": "github", "query": "x", "comments": True}]})
    text = (lambda r: r.stdout + r.stderr)(cli("check"))
    assert "sources[0].query: give a search query, a repo (owner/name), or both" in text
    assert "sources[1].repo: expected owner/name" in text and "sources[1].comments: expected true or false" in text
    assert "sources[2].comments: needs `repo`" in text
