"""Feed parsing, run inside the parser pool's child processes (see socialscale.parsepool).

The format is detected from the content, never trusted from Content-Type: JSON Feed by its
own small reader (feedparser does not read it), RSS 0.9x/1.0/2.0 and Atom by feedparser, or by
the lxml fast path (sources/fastfeed.py) for the well-formed feeds it reads exactly as feedparser would.
"""

from __future__ import annotations

import calendar
import io
import json
import re
from datetime import datetime, timezone
from typing import Any

import feedparser

from socialscale.errors import ParseError
from socialscale.models import Item
from socialscale.problems import json_problem, xml_problem
from socialscale.sources import fastfeed
from socialscale.sources.base import dedupe, make_item
from socialscale.text import resolve_link
from socialscale.timeutil import parse_iso, utc_iso

feedparser.SANITIZE_HTML = False  # we keep plain text only: the sanitizer is wasted work
feedparser.RESOLVE_RELATIVE_URIS = False
# Complaints about the Content-Type or a declared-vs-detected encoding are not problems of the feed's content.
_HARMLESS = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
MIN_YEAR = 1990


def parse_feed(body: bytes, source: str, base_url: str) -> tuple[list[Item], list[str]]:
    """Items and warnings from a feed document of any supported format."""
    body = _utf8_if_wide_json(body)
    first = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if not first:
        raise ParseError("empty response: no feed in it")
    if first in (b"{", b"["):
        items, warnings = _json_feed(body, source, base_url)
    else:
        items, warnings = _xml_feed(body, source, base_url)
    cut = sum(1 for item in items if item.extra.get("truncated"))
    if cut:
        warnings.append(f"{cut} entries had an over-long title or text, truncated (noted in extra.truncated)")
    return items, warnings


_vader: Any = None
_rules: tuple[Any, ...] = ()
_matcher: Any = None


def use_rules(rules: Any) -> None:
    """The pull's rules, given to each parser process as it starts (ParsePool's `prepare`): then
    `parse_feed_scored` also decides each item's rules, off the pull's main process."""
    global _rules, _matcher
    _rules, _matcher = tuple(rules), None


def parse_feed_scored(body: bytes, source: str, base_url: str
                      ) -> tuple[list[Item], list[str], list[float | None], list[tuple[int, ...]] | None]:
    """`parse_feed`, each item's sentiment score (`Vader.item_score` of its title, text and language)
    and, when the pull gave this process its rules (`use_rules`), the rules that decide each item
    (`Matcher.decide_many` of `item_fields`); else None.

    The pull asks for this in its parser processes: scored and matched there, on both cores, rather
    than by the tagger in the pull's writer thread, which holds the GIL the event loop needs
    (benchmarks/README.md, "Pull"). The tagger uses a score or a decision only for exactly the same
    inputs (pipeline.Prescored, pipeline.Prematched)."""
    global _vader, _matcher
    items, warnings = parse_feed(body, source, base_url)
    if _vader is None:
        from socialscale.insight.sentiment import Vader

        _vader = Vader()
    scores = [_vader.item_score(i.title, i.text, i.lang) for i in items]
    if not _rules:
        return items, warnings, scores, None
    from socialscale.rules.matcher import Matcher, item_fields

    if _matcher is None:
        _matcher = Matcher(list(_rules))
    return items, warnings, scores, _matcher.decide_many([item_fields(i) for i in items])


