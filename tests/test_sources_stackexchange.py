"""type: stackexchange — /search/advanced played from fixture files."""

from __future__ import annotations

import json
import time
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

PATH = "/search/advanced"
TOKEN = "se-access-token-abcdef(("


def config(server: Any, **extra: Any) -> dict[str, Any]:
    return {"sources": [{"name": "so", "type": "stackexchange", "api_url": server.base, "site": "stackoverflow",
                         "query": "acme", **extra}]}


def with_fields(name: str, **fields: Any) -> bytes:
    return json.dumps({**json.loads(fixture("stackexchange", name)), **fields}).encode()


def pages(first: bytes | None = None, second: bytes | None = None, *extra: tuple[Any, Answer]) -> Router:
    return Router([*extra,
                   ({"page": "1"}, Answer(first or fixture("stackexchange", "page1.json"))),
                   ({"page": "2"}, Answer(second or fixture("stackexchange", "page2.json")))])


def test_first_pull_asks_oldest_first_from_the_backfill(server, cli, write_config):
    server.add(PATH, handler=pages())
    write_config(config(server, tagged=["python", "acme"], key="public-app-key"))
    result = pull_json(cli)
    assert result["totals"]["new"] == 3
    asked = [query(r.path) for r in server.hits(PATH)]
    assert [q["page"] for q in asked] == ["1", "2"]
    first = asked[0]
    assert {k: first[k] for k in ("site", "sort", "order", "pagesize", "filter", "q", "tagged", "key")} == {
        "site": "stackoverflow", "sort": "creation", "order": "asc", "pagesize": "100", "filter": "withbody",
        "q": "acme", "tagged": "python;acme", "key": "public-app-key"}
    assert abs(int(first["fromdate"]) - (time.time() - 3 * 86400)) < 30

    got = items("so")
    question = got["79000001"]
    assert question["title"] == "Why does acme's widget API return 500?"
    assert question["text"] == "Calling widgets.list() fails & I get a 500."
    assert question["author"] == "Jane Dev" and question["extra"]["author_id"] == "123"
    assert question["url"] == "https://stackoverflow.com/questions/79000001/why"
    assert question["published_at"] == "2025-01-10T12:00:00Z"
    assert cursor("so")["creation_date"] == 1736514000


def test_second_pull_asks_only_for_newer_questions(server, cli, write_config):
    server.add(PATH, handler=pages(None, None, ({"fromdate": str(1736514000 - 300)},
                                                Answer(fixture("stackexchange", "newer.json")))))
    write_config(config(server))
    pull_json(cli)
    before = len(server.requests)
    result = pull_json(cli)
    assert result["totals"]["new"] == 1
    second = [query(r.path) for r in server.requests[before:]]
    assert [(q["fromdate"], q["page"]) for q in second] == [(str(1736514000 - 300), "1")]
    assert cursor("so")["creation_date"] == 1736582400


def test_backoff_is_waited_between_pages_and_remembered_at_the_end(server, cli, write_config, sleeps):
    server.add(PATH, handler=pages(with_fields("page1.json", backoff=1), with_fields("page2.json", backoff=120)))
    write_config(config(server))
    result = pull_json(cli)
    assert [s for s in sleeps if s > 0] == [1.0], sleeps  # page 1's backoff: 1; page 2's 120 is not slept
    assert result["totals"]["new"] == 3
    assert any(w == "waited 1s (Stack Exchange backoff)" for w in warnings_of(result, "so"))
    assert "not_before" in cursor("so")  # the last page's backoff outlives this pull
    again = pull_json(cli)
    assert len(server.hits(PATH)) == 2
    assert any("not asked" in w for w in warnings_of(again, "so"))


def test_throttle_violation_is_a_remembered_wait_not_a_failure(server, cli, write_config):
    server.add(PATH, handler=Router([], default=Answer(fixture("stackexchange", "throttle.json"), 400)))
    write_config(config(server))
    result = pull_json(cli)
    assert source_result(result, "so")["status"] == "ok" and result["totals"]["new"] == 0
    assert any("throttle_violation" in w for w in warnings_of(result, "so"))
    assert cursor("so")["not_before"] > "2025"
    pull_json(cli)
    assert len(server.hits(PATH)) == 1


def test_quota_signals(server, cli, write_config):
    server.add(PATH, handler=pages(with_fields("page1.json", quota_remaining=5, has_more=False)))
    server.add("/other" + PATH, handler=Router([], default=Answer(fixture("stackexchange", "quota_zero.json"))))
    write_config({"sources": [config(server)["sources"][0],
                              {**config(server)["sources"][0], "name": "su", "api_url": server.base + "/other"}]})
    result = pull_json(cli)
    assert any("quota nearly used up: 5 requests left" in w for w in warnings_of(result, "so"))
    assert any("daily quota used up" in w for w in warnings_of(result, "su"))
    assert "not_before" in cursor("su")


def test_error_body_is_reported(server, cli, write_config):
    server.add(PATH, handler=Router([], default=Answer(fixture("stackexchange", "bad_parameter.json"), 400)))
    write_config(config(server))
    result = cli("pull")
    assert result.exit_code == 1
    assert "HTTP 400: error 400 bad_parameter (site)" in result.stderr


def test_access_token_is_sent_but_never_shown_or_stored(server, cli, write_config, monkeypatch):
    monkeypatch.setenv("SE_TOKEN", TOKEN)
    server.add(PATH, handler=pages())
    server.add("/bad" + PATH, handler=Router([], default=Answer(fixture("stackexchange", "wrong_shape.json"))))
    write_config({"sources": [config(server, key="k", token_env="SE_TOKEN")["sources"][0],
                              {**config(server, key="k", token_env="SE_TOKEN")["sources"][0], "name": "bad",
                               "api_url": server.base + "/bad"}]})
    result = cli("pull", "--format", "json")
    assert result.exit_code == 1
    assert query(server.hits(PATH)[0].path)["access_token"] == TOKEN
    assert "expected `items` (a JSON list), got an object" in result.stderr
    assert "access_token=%2A%2A%2A" in result.stderr or "access_token=***" in result.stderr
    for text in (result.stdout, result.stderr, cli("sources").stdout, cli("items", "--format", "json").stdout):
        assert TOKEN not in text and "se-access-token" not in text
    assert b"se-access-token" not in database_bytes()


def test_config_validation(cli, write_config):
    write_config({"sources": [{"name": "so", "type": "stackexchange", "token_env": "SE_TOKEN"},
                              {"name": "so2", "type": "stackexchange", "site": "superuser", "tagged": 5}]})
    text = (lambda r: r.stdout + r.stderr)(cli("check"))
    assert "sources[0].site: is required" in text
    assert "sources[0].query: is required" in text
    assert "sources[0].key: is required with token_env" in text
    assert "sources[1].tagged: expected a tag or a list of tags" in text
