"""Text that is not text: lone surrogates, and control or bidi characters in fields that are
not titles (guids, server messages) on their way to CSV."""

from __future__ import annotations

import json

import pytest
from conftest import rss
from hostiletools import FAST_FETCH, FORBIDDEN_OUTPUT, items_of, pull, rows

from socialscale import pipeline

LONE = '"lone \\ud800 and \\udfff"'  # JSON text: the escapes of two unpaired surrogates


def jsonfeed(title_json: str, guid_json: str = '"1"') -> str:
    return ('{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": '
            f'[{{"id": {guid_json}, "title": {title_json}, "content_text": {title_json}, '
            f'"tags": [{title_json}], "url": "https://example.com/1"}}]}}')


def test_a_lone_surrogate_costs_nothing(server, cli, write_config):
    server.add("/feed.json", jsonfeed(LONE), content_type="application/feed+json")
    server.add("/api", f'{{"data": [{{"id": 7, "title": {LONE}, "author": {LONE}}}]}}',
               content_type="application/json")
    server.add("/feed.rss", rss([{"title": "lone &#55296; here", "guid": "r1", "description": "x &#57343; y"}]))
    write_config({"fetch": FAST_FETCH, "sources": [
        {"name": "jsonfeed", "url": server.url("/feed.json")},
        {"name": "api", "type": "json", "url": server.url("/api"), "items": "data",
         "fields": {"guid": "id", "title": "title", "author": "author"}},
        {"name": "rss", "url": server.url("/feed.rss")},
        {"name": "good", "url": server.add("/good.rss", rss([{"title": "fine", "guid": "g"}]))}]})
    result, by_name = pull(cli)
    assert result.exit_code == 0, result.stderr
    assert "unexpected" not in result.stdout + result.stderr
    assert {name: s["new"] for name, s in by_name.items()} == {"jsonfeed": 1, "api": 1, "rss": 1, "good": 1}
    assert items_of("test.db", "jsonfeed")["1"]["title"] == "lone \ufffd and \ufffd"
    assert items_of("test.db", "api")["7"]["author"] == "lone \ufffd and \ufffd"
    rss_item = items_of("test.db", "rss")["r1"]
    assert (rss_item["title"], rss_item["text"]) == ("lone \ufffd here", "x \ufffd y")
    for command in (("items",), ("items", "--format", "csv"), ("items", "--json"), ("show", "1")):
        shown = cli(*command)
        assert shown.exit_code == 0 and "\ufffd" in shown.stdout


def test_a_failing_store_step_is_that_sources_error(server, cli, write_config, monkeypatch):
    """Fault injection (as the full-disk test does with max_page_count): the store step of one
    source raises something no one foresaw; that source records one error, the others are stored."""
    real = pipeline.upsert_items

    def upsert(db, source, items, now, **kw):  # type: ignore[no-untyped-def]
        if source == "doomed":
            raise UnicodeEncodeError("utf-8", "x", 0, 1, "an unforeseen bug")
        return real(db, source, items, now, **kw)

    monkeypatch.setattr(pipeline, "upsert_items", upsert)
    write_config({"fetch": FAST_FETCH, "sources": [
        {"name": "doomed", "url": server.add("/d.rss", rss([{"title": "d", "guid": "d"}]))},
        {"name": "good", "url": server.add("/g.rss", rss([{"title": "g", "guid": "g"}]))}]})
    result, by_name = pull(cli)
    assert result.exit_code == 1
    assert by_name["doomed"]["status"] == "error" and "could not store" in by_name["doomed"]["error"]
    assert by_name["good"]["new"] == 1
    assert rows("test.db", "SELECT last_status, consecutive_failures FROM sources WHERE name = 'doomed'") == [("error", 1)]
    assert rows("test.db", "SELECT COUNT(*) FROM items WHERE source = 'doomed'") == [(0,)]


HOSTILE = "\\u001b[31mred\\u0007 \\u202eevil\\u009b2J"  # as JSON escapes: ESC, BEL, RLO, C1 CSI


@pytest.mark.parametrize("fmt", ["csv", "table"])
def test_no_escape_or_bidi_character_leaves_in_guids_errors_or_messages(server, cli, write_config, fmt):
    server.add("/feed.json", jsonfeed('"t"', guid_json=f'"x{HOSTILE}"'), content_type="application/feed+json")
    server.add("/api", f'{{"message": "denied {HOSTILE}"}}', status=403, content_type="application/json")
    server.add("/broken.json", f'{{"error": "{HOSTILE}"}}', content_type="application/json")
    write_config({"fetch": FAST_FETCH, "sources": [
        {"name": "feed", "url": server.url("/feed.json")},
        {"name": "api", "type": "json", "url": server.url("/api"), "items": "data", "fields": {"guid": "id"}},
        {"name": "broken", "url": server.url("/broken.json")}]})
    first = cli("pull", "--format", fmt)
    assert first.exit_code == 1 and "api" in first.stderr
    outputs = [first, cli("sources", "--format", fmt), cli("items", "--format", fmt, "--limit", "0"),
               cli("pull", "--format", fmt, "--force")]
    for result in outputs:
        raw = result.stdout + result.stderr
        assert not FORBIDDEN_OUTPUT.search(raw.replace("\n", "").replace("\t", "")), repr(raw)
    assert "denied" in outputs[0].stdout + outputs[0].stderr
    assert fmt == "table" or "x[31mred" in outputs[2].stdout  # the guid's text survives, its escape does not
    data = json.loads(cli("items", "--json").stdout)
    assert data[0]["guid"] == "x[31mred \u202eevil2J"  # stored without C0/C1 controls; JSON escapes the rest
    assert "\u202e" not in cli("items", "--json").stdout  # as \u202e, never raw
