"""Property tests: the feed normaliser takes any bytes, canonical URLs are idempotent, and
html_to_text never lets a tag or a control character through.

(The rule matcher against a naive reference is in tests/test_rules_property.py; the duration and
date parsers in tests/test_timeutil.py. Here: the ISO parser never raises anything but ValueError.)
"""

from __future__ import annotations

import re
from datetime import timezone

from conftest import rss
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from socialscale.errors import ParseError
from socialscale.models import Item
from socialscale.sources.parsing import parse_feed
from socialscale.text import MAX_TEXT, MAX_TITLE, canonical_url, html_to_text
from socialscale.timeutil import parse_iso, utc_iso

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
TAG = re.compile(r"<[A-Za-z!/?]")
SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FEED_TOKENS = [
    "<?xml version='1.0'?>", "<?xml version='1.0' encoding='utf-16'?>", "<?xml version='1.0' encoding='bogus'?>",
    "<rss version='2.0'>", "</rss>", "<channel>", "</channel>", "<item>", "</item>", "<title>", "</title>",
    "<guid>", "</guid>", "<link>", "</link>", "<description>", "</description>", "<pubDate>", "</pubDate>",
    "<author>", "</author>", "<feed xmlns='http://www.w3.org/2005/Atom'>", "</feed>", "<entry>", "</entry>",
    "<id>", "</id>", "<updated>", "</updated>", "<content type='html'>", "</content>", "<link href='", "'/>",
    "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' xmlns='http://purl.org/rss/1.0/'>",
    "<!DOCTYPE rss [\n<!ENTITY e \"entity\">\n]>\n", "&e;", "&amp;", "&lt;b&gt;", "&#27;", "&#x9b;", "&#0;",
    "&nbsp;", "&bogus;", "<![CDATA[", "]]>", "<!--", "-->", "javascript:alert(1)", "http://example.com/x",
    "Tue, 17 Nov 2026 09:00:00 +0100", "2026-11-20T10:00:00Z", "9999-99-99", "\x00", "\x1b[31m", "\u202e",
    "\ud7ff", "[bold]", ":smiley:", " ", "\n", "text", "é", "😀",
]
JSON_TOKENS = [
    "{", "}", "[", "]", ",", ":", '"version"', '"https://jsonfeed.org/version/1.1"', '"items"', '"id"',
    '"title"', '"url"', '"content_html"', '"content_text"', '"date_published"', '"authors"', '"name"', '"tags"',
    '"<b>x</b>"', '"javascript:x"', "1", "-1e999", "null", "true", '"\\u0000"', '"\\ud800"', '"2026-01-01T00:00:00Z"',
]
VALID = rss([{"title": "a &amp; b", "guid": "g1", "link": "http://example.com/1",
              "pubDate": "Tue, 17 Nov 2026 09:00:00 +0100", "description": "&lt;p&gt;hi&lt;/p&gt;"},
             {"title": "two", "guid": "g2"}]).encode()


def check_items(items: list[Item], warnings: list[str]) -> None:
    assert all(isinstance(w, str) for w in warnings)
    guids = [item.guid for item in items]
    assert len(guids) == len(set(guids))  # deduplicated
    for item in items:
        assert isinstance(item.guid, str) and item.guid.strip() and len(item.guid) <= 2000
        assert len(item.title) <= MAX_TITLE and len(item.text) <= MAX_TEXT
        for value in (item.title, item.text):
            assert not CONTROLS.search(value), repr(value)
            assert value == value.strip() and "  " not in value
        assert item.published_at is None or ISO_Z.match(item.published_at)
        assert item.canonical_url is None or item.canonical_url.startswith(("http://", "https://"))


def parse(body: bytes) -> None:
    try:
        items, warnings = parse_feed(body, "s", "http://example.com/feed")
    except ParseError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    check_items(items, warnings)


@SETTINGS
@given(st.binary(max_size=3000))
@example(b"")
@example(b"\xef\xbb\xbf")
@example(b"\xff\xfe<\x00r\x00s\x00s\x00")
def test_any_bytes_give_items_or_a_clean_parse_error(body):
    parse(body)


@SETTINGS
@given(st.lists(st.sampled_from(FEED_TOKENS), max_size=60).map("".join), st.sampled_from(["utf-8", "utf-16", "latin-1"]))
def test_feed_shaped_noise_gives_items_or_a_clean_parse_error(text, encoding):
    parse(text.encode(encoding, errors="surrogatepass" if encoding.startswith("utf") else "replace"))