_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
              (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def _utf8_if_wide_json(body: bytes) -> bytes:
    """A UTF-16 or UTF-32 document with a byte-order mark, re-encoded as UTF-8 when it is JSON (a
    JSON Feed saved by a Windows tool); XML is left to feedparser, which reads such marks itself."""
    for bom, encoding in _WIDE_BOMS:
        if body.startswith(bom):
            try:
                text = body[len(bom):].decode(encoding)
            except UnicodeDecodeError:
                return body
            return text.encode("utf-8", "surrogatepass") if text.lstrip()[:1] in ("{", "[") else body
    return body


def _utc(struct: Any) -> datetime | None:
    """feedparser's *_parsed tuples are UTC: calendar.timegm, never time.mktime."""
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), tz=timezone.utc)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def _plausible(when: datetime) -> str | None:
    """A publication date, or None for one no web post can have: before 1990 (epoch-zero and
    year-100 bugs) it would make an item decades old and breach every SLA. Future dates are
    kept: an item's start is never later than when it was first seen (docs/reports.md)."""
    if when.year < MIN_YEAR:
        return None
    return utc_iso(when)


def _date_of(entry: dict[str, Any]) -> Any:
    # dict.get: FeedParserDict.get("updated_parsed") falls back to published_parsed with a warning.
    return dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")


_CHAR_REF = re.compile(rb"&#(?:([0-9]{1,10})|[xX]([0-9a-fA-F]{1,8}));")


def _no_surrogate_refs(body: bytes) -> bytes:
    """`&#55296;` (a lone UTF-16 surrogate) made `&#65533;` (U+FFFD): feedparser would decode it to
    a string UTF-8 cannot encode and give up on the whole feed."""
    if b"&#" not in body:
        return body

    def fix(m: re.Match[bytes]) -> bytes:
        number = int(m.group(1)) if m.group(1) else int(m.group(2), 16)
        return b"&#65533;" if 0xD800 <= number <= 0xDFFF else m.group(0)

    return _CHAR_REF.sub(fix, body)


def _xml_feed(body: bytes, source: str, base_url: str, fast: bool = True) -> tuple[list[Item], list[str]]:
    body = _no_surrogate_refs(body)
    entries = fastfeed.read(body) if fast else None
    warnings: list[str] = []
    if entries is None:  # not a feed the fast path reads exactly as feedparser would
        entries = _feedparser_entries(body, warnings)
    items = []
    feed_language = _feed_language(body)
    for entry in entries:
        link = entry["link"]
        if link:
            link = resolve_link(base_url, link)
        extra: dict[str, Any] = {}
        if entry["categories"]:
            extra["categories"] = entry["categories"][:50]
        items.append(make_item(
            source, guid=entry["id"] or link, title=entry["title"] or "", text=entry["text"], url=link,
            author=entry["author"], published_at=_plausible(entry["date"]) if entry["date"] else None,
            in_reply_to=entry["reply_to"], extra=extra, lang=feed_language))
    items, repeats = dedupe(items)
    if repeats:
        warnings.append(f"{repeats} entries repeated a guid; kept the first of each")
    return items, warnings


def _feedparser_entries(body: bytes, warnings: list[str]) -> list[dict[str, Any]]:
    """Entries as feedparser reads them, in the fast path's shape (see fastfeed.read)."""
    # No base URL is given to feedparser: it would rewrite permalink guids against it, and a guid
    # must not change when a feed moves. Links are resolved by the caller.
    try:
        parsed = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
    except RecursionError:
        raise ParseError("XML nested too deeply to parse") from None
    except (MemoryError, ParseError):
        raise
    except Exception as exc:  # noqa: BLE001 - feedparser's loose parser has its own failure modes
        raise ParseError(f"not a readable feed ({type(exc).__name__}: {exc})") from None
    if not parsed.get("version") and not parsed.entries:
        head = body[:1024].lower()
        if b"<html" in head or b"<!doctype html" in head:
            raise ParseError("not a feed: the server sent an HTML page (is the URL the feed's, not the site's?)")
        reason = parsed.get("bozo_exception")
        raise ParseError(f"not an RSS, Atom or JSON feed{f': {xml_problem(reason)}' if reason else ''}")
    if parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), _HARMLESS):
        warnings.append(f"feed is malformed but readable: {xml_problem(parsed.get('bozo_exception'))}")
    entries = []
    for entry in parsed.entries:
        content = entry.get("content")
        reply_to = entry.get("thr_in-reply-to")
        if isinstance(reply_to, dict):
            reply_to = reply_to.get("ref") or reply_to.get("href")
        entries.append({
            "id": entry.get("id"), "link": entry.get("link"), "title": entry.get("title", ""),
            "text": content[0].get("value", "") if content else entry.get("summary", ""),
            "author": entry.get("author") or (entry.get("author_detail") or {}).get("name"),
            "date": _utc(_date_of(entry)), "reply_to": reply_to,
            "categories": [t.get("term") for t in entry.get("tags") or () if t.get("term")]})
    return entries


