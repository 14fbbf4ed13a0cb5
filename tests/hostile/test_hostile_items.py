"""Hostile items: guids missing or repeated, ten thousand entries, impossible dates, megabyte
titles, and links that must never become clickable."""

from __future__ import annotations

import json

from conftest import rss
from hostiletools import FAST_FETCH, configure, items_of, pull, rows


def test_missing_and_duplicate_guids_are_stable_across_pulls(server, cli, write_config, tmp_path):
    feed = rss([
        {"title": "no guid, has link", "link": "http://example.com/a"},
        {"title": "no guid, no link", "pubDate": "Tue, 17 Nov 2026 09:00:00 +0000"},
        {"title": "empty guid", "guid": "", "link": "http://example.com/c"},
        {"title": "blank guid", "guid": "   ", "link": "http://example.com/d"},
        {"title": "first of twins", "guid": "twin"},
        {"title": "second of twins", "guid": "twin"},
        {"title": "third of twins", "guid": "twin"},
    ])
    configure(write_config, [{"name": "f", "url": server.add("/f", feed)}])
    result, by_name = pull(cli)
    assert result.exit_code == 0, result.stderr
    assert by_name["f"]["new"] == 5
    assert by_name["f"]["warnings"] == ["2 entries repeated a guid; kept the first of each"]
    stored = items_of(tmp_path / "test.db", "f")
    assert stored["twin"]["title"] == "first of twins"
    assert stored["http://example.com/a"]["title"] == "no guid, has link"
    assert stored["http://example.com/c"]["title"] == "empty guid"
    assert stored["http://example.com/d"]["title"] == "blank guid"
    hashed = [g for g in stored if g.startswith("sha1:")]
    assert len(hashed) == 1 and stored[hashed[0]]["title"] == "no guid, no link"
    again, by_name = pull(cli)
    assert (by_name["f"]["new"], by_name["f"]["updated"]) == (0, 0)  # derived guids are stable
    assert rows(tmp_path / "test.db", "SELECT COUNT(*) FROM items") == [(5,)]


def test_ten_thousand_items_in_one_feed(server, cli, write_config, tmp_path):
    feed = rss([{"title": f"entry {i}", "guid": f"g{i}", "link": f"http://example.com/{i}",
                 "description": f"text of entry {i}"} for i in range(10_000)])
    configure(write_config, [{"name": "huge", "url": server.add("/huge", feed, gzip_body=True)}],
              parse_timeout="30s")
    result, by_name = pull(cli)
    assert result.exit_code == 0, result.stderr
    assert by_name["huge"]["new"] == 10_000
    db = tmp_path / "test.db"
    assert rows(db, "SELECT COUNT(*), COUNT(DISTINCT guid) FROM items") == [(10_000, 10_000)]
    assert rows(db, "SELECT COUNT(*) FROM events WHERE kind = 'created'") == [(10_000,)]
    again, by_name = pull(cli)
    assert (by_name["huge"]["new"], by_name["huge"]["updated"], by_name["huge"]["seen"]) == (0, 0, 10_000)
    listing = cli("items", "--limit", "0", "--format", "ids")
    assert len(listing.stdout.split()) == 10_000