@SETTINGS
@given(st.lists(st.sampled_from(JSON_TOKENS), max_size=60).map("".join))
def test_json_shaped_noise_gives_items_or_a_clean_parse_error(text):
    parse(text.encode("utf-8", errors="surrogatepass"))


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, len(VALID)), st.integers(0, 8), st.binary(max_size=8)), max_size=6))
def test_mutated_valid_feeds_give_items_or_a_clean_parse_error(edits):
    body = bytearray(VALID)
    for at, cut, insert in edits:
        body[at:at + cut] = insert
    parse(bytes(body))


hosts = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.-]{0,20}", fullmatch=True) | st.sampled_from(
    ["EXAMPLE.com", "[::1]", "127.0.0.1", "xn--bcher-kva.example", "ünïcode.example"])
urls = st.builds(
    lambda scheme, host, port, path, query, frag: f"{scheme}://{host}{port}{path}{query}{frag}",
    st.sampled_from(["http", "https", "HTTP", "HtTpS", "ftp", "javascript", "data"]),
    hosts,
    st.sampled_from(["", ":80", ":443", ":8080", ":0", ":99999", ":x"]),
    st.sampled_from(["", "/", "/a/b", "/a%20b", "/ä", "/a//b/", "/?"]),
    st.lists(st.tuples(st.sampled_from(["utm_source", "UTM_Medium", "q", "a", "utm", "x y", "&", "="]),
                       st.text(max_size=5)), max_size=4).map(
        lambda pairs: ("?" + "&".join(f"{k}={v}" for k, v in pairs)) if pairs else ""),
    st.sampled_from(["", "#", "#frag", "#a?b"]),
)


@SETTINGS
@given(urls | st.text(max_size=60))
def test_canonical_urls_are_idempotent(url):
    once = canonical_url(url)
    if once is None:
        return
    assert canonical_url(once) == once
    assert once.startswith(("http://", "https://")) and "#" not in once
    assert not re.search(r"[?&]utm_", once, re.IGNORECASE)


text_runs = st.text(alphabet=st.characters(blacklist_characters="<>&"), max_size=12)
tags = st.sampled_from(["p", "b", "i", "a", "div", "br", "script", "style", "span", "li", "svg", "title", "x-y"])
attrs = st.sampled_from(["", " class='x'", ' href="javascript:alert(1)"', " onclick=alert(1)", " a=\">\"", " b='<c>'"])
html_docs = st.recursive(
    text_runs,
    lambda inner: st.builds(lambda t, a, body: f"<{t}{a}>{body}</{t}>", tags, attrs, inner)
    | st.builds(lambda t, a: f"<{t}{a}/>", tags, attrs)
    | st.lists(inner, max_size=4).map("".join),
    max_leaves=12,
)


@SETTINGS
@given(html_docs)
def test_html_to_text_never_returns_tags_from_markup(doc):
    out = html_to_text(doc)
    assert not TAG.search(out), (doc, out)
    assert not CONTROLS.search(out)
    assert out == out.strip() and "  " not in out


@SETTINGS
@given(st.lists(st.sampled_from(["<", ">", "&", "#", "x1b;", "&#27;", "&#x9b;", "&#0;", "&lt;", "<b", "</", "<!--",
                                 "<script>", "</script>", "\x1b", "\x9b", "\x00", "a", " ", "\t", "\n", ";"]),
                max_size=30).map("".join) | st.text(max_size=200))
@example("&#27;[31mred")
@example("<p>&amp;#27;[2J</p>")
def test_html_to_text_never_returns_control_characters(text):
    out = html_to_text(text)
    assert not CONTROLS.search(out), (text, out)
    assert out == out.strip() and "  " not in out


@SETTINGS
@given(st.text(max_size=40))
@example("2026-13-45T99:99:99Z")
@example("0000-00-00")
@example("9" * 30)
def test_parse_iso_raises_only_value_error(text):
    try:
        parsed = parse_iso(text)
    except ValueError:
        return
    assert parsed.tzinfo is not None
    assert parse_iso(utc_iso(parsed)) == parsed.astimezone(timezone.utc).replace(microsecond=0)