def _json_feed(body: bytes, source: str, base_url: str) -> tuple[list[Item], list[str]]:
    try:
        doc = json.loads(body)
    except RecursionError:
        raise ParseError("JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"invalid JSON: {json_problem(exc)}") from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or "jsonfeed.org" not in version:
        hint = ""
        if isinstance(doc, dict) and ("error" in doc or "message" in doc):
            hint = f": the server answered with an error ({str(doc.get('error') or doc.get('message'))[:200]})"
        raise ParseError(f"a JSON document but not a JSON Feed (no jsonfeed.org version){hint}")
    entries = doc.get("items")
    if not isinstance(entries, list):
        raise ParseError("JSON Feed without an `items` list")
    warnings: list[str] = []
    items = []
    feed_author = _json_author(doc)
    feed_language = doc.get("language")
    skipped = 0
    for entry in entries:
        if not isinstance(entry, dict):
            skipped += 1
            continue
        link = entry.get("url") if isinstance(entry.get("url"), str) else None
        if link:
            link = resolve_link(base_url, link)
        html = entry.get("content_html")
        text = html if isinstance(html, str) else entry.get("content_text") or entry.get("summary") or ""
        items.append(make_item(
            source, guid=entry.get("id") if isinstance(entry.get("id"), (str, int)) else None,
            title=entry.get("title") if isinstance(entry.get("title"), str) else "", text=text, url=link,
            author=_json_author(entry) or feed_author,
            published_at=_json_date(entry.get("date_published") or entry.get("date_modified")),
            extra={"tags": _strings(entry["tags"])} if isinstance(entry.get("tags"), list) else None,
            html=isinstance(html, str), lang=entry.get("language") or feed_language))
    if skipped:
        warnings.append(f"{skipped} items were not objects and were skipped")
    items, repeats = dedupe(items)
    if repeats:
        warnings.append(f"{repeats} items repeated an id; kept the first of each")
    return items, warnings


_FEED_LANGUAGE = re.compile(rb"<(?:dc:)?language>\s*([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*)\s*</(?:dc:)?language>"
                            rb"|<feed\b[^>]*?\bxml:lang=[\"']([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*)[\"']", re.IGNORECASE)


def _feed_language(body: bytes) -> str | None:
    """The feed's language: RSS `<language>` (or RDF `<dc:language>`), else the Atom root's xml:lang;
    looked for near the top, where the channel's elements come before the items."""
    found = _FEED_LANGUAGE.search(body[:16384])
    return (found.group(1) or found.group(2)).decode("ascii") if found else None


def _strings(values: list[Any], limit: int = 50) -> list[str]:
    """Only the strings: a hostile list may hold objects nested deep enough to break json.dumps later."""
    return [v[:200] for v in values if isinstance(v, str)][:limit]


def _json_author(obj: dict[str, Any]) -> str | None:
    authors = obj.get("authors")
    if isinstance(authors, list) and authors and isinstance(authors[0], dict):
        name = authors[0].get("name")
        return name if isinstance(name, str) else None
    author = obj.get("author")  # JSON Feed 1.0
    if isinstance(author, dict) and isinstance(author.get("name"), str):
        return str(author["name"])
    return None


def _json_date(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return _plausible(parse_iso(value))
    except (ValueError, OverflowError):
        return None
