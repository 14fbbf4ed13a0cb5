"""Hostile JSON: invalid documents, nesting deep enough to raise RecursionError, and wrong types
where lists and strings are expected — through a `type: feed` JSON Feed, through `type: json`,
and through socialscale.sources.base.load_json itself."""

from __future__ import annotations

import json

import pytest
from hostiletools import assert_one_clean_error, configure, items_of, pull, rows

from socialscale.errors import ParseError
from socialscale.text import load_json

VERSION = "https://jsonfeed.org/version/1.1"
DEEP = "[" * 100_000 + "]" * 100_000  # json.loads raises RecursionError here, not a decode error
GOOD = json.dumps({"version": VERSION, "items": [{"id": "ok", "title": "healthy"}]})


def nested(depth: int, leaf: str = '"x"') -> str:
    return "[" * depth + leaf + "]" * depth


@pytest.mark.parametrize("body, fragment", [
    (b"{", "invalid JSON"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": [}', "invalid JSON"),
    (b"[1, 2,]", "invalid JSON"),
    (b'{"a": NaN, "b": "\xff\xfe"}', "invalid JSON"),
    (b"   ", "empty response"),
    (b"", "empty response"),
    (DEEP.encode(), "nested too deeply"),
    ('{"a": ' * 50_000 + "1" + "}" * 50_000, "nested too deeply"),
])
def test_load_json_raises_only_parse_errors(body, fragment):
    with pytest.raises(ParseError) as caught:
        load_json(body if isinstance(body, bytes) else body.encode(), "https://api.example/x")
    assert fragment in str(caught.value)
    assert str(caught.value).startswith("https://api.example/x: ")


def test_load_json_keeps_values_it_can_read():
    assert load_json(nested(500).encode(), "w") == json.loads(nested(500))
    assert load_json(b'\xef\xbb\xbf{"bom": true}', "w") == {"bom": True}
    assert load_json('{"utf16": 1}'.encode("utf-16"), "w") == {"utf16": 1}


def test_json_feed_invalid_deep_and_wrong_types(server, cli, write_config, tmp_path):
    bodies = {
        "invalid": ("{'single': 'quotes'}", "invalid JSON"),
        "truncated": (GOOD[:-5], "invalid JSON"),
        "deep": (DEEP, "nested too deeply"),
        "deep-object": ('{"a":' * 100_000 + "1" + "}" * 100_000, "nested too deeply"),
        "top-level-list": ("[1, 2, 3]", "not a JSON Feed"),
        "top-level-string": ('"jsonfeed.org"', "not an RSS, Atom or JSON feed"),
        "items-object": (json.dumps({"version": VERSION, "items": {"0": {"id": "a"}}}), "without an `items` list"),
        "items-string": (json.dumps({"version": VERSION, "items": "none"}), "without an `items` list"),
        "items-null": (json.dumps({"version": VERSION, "items": None}), "without an `items` list"),
        "version-number": (json.dumps({"version": 1.1, "items": []}), "not a JSON Feed"),
        "api-error": (json.dumps({"message": "\x1b[31mquota exceeded\x1b[0m"}), "quota exceeded"),
    }
    sources = [{"name": n, "url": server.add(f"/{n}", body, content_type="application/feed+json")}
               for n, (body, _) in bodies.items()]
    configure(write_config, [*sources, {"name": "good", "url": server.add("/good", GOOD)}])
    result, by_name = pull(cli)
    for name, (_, fragment) in bodies.items():
        assert_one_clean_error(result, by_name, name, fragment)
    assert by_name["good"]["new"] == 1
    assert "\x1b" not in result.stderr and "\x1b" not in result.stdout


def test_json_feed_items_of_the_wrong_shape_are_skipped_or_coerced(server, cli, write_config, tmp_path):
    doc = {"version": VERSION, "author": "not an object", "items": [
        1, "two", None, [3], True,
        {"id": {"nested": "id"}, "url": "https://example.com/obj-id", "title": ["a", "list"]},
        {"id": 42, "title": 7, "content_html": {"x": 1}, "content_text": ["y"], "date_published": 1700000000,
         "authors": "bob", "tags": "not-a-list", "url": 5},
        {"id": "deep-tags", "title": "tags nested deep", "tags": json.loads(nested(900)),
         "authors": [{"name": {"first": "x"}}], "date_published": "not a date"},
        {"id": "fine", "title": "fine", "tags": ["a", 1, None, {"b": 2}, "c"],
         "date_published": "2026-01-02T03:04:05+01:00"},
    ]}
    configure(write_config, [{"name": "shapes", "url": server.add("/shapes", json.dumps(doc))}])
    result, by_name = pull(cli)
    assert result.exit_code == 0, result.stderr
    assert by_name["shapes"]["warnings"] == ["5 items were not objects and were skipped"]
    stored = items_of(tmp_path / "test.db", "shapes")
    assert set(stored) == {"https://example.com/obj-id", "42", "deep-tags", "fine"}
    assert stored["42"]["title"] == "" and stored["42"]["url"] is None and stored["42"]["published_at"] is None
    assert stored["https://example.com/obj-id"]["title"] == ""
    assert stored["deep-tags"]["author"] is None and stored["deep-tags"]["published_at"] is None
    assert json.loads(stored["fine"]["extra"])["tags"] == ["a", "c"]
    assert stored["fine"]["published_at"] == "2026-01-02T02:04:05Z"
    # Nothing stored is too deep to print back out.
    for args in (("items", "--json"), ("items", "--format", "ndjson"), ("items",), ("show", str(stored["deep-tags"]["id"]))):
        out = cli(*args)
        assert out.exit_code == 0 and "Traceback" not in out.stdout + out.stderr, out.stderr


def test_json_api_source_invalid_deep_and_wrong_types(server, cli, write_config, tmp_path):
    pytest.importorskip("socialscale.sources.jsonapi")
    fields = {"guid": "id", "title": "title", "url": "link", "published_at": "at"}
    bodies = {
        "invalid": ("{not json", "invalid JSON"),
        "deep": (DEEP, "nested too deeply"),
        "html": ("<html><body>maintenance</body></html>", "invalid JSON"),
        "items-object": (json.dumps({"data": {"posts": {"id": 1}}}), "expected a list at `items: data.posts`"),
        "items-string": (json.dumps({"data": {"posts": "none"}}), "expected a list at `items: data.posts`"),
        "items-null": (json.dumps({"data": None}), "expected a list at `items: data.posts`"),
        "title-object": (json.dumps({"data": {"posts": [{"id": 1, "title": {"x": 1}}]}}), "fields.title"),
    }
    sources = [{"name": n, "type": "json", "url": server.add(f"/api/{n}", body, content_type="application/json"),
                "items": "data.posts", "fields": fields} for n, (body, _) in bodies.items()]
    good = json.dumps({"data": {"posts": [
        {"id": 1, "title": "one", "link": "https://example.com/1", "at": "2999-01-01T00:00:00Z"},  # read, then dropped as a future date
        "a string", None, 5,
        {"id": None, "title": "no id, no link"},
        {"id": 2, "title": 7, "link": 7, "at": True},
        {"id": 3, "title": "bad date", "at": "yesterday-ish"},
    ]}})
    configure(write_config, [*sources, {"name": "good", "type": "json", "url": server.add("/api/good", good),
                                        "items": "data.posts", "fields": fields, "backfill": "100000d"}])
    result, by_name = pull(cli)
    for name, (_, fragment) in bodies.items():
        assert_one_clean_error(result, by_name, name, fragment)
    assert by_name["good"]["status"] == "ok", by_name["good"]["error"]
    got = {r[0]: r[1:] for r in rows(tmp_path / "test.db", "SELECT guid, title, url, published_at FROM items")}
    assert got == {"1": ("one", "https://example.com/1", None), "2": ("7", None, None),
                   "3": ("bad date", None, None)}