def test_future_far_past_and_unparseable_dates(server, cli, write_config, tmp_path):
    dates = {
        "future": "Fri, 31 Dec 9999 23:59:59 GMT",
        "next-year": "Wed, 01 Jan 2031 00:00:00 GMT",
        "far-past": "Sat, 01 Jan 1000 00:00:00 GMT",
        "epoch": "Thu, 01 Jan 1970 00:00:00 GMT",
        "garbage": "the day after tomorrow",
        "impossible": "Mon, 30 Feb 2026 25:61:61 +9999",
        "huge-year": "Mon, 01 Jan 99999999999 00:00:00 GMT",
        "empty": "",
    }
    feed = rss([{"title": name, "guid": name, "pubDate": value} for name, value in dates.items()])
    configure(write_config, [{"name": "d", "url": server.add("/d", feed)}])
    result, by_name = pull(cli)
    assert result.exit_code == 0, result.stderr
    assert by_name["d"]["new"] == len(dates)
    got = {g: (r["published_at"], r["first_seen_at"], r["start_at"]) for g, r in items_of(tmp_path / "test.db", "d").items()}
    # More than a day after it is first seen is no publication date: stored as unknown, kept in extra.
    raw = {g: json.loads(r["extra"] or "{}").get("published_raw") for g, r in items_of(tmp_path / "test.db", "d").items()}
    assert (got["future"][0], raw["future"]) == (None, "9999-12-31T23:59:59Z")
    assert (got["next-year"][0], raw["next-year"]) == (None, "2031-01-01T00:00:00Z")
    assert "2 entries dated more than a day ahead" in " ".join(by_name["d"]["warnings"])
    for name in ("future", "next-year"):  # a future date never makes an item older or newer than seen
        assert got[name][2] == got[name][1]
    # Before 1990 no web post was written: epoch-zero and far-past dates are bugs, read as unknown
    # (else the item would be decades old and breach every SLA).
    for name in ("far-past", "epoch", "garbage", "impossible", "huge-year", "empty"):
        assert got[name][0] is None and got[name][2] == got[name][1], name  # unknown, never the fetch time
    listing = cli("items", "--json", "--since", "3650d")
    assert listing.exit_code == 0
    assert {i["guid"] for i in json.loads(listing.stdout)} >= {"future", "next-year", "garbage"}
    assert cli("items").exit_code == 0


def test_megabyte_titles_and_texts_are_truncated_with_a_note(server, cli, write_config, tmp_path):
    feed = rss([{"title": "T" * 1_000_000, "guid": "big", "description": "x " * 600_000},
                {"title": "normal", "guid": "small", "author": "A" * 5000}])
    configure(write_config, [{"name": "big", "url": server.add("/big", feed)}], max_bytes="5MiB")
    result, by_name = pull(cli)
    assert result.exit_code == 0, result.stderr
    assert any("truncated" in w for w in by_name["big"]["warnings"]), by_name["big"]
    stored = items_of(tmp_path / "test.db", "big")
    big = stored["big"]
    assert len(big["title"]) == 2000 and big["title"].endswith("…")
    assert len(big["text"]) == 100_000 and big["text"].endswith("…")
    assert json.loads(big["extra"])["truncated"] == ["title", "text"]
    assert json.loads(stored["small"]["extra"]).get("truncated") is None
    assert len(stored["small"]["author"]) <= 300
    shown = cli("show", str(big["id"]), "--json")
    assert json.loads(shown.stdout)["extra"]["truncated"] == ["title", "text"]
    table = cli("items")
    assert table.exit_code == 0 and max(len(line) for line in table.stdout.splitlines()) <= 200


def test_script_and_data_links_are_stored_but_never_clickable(server, cli, write_config, tmp_path):
    links = {
        "js": "javascript:alert(document.cookie)",
        "js-mixed": " JaVaScRiPt:alert(1)",
        "data": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript": "vbscript:msgbox(1)",
        "file": "file:///etc/passwd",
        "ok": "https://example.com/fine",
    }
    feed = rss([{"title": f"link {name}", "guid": name, "link": url.replace("&", "&amp;")} for name, url in links.items()])
    # Every item lands in a lane with an SLA, so the HTML report's breach list shows them all.
    write_config({"fetch": FAST_FETCH, "default_lane": "customer_service", "lanes": {"customer_service": {"sla": "1m"}},
                  "sources": [{"name": "l", "url": server.add("/l", feed)}]})
    assert pull(cli)[0].exit_code == 0
    stored = items_of(tmp_path / "test.db", "l")
    for name, url in links.items():
        assert stored[name]["url"].startswith(url.strip()[:5])  # kept as data (feedparser tidies file:///)
        assert (stored[name]["canonical_url"] is None) == (name != "ok")  # but not a web address
    for args in (("items",), ("show", str(stored["js"]["id"])), ("show", str(stored["data"]["id"]))):
        out = cli(*args).stdout_bytes
        assert b"\x1b]8;" not in out  # no terminal hyperlink (OSC 8) anywhere
    report = tmp_path / "report.html"
    made = cli("report", "html", "-o", str(report), "--now", "2099-01-01T00:00:00Z")
    if made.exit_code == 0:  # the HTML report links only http(s) URLs
        html = report.read_text().lower()
        assert 'href="https://example.com/fine"' in html and "link js-mixed" in html
        for scheme in ("javascript:", "vbscript:", "data:text/html", "file:///"):
            assert f'href="{scheme}' not in html and f"href='{scheme}" not in html
