"""type: mastodon — an instance's REST API played from fixture files."""

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

TAG = "/api/v1/timelines/tag/acme"
OLDEST_ON_PAGE1 = "113000000000000001"
NEWEST = "113000000000000040"
TOKEN = "mastodon-secret-token-123456"


def link(**rels: str) -> dict[str, str]:
    # Links name the real instance: ids are read from them, the host never followed.
    parts = [f'<https://mastodon.example{TAG}?{key}={value}>; rel="{rel}"'
             for rel, (key, value) in ((r, v.split("=", 1)) for r, v in rels.items())]
    return {"Link": ", ".join(parts)}


def tag_router(*extra: tuple[Any, Answer]) -> Router:
    return Router([*extra,
                   ({"max_id": OLDEST_ON_PAGE1}, Answer(fixture("mastodon", "tag_page2.json"))),
                   (lambda q: "max_id" not in q and "min_id" not in q,
                    Answer(fixture("mastodon", "tag_page1.json"),
                           headers=link(next=f"max_id={OLDEST_ON_PAGE1}", prev=f"min_id={NEWEST}")))])


def config(server: Any, **extra: Any) -> dict[str, Any]:
    source = {"name": "md", "type": "mastodon", "instance": "https://mastodon.example", "api_url": server.base,
              "tag": "acme", "backfill": "3650d"}
    return {"sources": [{**source, **extra}]}


def test_tag_timeline_first_pull_follows_link_ids_on_our_own_base(server, cli, write_config):
    server.add(TAG, handler=tag_router())
    write_config(config(server))
    result = pull_json(cli)
    assert result["totals"]["new"] == 41
    assert [query(r.path) for r in server.hits(TAG)] == [{"limit": "40"}, {"limit": "40", "max_id": OLDEST_ON_PAGE1}]
    assert "authorization" not in server.hits(TAG)[0].headers  # public timeline: no token

    got = items("md")
    first = got[f"mastodon.example:{NEWEST}"]
    assert first["author"] == "@jane@social.example"
    assert first["text"] == "My #acme order is broken. Can I get a refund?"
    assert first["url"] == f"https://social.example/@jane/{NEWEST}"
    assert first["published_at"] == "2025-01-10T11:40:00Z"
    assert first["extra"]["uri"].startswith("https://social.example/users/jane/statuses/")
    reply = got["mastodon.example:113000000000000039"]
    assert reply["author"] == "@alice@mastodon.example"  # a local account gets the instance's host
    assert reply["in_reply_to"] == "mastodon.example:113000000000000038"
    assert reply["text"] == "@jane so sorry, DM us please"
    assert got["mastodon.example:113000000000000038"]["title"] == "acme outage"  # the content warning
    assert cursor("md")["min_id"] == NEWEST


def test_second_pull_asks_with_min_id_only(server, cli, write_config):
    server.add(TAG, handler=tag_router(({"min_id": NEWEST}, Answer(fixture("mastodon", "tag_newer.json")))))
    write_config(config(server))
    pull_json(cli)
    before = len(server.requests)
    result = pull_json(cli)
    assert result["totals"]["new"] == 1
    assert [query(r.path) for r in server.requests[before:]] == [{"limit": "40", "min_id": NEWEST}]
    assert cursor("md")["min_id"] == "113000000000000041"


def test_backfill_stops_paging_back(server, cli, write_config):
    server.add(TAG, handler=tag_router())
    boundary = datetime(2025, 1, 10, 11, 2, tzinfo=timezone.utc)  # statuses are 4 minutes apart up to 11:40
    write_config(config(server, backfill=f"{int(time.time() - boundary.timestamp())}s"))
    result = pull_json(cli)
    assert result["totals"]["new"] == 10  # 11:04 ... 11:40
    assert len(server.hits(TAG)) == 1


def test_account_is_looked_up_once_and_the_token_stays_secret(server, cli, write_config, monkeypatch):
    monkeypatch.setenv("MD_TOKEN", TOKEN)
    server.add("/api/v1/accounts/lookup", handler=Router([({"acct": "alice"}, Answer(fixture("mastodon", "lookup.json")))]))
    server.add("/api/v1/accounts/109/statuses", handler=Router([], default=Answer(fixture("mastodon", "account_statuses.json"))))
    write_config(config(server, tag=None, account="@alice", token_env="MD_TOKEN"))
    first = cli("pull", "--format", "json")
    second = cli("--verbose", "pull")
    assert first.exit_code == 0 and second.exit_code == 0
    assert len(server.hits("/api/v1/accounts/lookup")) == 1
    statuses = server.hits("/api/v1/accounts/109/statuses")
    assert query(statuses[0].path) == {"limit": "40", "exclude_reblogs": "true"}
    assert query(statuses[1].path)["min_id"] == "113000000000000039"
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.requests)
    assert cursor("md")["account_id"] == "109"
    for output in (first.stdout, first.stderr, second.stdout, second.stderr):
        assert TOKEN not in output
    assert TOKEN.encode() not in database_bytes()


