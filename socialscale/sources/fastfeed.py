"""A fast path for well-formed RSS 2.0, RSS 1.0 (RDF) and Atom 1.0, read with lxml.

feedparser reads anything, at about 6,700 items/s per core; this reads the feeds most servers
send, ten times faster, and gives exactly the fields feedparser would (guid, title, link, text,
author, date, in_reply_to, categories). It is deliberately unsure: anything it does not know how
feedparser would read (a DOCTYPE, xml:base, an unknown element in an entry, a date outside the
strict RFC 822 / W3C forms, Atom 0.3, more than one author ...) returns None, and the caller
falls back to feedparser. tests/test_fastfeed.py compares the two over a corpus.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_tz
from html import escape
from typing import Any

from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RSS1 = "http://purl.org/rss/1.0/"
DC = "http://purl.org/dc/elements/1.1/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
THR = "http://purl.org/syndication/thread/1.0"
XHTML = "http://www.w3.org/1999/xhtml"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
# Entry children that feedparser reads into nothing we keep (or into what we read the same way).
HARMLESS_NS = {"http://purl.org/rss/1.0/modules/slash/", "http://wellformedweb.org/CommentAPI/",
               "http://rssnamespace.org/feedburner/ext/1.0"}
RSS_KNOWN = {"title", "link", "description", "guid", "pubDate", "author", "category", "comments",
             "enclosure", "source", f"{{{DC}}}creator", f"{{{DC}}}date", f"{{{DC}}}subject",
             f"{{{CONTENT}}}encoded", f"{{{THR}}}in-reply-to", f"{{{THR}}}total"}
RDF_KNOWN = {f"{{{RSS1}}}title", f"{{{RSS1}}}link", f"{{{RSS1}}}description", f"{{{DC}}}creator",
             f"{{{DC}}}date", f"{{{DC}}}subject", f"{{{CONTENT}}}encoded"}
ATOM_KNOWN = {f"{{{ATOM}}}{name}" for name in ("id", "title", "link", "content", "summary", "author",
                                               "contributor", "published", "updated", "category", "rights")} \
    | {f"{{{THR}}}in-reply-to", f"{{{THR}}}total"}

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                          remove_comments=True, remove_pis=True, recover=False)
_RFC822 = re.compile(r"(?:[A-Za-z]{3}, )?\d{1,2} [A-Za-z]{3} \d{4} \d{2}:\d{2}(?::\d{2})? "
                     r"(?:[+-]\d{4}|GMT|UTC?|[ECMP][SD]T)")
_W3C = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})")


_C1 = re.compile("[\x80-\x9f]")


class Unsure(Exception):
    """This document is not one the fast path reads exactly as feedparser would."""


def read(body: bytes) -> list[dict[str, Any]] | None:
    """The entries of a well-formed feed, as feedparser would give them, or None when unsure."""
    head = body[:4096]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head or b"<!doctype" in head:
        return None
    try:
        root = etree.fromstring(body, _PARSER)
        entries = _entries(root)
    except (etree.XMLSyntaxError, Unsure, ValueError):
        return None
    for entry in entries:
        for value in entry.values():
            if isinstance(value, str) and _C1.search(value):
                return None  # feedparser reads C1 controls as the cp1252 characters they were meant to be
    return entries


def _entries(root: Any) -> list[dict[str, Any]]:
    if root.find(".//*[@{http://www.w3.org/XML/1998/namespace}base]") is not None or root.get(XML_BASE):
        raise Unsure("xml:base")
    tag = root.tag
    if tag == "rss" and root.get("version") in ("2.0", "0.91", "0.92", "0.93", "0.94"):
        channel = root.find("channel")
        if channel is None or root.find("item") is not None:
            raise Unsure("items outside the channel")
        return [_rss_entry(item, RSS_KNOWN) for item in channel.iterfind("item")]
    if tag == f"{{{RDF}}}RDF":
        if root.find(f"{{{RSS1}}}channel") is None:
            raise Unsure("RDF without an RSS 1.0 channel (RSS 0.90?)")
        return [_rss_entry(item, RDF_KNOWN) for item in root.iterfind(f"{{{RSS1}}}item")]
    if tag == f"{{{ATOM}}}feed":
        if any(isinstance(child.tag, str) and child.tag.endswith("item") for child in root):
            raise Unsure("items in an Atom feed")
        return [_atom_entry(entry) for entry in root.iterfind(f"{{{ATOM}}}entry")]
    raise Unsure(f"root element {tag!r}")


def _check_children(entry: Any, known: set[str]) -> None:
    for child in entry:
        name = child.tag
        if not isinstance(name, str):
            continue
        if name not in known and (not name.startswith("{") or name[1:].split("}", 1)[0] not in HARMLESS_NS):
            raise Unsure(f"entry element {name!r}")


def _text(element: Any) -> str:
    return "".join(element.itertext()) if len(element) else (element.text or "")


def _rss_entry(item: Any, known: set[str]) -> dict[str, Any]:
    _check_children(item, known)
    entry: dict[str, Any] = {"id": item.get(f"{{{RDF}}}about"), "link": None, "title": None, "text": None,
                             "author": None, "date": None, "reply_to": None, "categories": []}
    parts: dict[str, Any] = {"authors": 0}  # summary, content, published, updated, guid_link: combined at the end
    for child in item:
        name = child.tag
        if not isinstance(name, str):
            continue
        local = name.rsplit("}", 1)[-1]
        if len(child) and name != f"{{{THR}}}in-reply-to":
            raise Unsure(f"markup inside <{local}>")  # feedparser would read it as escaped HTML
        _rss_child(child, local, (child.text or "").strip(), entry, parts)
    if entry["link"] is None and parts.get("guid_link"):
        entry["link"] = parts["guid_link"]
    return _finish(entry, parts)


def _rss_child(child: Any, local: str, value: str, entry: dict[str, Any], parts: dict[str, Any]) -> None:
    if local in ("title", "link"):
        entry[local] = value
    elif local in ("description", "encoded"):
        parts["summary" if local == "description" else "content"] = value
    elif local == "guid":
        entry["id"] = value
        if {k.lower(): v for k, v in child.attrib.items()}.get("ispermalink", "true") == "true":
            parts["guid_link"] = value
    elif local in ("author", "creator"):
        parts["authors"] += 1
        entry["author"] = value
    elif local == "pubDate":
        parts["published"] = _rfc822(value)
    elif local == "date":
        parts["updated"] = _w3c(value)
    elif local in ("category", "subject") and value:
        entry["categories"].append(value)
    elif local == "in-reply-to":
        entry["reply_to"] = child.get("ref") or child.get("href")


def _atom_entry(element: Any) -> dict[str, Any]:
    _check_children(element, ATOM_KNOWN)
    entry: dict[str, Any] = {"id": None, "link": None, "title": None, "text": None, "author": None,
                             "date": None, "reply_to": None, "categories": []}
    parts: dict[str, Any] = {"authors": 0}
    for child in element:
        name = child.tag
        if not isinstance(name, str):
            continue
        _atom_child(child, name.rsplit("}", 1)[-1], entry, parts)
    return _finish(entry, parts)


def _atom_child(child: Any, local: str, entry: dict[str, Any], parts: dict[str, Any]) -> None:
    if local == "id":
        entry["id"] = (child.text or "").strip()
        if entry["link"] is None:
            entry["link"] = entry["id"]  # feedparser: an id is a link until a real one comes
    elif local == "title":
        entry["title"] = _atom_text(child)
    elif local == "link":
        rel = child.get("rel", "alternate")
        kind = child.get("type", "text/html")
        href = child.get("href")
        if href is None:
            raise Unsure("a link without href")
        if rel == "alternate" and kind in ("text/html", "application/xhtml+xml"):
            entry["link"] = href.strip()
    elif local in ("content", "summary"):
        parts[local] = _atom_text(child)
    elif local == "author":
        parts["authors"] += 1
        entry["author"] = _atom_author(child)
    elif local in ("published", "updated"):
        parts[local] = _w3c((child.text or "").strip())
    elif local == "category" and child.get("term"):
        entry["categories"].append(child.get("term"))
    elif local == "in-reply-to":
        entry["reply_to"] = child.get("ref") or child.get("href")


def _finish(entry: dict[str, Any], parts: dict[str, Any]) -> dict[str, Any]:
    if parts["authors"] > 1:
        raise Unsure("more than one author")
    content = parts.get("content")
    entry["text"] = content if content is not None else parts.get("summary") or ""
    entry["date"] = parts.get("published") or parts.get("updated")
    return entry


def _atom_text(element: Any) -> str:
    kind = element.get("type", "text")
    if element.get("src") is not None or element.get("mode") is not None:
        raise Unsure("out-of-line or Atom 0.3 content")
    if kind in ("text", "html"):
        if len(element):
            raise Unsure("markup inside a text construct")
        return (element.text or "").strip()
    if kind == "xhtml":
        div = element.find(f"{{{XHTML}}}div")
        if div is None or len(element) != 1 or (element.text or "").strip():
            raise Unsure("xhtml content without its div")
        parts = [escape(div.text or "", quote=False)]
        for child in div:
            parts.append(etree.tostring(child, encoding="unicode", with_tail=True))
        return "".join(parts).strip()
    raise Unsure(f"content type {kind!r}")


def _atom_author(element: Any) -> str | None:
    name = email = None
    for child in element:
        if child.tag == f"{{{ATOM}}}name":
            name = (child.text or "").strip()
        elif child.tag == f"{{{ATOM}}}email":
            email = (child.text or "").strip()
    if name and email:
        return f"{name} ({email})"
    return name or email or None


def _rfc822(value: str) -> datetime:
    if not _RFC822.fullmatch(value):
        raise Unsure(f"date {value!r}")
    parts = parsedate_tz(value)
    if parts is None:
        raise Unsure(f"date {value!r}")
    year, month, day, hour, minute, second = parts[:6]
    offset = parts[9]
    when = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    return when - timedelta(seconds=offset or 0)


def _w3c(value: str) -> datetime:
    if not _W3C.fullmatch(value):
        raise Unsure(f"date {value!r}")
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
