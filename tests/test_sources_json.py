"""type: json — a generic JSON endpoint mapped by dotted paths, played from fixture files."""

from __future__ import annotations

from typing import Any

from apitools import Answer, Router, cursor, database_bytes, fixture, items, pull_json, query, warnings_of

POSTS = "/api/posts"
FIELDS = {"guid": "id", "url": "link", "title": "subject", "author": "user.name", "text": "body_html",
          "published_at": "created", "in_reply_to": "reply_to"}
TOKEN = "json-api-key-0987654321"


def config(server: Any, **extra: Any) -> dict[str, Any]:
    return {"sources": [{"name": "forum", "type": "json", "url": server.url(POSTS), "items": "data.posts",
                         "fields": FIELDS, "next": "paging.next", "backfill": "3650d", **extra}]}


def posts_router(*extra: tuple[Any, Answer]) -> Router:
    return Router([*extra, ({"page": "2"}, Answer(fixture("json", "page2.json"))),
                   (lambda q: not q, Answer(fixture("json", "page1.json")))])


def test_items_fields_and_next_url_paging(server, cli, write_config):
    server.add(POSTS, handler=posts_router())
    write_config(config(server))
    result = pull_json(cli)
    assert result["totals"]["new"] == 3
    assert [query(r.path) for r in server.hits(POSTS)] == [{}, {"page": "2"}]
    got = items("forum")
    jane = got["11"]
    assert jane["title"] == "Acme refund?" and jane["author"] == "Jane"
    assert jane["text"] == "My widget is broken & I want a refund."
    assert jane["published_at"] == "2025-01-10T12:00:00Z"  # +01:00 converted to UTC
    assert jane["url"] == "https://forum.example/t/11"
    assert got["12"]["published_at"] == "2025-01-10T12:30:00Z"  # unix seconds
    assert got["10"]["published_at"] == "2025-01-09T11:00:00Z"  # unix milliseconds
    assert got["12"]["in_reply_to"] == "https://forum.example/t/11"
    assert cursor("forum")["newest"] == "2025-01-10T12:30:00Z"


def test_second_pull_sends_since_and_stops_at_known_items(server, cli, write_config):
    server.add(POSTS, handler=posts_router((lambda q: "since" in q and "page" not in q,
                                            Answer(fixture("json", "newer.json")))))
    write_config(config(server, since_param="since"))
    pull_json(cli)
    assert "since" not in query(server.hits(POSTS)[0].path)  # a first pull has nothing to send
    before = len(server.requests)
    result = pull_json(cli)
    assert result["totals"]["new"] == 1
    second = [query(r.path) for r in server.requests[before:]]
    assert second[0] == {"since": "2025-01-10T12:25:00Z"}
    assert second[1:] == [{"page": "2", "since": "x"}]  # the next page held nothing newer: stop there
    assert cursor("forum")["newest"] == "2025-01-11T08:00:00Z"


def test_since_as_unix_seconds(server, cli, write_config):
    server.add(POSTS, handler=posts_router((lambda q: "after" in q, Answer(fixture("json", "page2.json")))))
    write_config(config(server, since_param="after", since_format="unix"))
    pull_json(cli)
    pull_json(cli)
    assert query(server.requests[-1].path) == {"after": str(1736512200 - 300)}


def test_cursor_token_paging_and_top_level_lists(server, cli, write_config):
    server.add("/api/search", handler=Router([({"next": "c2"}, Answer(fixture("json", "token_page2.json"))),
                                              ({}, Answer(fixture("json", "token_page1.json")))]))
    server.add("/api/top", handler=Router([], default=Answer(fixture("json", "toplevel.json"))))
    write_config({"sources": [
        {"name": "search", "type": "json", "url": server.url("/api/search?q=acme"), "items": "results",
         "fields": FIELDS, "next": "next_cursor", "next_param": "next", "backfill": "3650d"},
        {"name": "top", "type": "json", "url": server.url("/api/top"), "fields": {"guid": "id", "title": "subject"}}]})
    result = pull_json(cli)
    assert result["totals"]["new"] == 3
    assert [query(r.path) for r in server.hits("/api/search")] == [{"q": "acme"}, {"q": "acme", "next": "c2"}]
    assert set(items("search")) == {"20", "21"} and set(items("top")) == {"41"}


def test_next_page_on_another_host_is_not_followed(server, cli, write_config):
    server.add(POSTS, handler=Router([], default=Answer(fixture("json", "offsite.json"))))
    write_config(config(server))
    result = pull_json(cli)
    assert result["totals"]["new"] == 1
    assert any("not following the next page on another host" in w for w in warnings_of(result, "forum"))


def test_token_header_and_error_body(server, cli, write_config, monkeypatch):
    monkeypatch.setenv("FORUM_KEY", TOKEN)
    server.add(POSTS, handler=Router([], default=Answer(fixture("json", "unauthorized.json"), 401)))
    write_config(config(server, token_env="FORUM_KEY", token_header="X-Api-Key"))
    result = cli("pull")
    assert result.exit_code == 1
    assert server.hits(POSTS)[0].headers["x-api-key"] == TOKEN
    assert "HTTP 401 Unauthorized: API key missing or invalid" in result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert TOKEN.encode() not in database_bytes()


def test_wrong_shapes_are_clean_errors(server, cli, write_config):
    server.add(POSTS, handler=Router([], default=Answer(fixture("json", "wrong_shape.json"))))
    server.add("/api/p2", handler=Router([], default=Answer(fixture("json", "page2.json"))))
    write_config({"sources": [config(server)["sources"][0],
                              {**config(server)["sources"][0], "name": "nested", "url": server.url("/api/p2"),
                               "fields": {"guid": "id", "author": "user"}}]})
    result = cli("pull")
    assert result.exit_code == 1
    assert "expected a list at `items: data.posts` (a JSON list), got an object" in result.stderr
    assert "fields.author (user) points at an object, not a value" in result.stderr


def test_api_url_replaces_the_origin(server, cli, write_config):
    server.add(POSTS, handler=posts_router())
    server.add("/mirror" + POSTS, handler=posts_router())
    source = {"type": "json", "url": "https://forum.example/api/posts", "items": "data.posts", "fields": FIELDS,
              "backfill": "3650d"}
    write_config({"sources": [{**source, "name": "forum", "api_url": server.base},
                              # api_url's own path goes in front of url's path (docs/sources.md)
                              {**source, "name": "mirror", "api_url": server.url("/mirror")}]})
    result = pull_json(cli)
    assert result["totals"]["new"] == 4
    assert [query(r.path) for r in server.hits(POSTS)] == [{}]
    assert [query(r.path) for r in server.hits("/mirror" + POSTS)] == [{}]
    for name in ("forum", "mirror"):
        got = items(name)
        assert set(got) == {"11", "12"}
        # Only where the calls go changes: the items keep the links the API gave.
        assert got["11"]["url"] == "https://forum.example/t/11"


def test_config_validation(cli, write_config):
    write_config({"sources": [{"name": "j1", "type": "json"},
                              {"name": "j2", "type": "json", "url": "https://x.example/a",
                               "fields": {"titel": "t", "guid": ["x"]}, "token_header": "X Bad",
                               "since_format": "rfc"}]})
    text = (lambda r: r.stdout + r.stderr)(cli("check"))
    assert "sources[0].url: is required for a json source" in text
    assert "sources[0].fields: is required" in text
    assert "sources[1].fields.titel: unknown field" in text
    assert "sources[1].fields.guid: expected a dotted path" in text
    assert "sources[1].token_header" in text and "sources[1].since_format" in text