def test_notifications_need_the_token_variable(server, cli, write_config, monkeypatch):
    monkeypatch.delenv("MD_TOKEN", raising=False)
    server.add("/api/v1/notifications", handler=Router([], default=Answer(fixture("mastodon", "notifications.json"))))
    write_config(config(server, tag=None, notifications=True, token_env="MD_TOKEN"))
    result = cli("pull")
    assert result.exit_code == 1
    assert "md: environment variable MD_TOKEN (token_env) is not set or empty" in result.stderr
    assert not server.hits("/api/v1/notifications")

    monkeypatch.setenv("MD_TOKEN", TOKEN)
    result = pull_json(cli)
    assert result["totals"]["new"] == 2
    assert query(server.hits("/api/v1/notifications")[0].path) == {"limit": "40", "types[]": "mention"}
    assert cursor("md")["min_id"] == "5001"  # notification ids page notifications


def test_search_reads_the_statuses_of_v2_search(server, cli, write_config, monkeypatch):
    monkeypatch.setenv("MD_TOKEN", TOKEN)
    server.add("/api/v2/search", handler=Router([], default=Answer(fixture("mastodon", "search.json"))))
    write_config(config(server, tag=None, search="acme refund", token_env="MD_TOKEN"))
    pull_json(cli)
    asked = query(server.hits("/api/v2/search")[0].path)
    assert asked["q"] == "acme refund" and asked["type"] == "statuses"
    assert set(items("md")) == {f"mastodon.example:{NEWEST}"}


def test_rate_limit_headers_are_honoured(server, cli, write_config):
    reset = (datetime.now(timezone.utc) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    server.add(TAG, handler=tag_router(
        (lambda q: "max_id" not in q, Answer(fixture("mastodon", "tag_page1.json"),
                                             headers={**link(next=f"max_id={OLDEST_ON_PAGE1}"),
                                                      "X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                                                      "X-RateLimit-Reset": reset}))))
    write_config(config(server))
    result = pull_json(cli)
    assert result["totals"]["new"] == 41
    assert any("Mastodon rate limit" in w and w.startswith("waited") for w in warnings_of(result, "md"))


def test_errors_are_reported_with_the_api_message(server, cli, write_config, monkeypatch):
    monkeypatch.setenv("MD_TOKEN", TOKEN)
    server.add("/api/v1/notifications", handler=Router([], default=Answer(fixture("mastodon", "error_token.json"), 401)))
    server.add(TAG, handler=Router([], default=Answer(fixture("mastodon", "not_a_list.json"))))
    write_config({"sources": [
        config(server, tag=None, notifications=True, token_env="MD_TOKEN")["sources"][0],
        {**config(server)["sources"][0], "name": "md-tag"}]})
    result = cli("pull", "--format", "json")
    assert result.exit_code == 1
    assert "HTTP 401 Unauthorized: The access token is invalid" in result.stderr
    assert "expected a list of statuses (a JSON list), got an object" in result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_config_validation(cli, write_config):
    write_config({"sources": [
        {"name": "a", "type": "mastodon", "tag": "acme"},
        {"name": "b", "type": "mastodon", "instance": "https://m.example", "tag": "x", "account": "y"},
        {"name": "c", "type": "mastodon", "instance": "https://m.example", "search": "x"},
        {"name": "d", "type": "mastodon", "instance": "https://m.example", "tag": "x", "token_env": "ghp_abc-123!"}]})
    result = cli("check")
    text = result.stdout + result.stderr
    assert result.exit_code == 2
    assert "sources[0].instance: is required" in text
    assert "give exactly one of tag, account, search, notifications (got tag, account)" in text
    assert "sources[2].token_env: is required for `search`" in text
    assert "sources[3].token_env: expected the NAME of an environment variable" in text
    assert "ghp_abc-123!" not in text  # a pasted token is never echoed


def test_status_of_a_source_with_an_unset_token_is_error_not_crash(server, cli, write_config, monkeypatch):
    monkeypatch.delenv("MD_TOKEN", raising=False)
    server.add(TAG, handler=tag_router())
    write_config({"sources": [config(server, token_env="MD_TOKEN")["sources"][0],
                              {**config(server)["sources"][0], "name": "public"}]})
    result = pull_json(cli, exit_code=1)
    assert source_result(result, "md")["status"] == "error"
    assert source_result(result, "public")["new"] == 41
