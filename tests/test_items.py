"""`items` and `show`: filters and every output format, on items pulled from a local server."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import rss


@pytest.fixture
def pulled(server, cli, write_config):
    server.add("/a", rss([
        {"title": "Refund needed", "guid": "a1", "pubDate": "Mon, 23 Nov 2026 10:00:00 GMT", "description": "broken mug"},
        {"title": "=HYPERLINK(\"http://evil\")", "guid": "a2", "pubDate": "Sun, 22 Nov 2026 10:00:00 GMT",
         "description": "+cmd|' /C calc'!A0"},
    ]))
    server.add("/b", rss([{"title": "Lovely beans", "guid": "b1", "pubDate": "Fri, 20 Nov 2026 10:00:00 GMT",
                           "author": "@bob"}]))
    write_config({"sources": [{"name": "a", "url": server.url("/a")}, {"name": "b", "url": server.url("/b")}]})
    assert cli("pull").exit_code == 0


def items_json(cli, *args):
    result = cli("items", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_json_has_the_item_fields_of_design(pulled, cli):
    data = items_json(cli)
    assert [d["guid"] for d in data] == ["a1", "a2", "b1"]  # newest first
    for key in ("id", "source", "guid", "url", "canonical_url", "title", "author", "text", "published_at",
                "first_seen_at", "updated_at", "lane", "lanes", "tags", "owner", "status", "responded_at",
                "responded_by", "response_via", "closed_at", "duplicate_of", "in_reply_to", "extra"):
        assert key in data[0]
    assert isinstance(data[0]["lanes"], list) and isinstance(data[0]["extra"], dict)


def test_filters(pulled, cli):
    assert [d["guid"] for d in items_json(cli, "--source", "b")] == ["b1"]
    assert [d["guid"] for d in items_json(cli, "--search", "refund")] == ["a1"]
    assert [d["guid"] for d in items_json(cli, "--search", "mug")] == ["a1"]  # text is indexed too
    assert [d["guid"] for d in items_json(cli, "--since", "2026-11-22T00:00:00Z")] == ["a1", "a2"]
    assert [d["guid"] for d in items_json(cli, "--until", "2026-11-22T00:00:00Z")] == ["b1"]
    assert items_json(cli, "--status", "closed") == []
    assert items_json(cli, "--status", "open") == []  # no rules: all in listening, which expects no answer
    assert len(items_json(cli, "--status", "open", "--all", "--limit", "2")) == 2
    assert items_json(cli, "--search", 'title:refund') == []  # punctuation in a search is never FTS syntax
    bad = cli("items", "--status", "done")
    assert bad.exit_code == 2 and "--status 'done'" in bad.stderr


def test_ndjson_ids_and_csv(pulled, cli):
    lines = cli("items", "--format", "ndjson").stdout.splitlines()
    assert [json.loads(line)["guid"] for line in lines] == ["a1", "a2", "b1"]
    ids = cli("items", "--format", "ids").stdout.split()
    assert ids == [str(json.loads(line)["id"]) for line in lines]
    table = list(csv.DictReader(io.StringIO(cli("items", "--format", "csv").stdout)))
    assert [r["guid"] for r in table] == ["a1", "a2", "b1"]
    evil = next(r for r in table if r["guid"] == "a2")
    assert evil["title"] == "'=HYPERLINK(\"http://evil\")"  # formula guarded
    assert evil["text"].startswith("'+cmd")
    assert next(r for r in table if r["guid"] == "b1")["author"] == "'@bob"


def test_table_and_show(pulled, cli):
    result = cli("items")
    assert result.exit_code == 0
    assert "Refund needed" in result.stdout and "Lovely beans" in result.stdout
    item_id = items_json(cli, "--search", "refund")[0]["id"]
    shown = cli("show", str(item_id))
    assert shown.exit_code == 0
    assert "Refund needed" in shown.stdout and "broken mug" in shown.stdout and "created" in shown.stdout
    data = json.loads(cli("show", str(item_id), "--json").stdout)
    assert data["guid"] == "a1" and data["events"][0]["kind"] == "created"
    missing = cli("show", "999")
    assert missing.exit_code == 2 and "no item with id 999" in missing.stderr


def test_table_limit_is_announced(server, cli, write_config):
    server.add("/many", rss([{"title": f"t{i}", "guid": str(i)} for i in range(60)]))
    write_config({"sources": [{"name": "m", "url": server.url("/many")}]})
    cli("pull")
    result = cli("items")
    assert "showing 50 of 60" in result.stderr
    assert len(items_json(cli)) == 60


def test_an_empty_listing_says_why(cli, write_config, server, pulled):
    result = cli("items", "--search", "nothing-like-this")
    assert result.exit_code == 0 and result.stdout == ""
    assert "no items match these filters" in result.stderr
    assert cli("items", "--search", "nothing-like-this", "--json").stdout.strip() == "[]"
