"""The smaller round-two cases: an endless Retry-After, an impossible port, report permissions,
a UTF-16 JSON Feed."""

from __future__ import annotations

import json
import os
import sqlite3
import stat

from conftest import rss
from hostiletools import FAST_FETCH, assert_one_clean_error, pull

from socialscale.fetch import parse_retry_after


def test_a_retry_after_of_400_nines_is_capped_not_a_crash(server, cli, write_config):
    server.add("/busy", "", status=503, headers={"Retry-After": "9" * 400})
    server.add("/dated", "", status=429, headers={"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"})
    write_config({"fetch": {**FAST_FETCH, "retries": 1}, "sources": [
        {"name": "busy", "url": server.url("/busy")},
        {"name": "good", "url": server.add("/good.rss", rss([{"title": "ok", "guid": "ok"}]))}]})
    result, by_name = pull(cli)
    assert "unexpected" not in result.stderr and "Overflow" not in result.stderr
    assert_one_clean_error(result, by_name, "busy", "Retry-After 365d, capped to 1h (fetch.max_retry_after)")
    assert by_name["good"]["new"] == 1
    assert cli("sources").exit_code == 0
    assert parse_retry_after("9" * 400, __import__("datetime").datetime.now(__import__("datetime").timezone.utc)) == 365 * 86400


def test_an_impossible_port_is_a_config_error_not_a_crash(cli, write_config):
    write_config({"sources": [{"name": "bad-port", "url": "http://127.0.0.1:99999/feed"},
                              {"name": "api", "type": "json", "url": "https://example.com/api", "items": "x",
                               "fields": {"guid": "id"}, "api_url": "https://example.com:70000"},
                              {"name": "toot", "type": "mastodon", "instance": "https://m.example:123456",
                               "tag": "x"}]})
    for command in (("check",), ("pull",)):
        result = cli(*command)
        assert result.exit_code == 2
        assert "sources[0].url: not a URL that can be fetched (Port out of range 0-65535)" in result.stderr
        assert "api_url: not a URL that can be fetched" in result.stderr
        assert "sources[2].instance" in result.stderr
        assert "unexpected" not in result.stderr and "ExceptionGroup" not in result.stderr


def test_a_redirect_to_an_impossible_port_is_one_clean_error(server, cli, write_config):
    server.add("/hop", status=302, headers={"Location": "http://127.0.0.1:99999/feed"})
    write_config({"fetch": {**FAST_FETCH, "allow_private": True}, "sources": [
        {"name": "hop", "url": server.url("/hop")}]})
    result, by_name = pull(cli)
    assert_one_clean_error(result, by_name, "hop", "redirect")
    assert "unexpected" not in result.stderr


def test_the_html_report_is_owner_only_unless_asked(cli, write_config, tmp_path):
    write_config({})
    old = os.umask(0o022)
    try:
        for args, expected in ((("-o", "r.html"), 0o600), (("-o", "wide.html", "--mode", "644"), 0o644)):
            result = cli("report", "html", *args)
            assert result.exit_code == 0, result.stderr
            assert stat.S_IMODE((tmp_path / args[1]).stat().st_mode) == expected
        (tmp_path / "r.html").chmod(0o644)  # overwriting keeps to what this run asks
        cli("report", "html", "-o", "r.html")
        assert stat.S_IMODE((tmp_path / "r.html").stat().st_mode) == 0o600
    finally:
        os.umask(old)
    bad = cli("report", "html", "-o", "x.html", "--mode", "rwx")
    assert bad.exit_code == 2 and "--mode 'rwx'" in bad.stderr and not (tmp_path / "x.html").exists()


def test_a_utf16_json_feed_with_a_bom_is_read(server, cli, write_config):
    doc = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "t",
                      "items": [{"id": "1", "title": "Grüße 🙂", "url": "https://example.com/1"}]}, ensure_ascii=False)
    server.add("/le.json", doc.encode("utf-16"), content_type="application/feed+json")
    server.add("/be.json", b"\xfe\xff" + doc.encode("utf-16-be"), content_type="application/feed+json")
    server.add("/32.json", doc.encode("utf-32"), content_type="application/feed+json")
    write_config({"fetch": FAST_FETCH, "sources": [{"name": n, "url": server.url(f"/{n}.json")}
                                                   for n in ("le", "be", "32")]})
    result, by_name = pull(cli)
    assert result.exit_code == 0, result.stderr
    # The three share one URL, so two are duplicates of the first: --all lists them too.
    titles = {i["source"]: i["title"] for i in json.loads(cli("items", "--all", "--json").stdout)}
    assert titles == {"le": "Grüße 🙂", "be": "Grüße 🙂", "32": "Grüße 🙂"}


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
  <title>forum</title><id>urn:forum</id><updated>2024-05-01T10:00:00Z</updated>
  <entry><id>urn:complaint</id><title>My order is broken, I want a refund</title>
    <author><name>Carol Customer</name></author><link href="https://forum.example/t/1"/>
    <published>2024-05-01T10:00:00Z</published><updated>2024-05-01T10:00:00Z</updated></entry>
  <entry><id>urn:forged</id><title>Re: sorted, thanks</title><author><name>Alice</name></author>
    <link href="https://forum.example/t/1#2"/><thr:in-reply-to ref="urn:complaint"/>
    <published>9999-12-31T23:59:59Z</published><updated>9999-12-31T23:59:59Z</updated></entry>
</feed>"""


def test_a_future_dated_reply_answers_no_later_than_it_was_seen(server, cli, write_config):
    write_config({"fetch": FAST_FETCH, "default_lane": "customer_service", "team": {"alice": {"handles": ["feed:Alice"]}},
                  "sources": [{"name": "forum", "url": server.add("/atom", ATOM, content_type="application/atom+xml")}]})
    result, by_name = pull(cli)
    assert result.exit_code == 0, result.stderr
    assert "dated more than a day ahead" in " ".join(by_name["forum"]["warnings"])
    with sqlite3.connect("test.db") as conn:
        published, start, extra = conn.execute(
            "SELECT published_at, start_at, extra FROM items WHERE guid = 'urn:forged'").fetchone()
        responded = conn.execute("SELECT responded_at FROM items WHERE guid = 'urn:complaint'").fetchone()[0]
    assert published is None and json.loads(extra)["published_raw"] == "9999-12-31T23:59:59Z"
    assert responded is not None and responded == start  # counted when the reply was first seen, not in 9999
    backlog = json.loads(cli("report", "backlog", "--json").stdout)
    assert backlog["total"]["open"] == 0
