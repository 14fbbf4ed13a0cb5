"""No token ever reaches the database, a log line or any output: URLs are redacted wherever they
are shown or stored, and tokens held in the environment are only ever sent to their server."""

from __future__ import annotations

import json
import logging

import pytest
from conftest import rss
from hostiletools import FAST_FETCH, send, tree_bytes

from socialscale.text import has_secrets, redact_url

QUERY_TOKEN = "qtok-5f1e2d3c4b5a69788796"
PASSWORD = "pw-hunter2-0a9b8c7d"
ENV_TOKEN = "envtok-0123456789abcdef"


def everything(result, caplog, tmp_path) -> bytes:  # type: ignore[no-untyped-def]
    """stdout, stderr, captured log records, and every file written (the config file excepted:
    a feed URL with a key in it has nowhere else to live)."""
    files = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "socialscale.yaml")
    return result.stdout_bytes + result.stderr_bytes + caplog.text.encode() + files


def test_tokens_in_urls_never_reach_output_logs_or_the_database(server, cli, write_config, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # everything any library logs, httpx's request lines included
    server.add("/private.rss", rss([{"title": "private", "guid": "p1"}]))
    server.add("/gone.rss", status=500)
    server.add("/moved", status=301, headers={"Location": f"/private.rss?token={QUERY_TOKEN}&page=2"})
    base = server.base.replace("http://", f"http://reader:{PASSWORD}@")
    write_config({"fetch": FAST_FETCH, "sources": [
        {"name": "ok", "url": server.url(f"/private.rss?token={QUERY_TOKEN}")},
        {"name": "fails", "url": server.url(f"/gone.rss?api_key={QUERY_TOKEN}&x=1")},
        {"name": "userinfo", "url": f"{base}/gone.rss"},
        {"name": "moved", "url": server.url("/moved")},
        {"name": "refused", "url": f"http://127.0.0.1:1/feed?access_token={QUERY_TOKEN}"},
    ]})
    outputs = [cli("--verbose", "pull"), cli("pull", "--json"), cli("sources"), cli("sources", "--json"),
               cli("items", "--json"), cli("show", "1"), cli("--verbose", "pull", "--format", "csv")]
    assert outputs[0].exit_code == 1 and "error: fails:" in outputs[0].stderr
    assert any(r.path == f"/private.rss?token={QUERY_TOKEN}" for r in server.requests)  # it was really sent
    for result in outputs:
        blob = everything(result, caplog, tmp_path)
        assert QUERY_TOKEN.encode() not in blob
        assert PASSWORD.encode() not in blob
    shown = json.loads(outputs[3].stdout)
    assert {s["name"]: s["url"] for s in shown}["ok"] == server.url("/private.rss?token=***")
    errors = {s["name"]: s["error"] for s in json.loads(outputs[1].stdout)["sources"]}
    assert errors["fails"].startswith(server.url("/gone.rss?api_key=***&x=1") + ": HTTP 500")
    assert errors["userinfo"].startswith(server.url("/gone.rss") + ": HTTP 500")
    assert "access_token=***" in errors["refused"]


def test_an_api_token_from_the_environment_is_sent_but_never_shown(server, cli, write_config, tmp_path, caplog,
                                                                   monkeypatch):
    pytest.importorskip("socialscale.sources.jsonapi")
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("FORUM_TOKEN", ENV_TOKEN)
    seen: list[str] = []

    def api(handler) -> None:  # type: ignore[no-untyped-def]
        seen.append(handler.headers.get("X-Api-Key", ""))
        if "page=2" in handler.path:  # an API that echoes the token back in its error
            send(handler, json.dumps({"message": f"token {ENV_TOKEN} is not allowed here"}).encode(), 403)
            return
        send(handler, json.dumps({"data": [{"id": 1, "title": "one"}],
                                  "next": f"{server.url('/api')}?page=2"}).encode(),
             content_type="application/json")

    server.add("/api", handler=api)
    write_config({"fetch": FAST_FETCH, "sources": [
        {"name": "forum", "type": "json", "url": server.url("/api"), "items": "data", "next": "next",
         "fields": {"guid": "id", "title": "title"}, "token_env": "FORUM_TOKEN", "token_header": "X-Api-Key"}]})
    results = [cli("--verbose", "pull", "--json"), cli("sources", "--json"), cli("items", "--json")]
    assert seen and all(value == ENV_TOKEN for value in seen)
    error = json.loads(results[0].stdout)["sources"][0]["error"]
    assert "HTTP 403" in error and "token *** is not allowed here" in error
    for result in results:
        assert ENV_TOKEN.encode() not in everything(result, caplog, tmp_path)
    assert ENV_TOKEN.encode() not in tree_bytes(tmp_path)  # the token lives only in the environment


@pytest.mark.parametrize("url, shown", [
    ("https://u:p@example.com/feed?token=abc&q=acme", "https://example.com/feed?token=***&q=acme"),
    ("https://example.com/rss?apikey=1&access_token=2&sig=3&page=4", "https://example.com/rss?apikey=***&access_token=***&sig=***&page=4"),
    ("https://example.com/rss?q=acme#frag", "https://example.com/rss?q=acme"),
    ("https://example.com/plain", "https://example.com/plain"),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown
    assert has_secrets(url) == (url.split("#")[0] != shown)
