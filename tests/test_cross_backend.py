"""One scenario on SQLite and on PostgreSQL: the same pull, the same workflow at fixed times, and every
report, listing and explanation printed as the same JSON (and the same HTML report) on both."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from conftest import rss

from socialscale import timeutil

NOW = "2024-03-06T12:00:00Z"
PULLED = datetime(2024, 3, 6, 9, 0, tzinfo=timezone.utc)


def _feeds(server: Any) -> tuple[str, str]:
    blog = rss([
        {"title": "Refund please, the grinder is broken", "link": "https://example.com/p/1", "guid": "b1",
         "description": "It doesn't work after two days.", "pubDate": "Tue, 05 Mar 2024 08:00:00 GMT"},
        {"title": "Looking for an alternative to BigBean", "link": "https://example.com/p/2?utm_source=x",
         "guid": "b2", "description": "Need a quote for 40 cafés.", "pubDate": "Mon, 04 Mar 2024 16:30:00 GMT"},
        {"title": "Lovely beans", "link": "https://example.com/p/3", "guid": "b3",
         "description": "Just saying: 100% arabica, naïve café crème.", "pubDate": "Sun, 03 Mar 2024 10:00:00 GMT"},
        {"title": "Broken box again", "link": "https://example.com/p/4", "guid": "b4",
         "description": "Refund? <b>now</b>", "pubDate": "Wed, 06 Mar 2024 07:15:00 GMT"},
        {"title": "Invoice question", "link": "https://example.com/p/5", "guid": "b5",
         "description": "Our invoice 'INV-7' is wrong", "pubDate": "Fri, 01 Mar 2024 11:00:00 GMT"},
        {"title": "No date here, broken", "link": "https://example.com/p/6", "guid": "b6",
         "description": "refund"},
    ])
    forum = rss([
        {"title": "Same post, seen on the forum", "link": "https://EXAMPLE.com/p/1#comments", "guid": "f1",
         "description": "It doesn't work after two days.", "pubDate": "Tue, 05 Mar 2024 08:05:00 GMT"},
        {"title": "Alternative to Acme?", "link": "https://forum.example.com/t/9", "guid": "f2",
         "description": "looking for a quote", "pubDate": "Thu, 29 Feb 2024 09:00:00 GMT"},
        {"title": "Acme is great", "link": "https://forum.example.com/t/10", "guid": "f3",
         "description": "no complaints", "pubDate": "Tue, 05 Mar 2024 13:45:00 GMT"},
    ])
    return server.add("/blog.xml", blog), server.add("/forum.xml", forum)


def _config(database: str, blog: str, forum: str) -> dict[str, Any]:
    return {
        "database": database,
        "timezone": "Europe/London",
        "team": {"alice": {}, "bob": {}},
        "business_hours": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:30"},
        "lanes": {"listening": {"respond": False}, "customer_service": {"sla": "2h", "owner": "alice"},
                  "client_relations": {"sla": "4h"}, "sales_prospecting": {"sla": "1d", "owner": "bob"}},
        "sources": [{"name": "blog", "type": "feed", "url": blog}, {"name": "forum", "type": "feed", "url": forum}],
        "rules": [
            {"name": "complaints", "lane": "customer_service", "any": ["refund", "broken", "doesn't work"],
             "tags": ["complaint"]},
            {"name": "leads", "lane": "sales_prospecting", "any": ["looking for", "alternative to"], "tags": ["lead"]},
            {"name": "invoices", "lane": "client_relations", "any": ["invoice"]},
        ],
    }


def _scenario(cli: Any, write_config: Any, server: Any, database: str, clock: list[datetime]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    clock[0] = PULLED

    def run(*args: str, parse: bool = True) -> Any:
        result = cli(*args)
        assert result.exit_code in (0, 3), (args, result.stdout, result.stderr)
        return json.loads(result.stdout) if parse else result.stdout

    blog, forum = _feeds(server)
    write_config(_config(database, blog, forum))
    # One source at a time: sources pulled together are stored in the order their fetches finish,
    # and the ids compared below would follow it.
    for name in ("blog", "forum"):
        out[f"pull {name}"] = run("pull", name, "--format", "json")
        for entry in out[f"pull {name}"]["sources"]:
            entry.pop("duration_ms")  # wall-clock time of the fetch itself
    ids = {item["guid"]: str(item["id"]) for item in run("items", "--all", "--format", "json")}
    clock[0] = datetime(2024, 3, 6, 12, 0, tzinfo=timezone.utc)  # the workflow happens later that morning
    at = "2024-03-0"
    for args in (
        ("assign", ids["b1"], ids["b4"], "--to", "bob", "--at", at + "6T09:10:00Z"),
        ("respond", ids["b1"], "--at", at + "6T09:30:00Z", "--by", "bob"),
        ("respond", ids["b2"], "--at", at + "5T10:00:00Z", "--by", "bob", "--via", "email"),
        ("respond", ids["f2"], "--at", at + "6T10:00:00Z", "--by", "alice", "--note", "called them"),
        ("respond", ids["b5"], "--at", at + "4T09:15:00Z", "--by", "alice", "--via", "meeting"),
        ("close", ids["b5"], "--at", at + "4T10:00:00Z"),
        ("ignore", ids["b3"], "--at", at + "6T09:40:00Z"),
        ("note", ids["b4"], "naïve 'quotes' and 100% <b>"),
        ("reopen", ids["b5"], "--at", at + "6T11:00:00Z"),
    ):
        result = cli(*args, "--json") if args[0] != "note" else cli(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        out[" ".join(args[:1] + args[2:3])] = result.stdout
    out["items"] = run("items", "--all", "--format", "json")
    out["items open"] = run("items", "--status", "open", "--format", "json")
    out["search"] = run("items", "--all", "--search", "refund broken", "--format", "json")
    out["search punctuation"] = run("items", "--all", "--search", "doesn't", "--format", "json")
    out["search phrase"] = run("items", "--all", "--search", "alternative-to", "--format", "json")
    out["sources"] = run("sources", "--format", "json")
    for item_id in ids.values():
        out[f"show {item_id}"] = run("show", item_id, "--json")
        out[f"why {item_id}"] = run("why", item_id, "--all", "--json")
    for by in ("lane", "owner", "source"):
        out[f"backlog {by}"] = run("report", "backlog", "--by", by, "--now", NOW, "--format", "json")
    for by in ("lane", "owner", "source", "week"):
        out[f"latency {by}"] = run("report", "latency", "--by", by, "--since", "14d", "--now", NOW,
                                   "--format", "json")
        out[f"latency {by} business"] = run("report", "latency", "--by", by, "--since", "14d", "--now", NOW,
                                            "--business-hours", "--format", "json")
    # PostgreSQL reads weeks through a LATERAL subquery that carries the filters (store/reports.py)
    out["latency week filtered"] = run("report", "latency", "--by", "week", "--since", "14d", "--lane",
                                       "customer_service", "--now", NOW, "--format", "json")
    out["breaches"] = run("report", "breaches", "--now", NOW, "--format", "json")
    for by in ("day", "week"):
        out[f"volume {by}"] = run("report", "volume", "--by", by, "--since", "14d", "--now", NOW, "--format", "json")
    out["summary"] = run("report", "summary", "--now", NOW, "--format", "json")
    out["summary csv"] = run("report", "backlog", "--now", NOW, "--format", "csv", parse=False)
    out["rules list"] = run("rules", "list", "--json")
    out["tag --all"] = run("tag", "--all", "--dry-run", "--json")
    html = cli("report", "html", "-o", "report.html", "--now", NOW)
    assert html.exit_code == 0, html.stderr
    out["html"] = open("report.html", encoding="utf-8").read()
    return out


def test_the_same_scenario_gives_the_same_json_on_sqlite_and_postgresql(cli, write_config, server, pg_url,
                                                                         tmp_path, monkeypatch):
    clock = [PULLED]
    monkeypatch.setattr(timeutil, "now_utc", lambda: clock[0])
    monkeypatch.setenv("SOCIALSCALE_USER", "alice")
    on_sqlite = _scenario(cli, write_config, server, str(tmp_path / "test.db"), clock)
    on_postgres = _scenario(cli, write_config, server, pg_url, clock)
    assert on_sqlite.keys() == on_postgres.keys()
    for key in on_sqlite:
        assert on_postgres[key] == on_sqlite[key], key
    # The scenario is not vacuous: it answered, breached, deduplicated, searched and explained.
    assert on_sqlite["latency lane"]["total"]["responded"] >= 3
    assert on_sqlite["latency week filtered"]["total"]["responded"] >= 1
    assert on_sqlite["backlog lane"]["total"]["breached"] >= 1
    assert any(item["duplicate_of"] for item in on_sqlite["items"])
    assert {item["guid"] for item in on_sqlite["search"]} == {"b1", "b4", "b6"}
    assert {item["guid"] for item in on_sqlite["search punctuation"]} == {"b1", "f1"}
    assert {item["guid"] for item in on_sqlite["search phrase"]} == {"b2", "f2"}


SEARCHES = ["café", "CAFÉS", "100%", "'INV-7'", "inv 7", "\"quote\"", "x:y", "example.com",
            "p/2", "doesn't work", "NEAR(a b)", "refund^2"]
MALFORMED = ["AND OR NOT", "*", "-"]  # the search language refuses these, on both backends alike


def test_search_words_mean_the_same_on_both_backends(cli, write_config, server, pg_url, tmp_path, monkeypatch):
    monkeypatch.setattr(timeutil, "now_utc", lambda: PULLED)
    found: list[dict[str, list[str]]] = []
    for database in (str(tmp_path / "test.db"), pg_url):
        blog, forum = _feeds(server)
        write_config(_config(database, blog, forum))
        assert cli("--quiet", "pull", "blog").exit_code == 0 and cli("--quiet", "pull", "forum").exit_code == 0
        found.append({})
        for words in SEARCHES:
            result = cli("items", "--all", "--search", words, "--format", "json")
            assert result.exit_code == 0, (words, result.stderr)
            found[-1][words] = sorted(item["guid"] for item in json.loads(result.stdout))
        for words in MALFORMED:
            result = cli("items", "--all", "--search", words, "--format", "json")
            assert result.exit_code == 2 and f"--search {words!r}" in result.stderr, (words, result.stderr)
    assert found[0] == found[1]
    # Word forms and accents match alike (stemming): CAFÉS finds what café finds.
    assert "b2" in found[0]["CAFÉS"] and found[0]["CAFÉS"] == found[0]["café"]
    assert found[0]["'INV-7'"] == found[0]["inv 7"] == ["b5"]
