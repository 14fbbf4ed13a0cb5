"""`socialscale pull` against a real HTTP server on 127.0.0.1, into a real SQLite file."""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

from conftest import rss

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title><id>urn:a</id><updated>2026-11-20T10:00:00Z</updated>
<entry><id>urn:a:1</id><title type="html">Atom &lt;b&gt;one&lt;/b&gt;</title><link href="/posts/1"/>
<updated>2026-11-20T10:00:00+02:00</updated><author><name>Ann</name></author>
<content type="html">&lt;p&gt;Hello &amp;amp; &lt;i&gt;welcome&lt;/i&gt;&lt;/p&gt;</content></entry></feed>"""
RDF = """<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://x/"><title>r</title><link>http://x/</link><description>d</description></channel>
<item rdf:about="http://x/1"><title>RDF one</title><link>http://x/1</link><dc:date>2026-11-19T08:30:00Z</dc:date></item>
</rdf:RDF>"""
JSON_FEED = {"version": "https://jsonfeed.org/version/1.1", "title": "j", "items": [
    {"id": "j1", "url": "https://example.com/j1?utm_medium=x&b=2#frag", "title": "JSON one",
     "content_html": "<p>Text <b>bold</b></p>", "date_published": "2026-11-18T12:00:00-05:00",
     "authors": [{"name": "Jo"}]},
    {"id": "j2", "content_text": "no title, no date"}]}


def rows(db: Path, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def test_each_format_is_parsed_and_normalised(server, cli, write_config, tmp_path):
    write_config({"sources": [
        {"name": "rss", "url": server.add("/rss", rss([{"title": "RSS one", "link": "http://Example.COM/r1",
                                                       "guid": "r1", "pubDate": "Tue, 17 Nov 2026 09:00:00 +0100",
                                                       "description": "&lt;p&gt;a&amp;amp;b &lt;br/&gt; c&lt;/p&gt;"}]))},
        {"name": "atom", "url": server.add("/atom", ATOM, content_type="text/plain")},  # lying Content-Type
        {"name": "rdf", "url": server.add("/rdf", RDF)},
        {"name": "json", "url": server.add("/json", json.dumps(JSON_FEED), content_type="text/html")},
    ]})
    result = cli("pull", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert {s["name"]: s["new"] for s in data["sources"]} == {"rss": 1, "atom": 1, "rdf": 1, "json": 2}
    assert data["totals"] == {"sources": 4, "ok": 4, "errors": 0, "new": 5, "updated": 0}
    db = tmp_path / "test.db"
    got = {r[0]: r[1:] for r in rows(db, "SELECT guid, title, text, url, canonical_url, author, published_at FROM items")}
    assert got["r1"] == ("RSS one", "a&b c", "http://Example.COM/r1", "http://example.com/r1", None,
                         "2026-11-17T08:00:00Z")
    assert got["urn:a:1"][:2] == ("Atom one", "Hello & welcome")
    assert got["urn:a:1"][2] == server.url("/posts/1")  # relative link resolved against the feed URL
    assert got["urn:a:1"][4:] == ("Ann", "2026-11-20T08:00:00Z")
    assert got["http://x/1"][0] == "RDF one" and got["http://x/1"][5] == "2026-11-19T08:30:00Z"
    assert got["j1"] == ("JSON one", "Text bold", "https://example.com/j1?utm_medium=x&b=2#frag",
                         "https://example.com/j1?b=2", "Jo", "2026-11-18T17:00:00Z")
    assert got["j2"][5] is None  # no date: null, never the fetch time


def test_second_pull_dedupes_and_sends_conditional_get(server, cli, write_config, tmp_path):
    url = server.add("/f", rss([{"title": "one", "guid": "g1"}, {"title": "two", "guid": "g2"}]),
                     headers={"ETag": '"v1"'})
    write_config({"sources": [{"name": "f", "url": url}]})
    assert cli("pull").exit_code == 0

    # The server now honours If-None-Match: a 304 must cost no parsing and change nothing.
    def conditional(handler):
        if handler.headers.get("If-None-Match") == '"v1"':
            handler.send_response(304)
            handler.send_header("ETag", '"v1"')
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        else:
            handler.send_response(500)
            handler.send_header("Content-Length", "0")
            handler.end_headers()

    server.add("/f", handler=conditional)
    result = cli("pull", "--json")
    assert result.exit_code == 0, result.stderr
    source = json.loads(result.stdout)["sources"][0]
    assert (source["status"], source["http_status"], source["new"], source["seen"]) == ("not_modified", 304, 0, 0)
    assert server.hits("/f")[-1].headers["if-none-match"] == '"v1"'
    assert rows(tmp_path / "test.db", "SELECT COUNT(*) FROM items") == [(2,)]


def test_changed_content_updates_but_first_seen_never_moves(server, cli, write_config, tmp_path):
    url = server.add("/f", rss([{"title": "before", "guid": "g1"}, {"title": "same", "guid": "g2"}]))
    write_config({"sources": [{"name": "f", "url": url}]})
    assert cli("pull").exit_code == 0
    db = tmp_path / "test.db"
    rows(db, "UPDATE items SET first_seen_at = '2020-01-01T00:00:00Z', updated_at = '2020-01-01T00:00:00Z'")
    server.add("/f", rss([{"title": "after", "guid": "g1"}, {"title": "same", "guid": "g2"}]))
    data = json.loads(cli("pull", "--json").stdout)
    assert (data["sources"][0]["new"], data["sources"][0]["updated"]) == (0, 1)
    got = dict((r[0], r[1:]) for r in rows(db, "SELECT guid, title, first_seen_at, updated_at FROM items"))
    assert got["g1"][0] == "after" and got["g1"][1] == "2020-01-01T00:00:00Z" and got["g1"][2] > "2020"
    assert got["g2"] == ("same", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z")
    assert rows(db, "SELECT COUNT(*) FROM items") == [(2,)]


def test_retries_5xx_and_honours_retry_after(server, cli, write_config, tmp_path):
    calls = {"n": 0}
    body = rss([{"title": "finally", "guid": "x"}]).encode()

    def flaky(handler):
        calls["n"] += 1
        if calls["n"] == 1:
            handler.send_response(503)
            handler.send_header("Retry-After", "1")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    write_config({"sources": [{"name": "flaky", "url": server.add("/flaky", handler=flaky)}]})
    result = cli("pull", "--json")
    assert result.exit_code == 0, result.stderr
    src = json.loads(result.stdout)["sources"][0]
    assert src["new"] == 1 and calls["n"] == 2
    assert any("waited 1s" in w for w in src["warnings"])


def test_one_slow_source_times_out_while_the_others_are_stored(server, cli, write_config, tmp_path):
    write_config({"fetch": {"retries": 0}, "sources": [
        {"name": "slow", "url": server.add("/slow", rss([{"title": "late", "guid": "s"}]), delay=3), "timeout": "1s"},
        {"name": "fast", "url": server.add("/fast", rss([{"title": "quick", "guid": "q"}]))},
    ]})
    result = cli("pull")
    assert result.exit_code == 1
    assert "slow:" in result.stderr and "gave up after 1s" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert rows(tmp_path / "test.db", "SELECT source FROM items") == [("fast",)]
    health = json.loads(cli("sources", "--json").stdout)
    assert {h["name"]: h["consecutive_failures"] for h in health} == {"slow": 1, "fast": 0}


def test_byte_cap_on_declared_and_on_gzip_expanded_bodies(server, cli, write_config, tmp_path):
    big = rss([{"title": "x" * 1000, "guid": str(i)} for i in range(200)])  # ~ 220 kB
    write_config({"fetch": {"max_bytes": "64KiB", "retries": 0}, "sources": [
        {"name": "plain", "url": server.add("/plain", big)},
        {"name": "zipped", "url": server.add("/zipped", big, gzip_body=True)},  # compresses far below the cap
        {"name": "small", "url": server.add("/small", rss([{"title": "ok", "guid": "1"}]), gzip_body=True)},
        {"name": "override", "url": server.add("/override", big), "max_bytes": "1MiB"},
    ]})
    result = cli("pull", "--json")
    assert result.exit_code == 1
    by_name = {s["name"]: s for s in json.loads(result.stdout)["sources"]}
    assert "65,536-byte cap" in by_name["plain"]["error"]
    assert "after decompression" in by_name["zipped"]["error"]
    assert by_name["small"]["new"] == 1 and by_name["override"]["new"] == 200
    assert len(gzip.compress(big.encode())) < 64 * 1024


def test_redirects_loop_and_permanent_move(server, cli, write_config, tmp_path):
    server.add("/loop-a", status=302, headers={"Location": "/loop-b"})
    server.add("/loop-b", status=302, headers={"Location": "/loop-a"})
    server.add("/old", status=301, headers={"Location": "/new"})
    server.add("/new", rss([{"title": "moved", "guid": "m"}]))
    write_config({"sources": [{"name": "loop", "url": server.url("/loop-a")},
                              {"name": "moved", "url": server.url("/old")}]})
    result = cli("pull", "--json")
    assert result.exit_code == 1
    by_name = {s["name"]: s for s in json.loads(result.stdout)["sources"]}
    assert "redirect loop or more than 5 redirects" in by_name["loop"]["error"]
    assert by_name["moved"]["new"] == 1
    assert rows(tmp_path / "test.db", "SELECT redirected_to FROM sources WHERE name = 'moved'") == [(server.url("/new"),)]
    before = len(server.hits("/old"))
    cli("pull", "moved")
    assert len(server.hits("/old")) == before  # the next pull asks the new address directly


def test_malformed_but_readable_is_stored_with_a_warning_unreadable_is_an_error(server, cli, write_config, tmp_path):
    broken = "<rss version='2.0'><channel><title>t</title><item><title>kept & loose</title><guid>k</guid></item></channel></rss>"
    write_config({"sources": [
        {"name": "bozo", "url": server.add("/bozo", broken)},
        {"name": "html", "url": server.add("/html", "<!doctype html><html><body>Sorry</body></html>")},
        {"name": "empty", "url": server.add("/empty", "")},
    ]})
    result = cli("pull", "--json")
    assert result.exit_code == 1
    by_name = {s["name"]: s for s in json.loads(result.stdout)["sources"]}
    assert by_name["bozo"]["status"] == "ok" and by_name["bozo"]["new"] == 1
    assert any("malformed but readable" in w for w in by_name["bozo"]["warnings"])
    assert "HTML page" in by_name["html"]["error"]
    assert "empty response" in by_name["empty"]["error"]
    assert "error: html:" in result.stderr and "error: empty:" in result.stderr


def test_every_skips_until_due_unless_named_or_forced(server, cli, write_config):
    url = server.add("/f", rss([{"title": "a", "guid": "a"}]))
    write_config({"sources": [{"name": "f", "url": url, "every": "30m"}]})
    cli("pull")
    hits = len(server.hits("/f"))
    data = json.loads(cli("pull", "--json").stdout)
    assert data["sources"][0]["status"] == "skipped" and "not due until" in data["sources"][0]["error"]
    assert len(server.hits("/f")) == hits
    cli("pull", "--force")
    cli("pull", "f")
    assert len(server.hits("/f")) == hits + 2


def test_retry_after_is_remembered_across_runs(server, cli, write_config, tmp_path):
    write_config({"fetch": {"retries": 1}, "sources": [
        {"name": "limited", "url": server.add("/limited", status=429, headers={"Retry-After": "7200"})}]})
    first = cli("pull", "--json")
    assert first.exit_code == 1
    assert "will not ask 127.0.0.1 again before" in json.loads(first.stdout)["sources"][0]["error"]
    assert len(rows(tmp_path / "test.db", "SELECT host FROM hosts")) == 1
    hits = len(server.hits("/limited"))
    second = json.loads(cli("pull", "--json").stdout)["sources"][0]
    assert second["status"] == "skipped" and "asked not to be contacted" in second["error"]
    assert len(server.hits("/limited")) == hits  # a separate run respects the wait too


def test_user_agent_and_gzip_are_sent(server, cli, write_config):
    write_config({"sources": [{"name": "f", "url": server.add("/f", rss([{"title": "a", "guid": "a"}]), gzip_body=True)}]})
    assert cli("pull").exit_code == 0
    headers = server.hits("/f")[0].headers
    assert headers["user-agent"].startswith("socialscale/")
    assert "gzip" in headers["accept-encoding"]


def test_quiet_prints_only_errors(server, cli, write_config):
    write_config({"sources": [{"name": "ok", "url": server.add("/ok", rss([{"title": "a", "guid": "a"}]))},
                              {"name": "bad", "url": server.add("/bad", status=404)}]})
    result = cli("--quiet", "pull")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"error: bad: {server.url('/bad')}: HTTP 404 Not Found"]


def test_unknown_source_name_is_a_usage_error(server, cli, write_config):
    write_config({"sources": [{"name": "ok", "url": server.add("/ok", rss([]))}]})
    result = cli("pull", "nope")
    assert result.exit_code == 2 and "unknown source 'nope'" in result.stderr


def test_same_canonical_url_from_two_sources_is_one_conversation(server, cli, write_config, tmp_path):
    write_config({"sources": [
        {"name": "first", "url": server.add("/1", rss([{"title": "x", "guid": "1",
                                                       "link": "https://Shop.example/p?id=3&amp;utm_source=a#top"}]))},
    ]})
    cli("pull")
    write_config({"sources": [
        {"name": "first", "url": server.url("/1")},
        {"name": "second", "url": server.add("/2", rss([{"title": "x again", "guid": "2",
                                                         "link": "https://shop.example/p?id=3&amp;utm_medium=b"}]))},
    ]})
    cli("pull")
    got = rows(tmp_path / "test.db", "SELECT source, id, duplicate_of FROM items ORDER BY id")
    assert got == [("first", 1, None), ("second", 2, 1)]
    detail = rows(tmp_path / "test.db", "SELECT detail FROM events WHERE item_id = 2 AND kind = 'created'")[0][0]
    assert json.loads(detail) == {"source": "second", "duplicate_of": 1}


def test_a_malformed_link_keeps_the_rest_of_the_feed(server, cli, write_config, tmp_path):
    """'http://[oops' cannot be resolved (urljoin raises): that item keeps its link as published."""
    write_config({"sources": [{"name": "f", "url": server.add("/f", rss([
        {"title": "bad link", "guid": "1", "link": "http://[oops/x"},
        {"title": "fine", "guid": "2", "link": "/ok"}]))}]})
    result = cli("pull", "--json")
    assert result.exit_code == 0, result.stderr
    got = dict(rows(tmp_path / "test.db", "SELECT guid, url FROM items"))
    assert got == {"1": "http://[oops/x", "2": server.url("/ok")}


def calls_in_this_process(monkeypatch, owner: type, name: str) -> list[tuple[object, ...]]:
    """The arguments of every call of `owner.name` made in this process (the parser processes are their
    own: what they compute never shows here)."""
    calls: list[tuple[object, ...]] = []
    real = getattr(owner, name)

    def recording(self, *args):
        calls.append(args)
        return real(self, *args)

    monkeypatch.setattr(owner, name, recording)
    return calls


def test_sentiment_scored_in_the_parser_processes_is_what_the_tagger_stores(server, cli, write_config, tmp_path,
                                                                              monkeypatch):
    # The parser processes score each feed item (sources.parsing.parse_feed_scored); the tagger takes a
    # score only for the very title, text and language it reads. A text masked after parsing (the
    # source's token echoed back) is scored again, from what is stored; nothing else is.
    from socialscale.insight.sentiment import Vader

    token = "tok3nValue9f8e7d6c5b4a"
    english = rss([{"title": "Great service", "guid": "e1", "description": "I love it, thanks so much!"},
                   {"title": "Broken again", "guid": "e2", "description": "awful support, want a refund"},
                   {"title": "Echo", "guid": "e3", "description": f"this is great: {token}"},
                   {"title": "Plain", "guid": "e4", "description": "the parcel arrived on tuesday"}])
    german = english.replace("<channel>", "<channel><language>de-DE</language>").replace("guid>e", "guid>d")
    write_config({"sources": [{"name": "en", "url": server.add("/en", english) + f"?token={token}"},
                              {"name": "de", "url": server.add("/de", german)}]})
    real = Vader.item_score
    scored_here = calls_in_this_process(monkeypatch, Vader, "item_score")
    assert cli("pull").exit_code == 0
    stored = rows(tmp_path / "test.db", "SELECT guid, title, text, lang, sentiment FROM items ORDER BY guid")
    assert len(stored) == 8 and "***" in dict((r[0], r[2]) for r in stored)["e3"]
    vader = Vader()
    for guid, title, text, lang, sentiment in stored:
        assert sentiment == real(vader, title, text, lang), guid
    by_guid = {r[0]: r[4] for r in stored}
    assert by_guid["e1"] > 0.05 > -0.05 > by_guid["e2"] and by_guid["d1"] is None
    assert [args[1] for args in scored_here] == ["this is great: ***"]


def test_rules_decided_in_the_parser_processes_give_what_the_tagger_would(server, cli, write_config, tmp_path,
                                                                         monkeypatch):
    # The parser processes also decide each feed item's rules (parse_feed_scored with use_rules); the
    # tagger takes a decision only for the very source, title, text, author and URL it reads. A text
    # masked after parsing is decided again here; nothing else is. With a `sentiment:` rule every
    # item is decided here (such rules need every match, filtered by the stored sentiment).
    from socialscale.rules.matcher import Matcher

    token = "tok3nValue9f8e7d6c5b4a"
    feed = rss([{"title": "Broken again", "guid": "b1", "description": "awful support, I want a refund"},
                {"title": "Looking for", "guid": "b2", "description": "any alternative to this CRM?"},
                {"title": "Echo", "guid": "b3", "description": f"refund please: {token}"},
                {"title": "Plain", "guid": "b4", "description": "the parcel arrived on tuesday"}])
    rules = [{"name": "complaints", "lane": "customer_service", "any": ["refund*", "broken"], "tags": ["angry"]},
             {"name": "leads", "lane": "sales_prospecting", "any": ["alternative", "looking for"]}]
    calls = calls_in_this_process(monkeypatch, Matcher, "decide_many")
    write_config({"sources": [{"name": "s", "url": server.add("/s", feed) + f"?token={token}"}], "rules": rules})
    assert cli("pull").exit_code == 0
    stored = {r[0]: r[1:] for r in rows(tmp_path / "test.db", "SELECT guid, lane, tags, rules FROM items")}
    assert stored == {"b1": ("customer_service", '["angry"]', '["complaints"]'),
                      "b2": ("sales_prospecting", "[]", '["leads"]'),
                      "b3": ("customer_service", '["angry"]', '["complaints"]'),
                      "b4": ("listening", "[]", "[]")}
    assert [fields[2] for (items,) in calls for fields in items] == ["refund please: ***"]

    calls.clear()
    write_config({"sources": [{"name": "s2", "url": server.add("/s2", feed.replace("guid>b", "guid>c"))}],
                  "rules": [{**rules[0], "sentiment": ["negative"]}, rules[1]]})
    assert cli("pull").exit_code == 0
    lanes = dict(rows(tmp_path / "test.db", "SELECT guid, lane FROM items WHERE source = 's2'"))
    assert lanes == {"c1": "customer_service", "c2": "sales_prospecting", "c3": "listening", "c4": "listening"}
