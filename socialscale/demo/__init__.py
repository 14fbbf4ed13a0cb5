"""The offline demo: realistic sample feeds served from 127.0.0.1, and the config that reads them."""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

from socialscale.demo import data
from socialscale.timeutil import utc_iso

# source name -> (format, themes with how many items of each)
PLAN: dict[str, tuple[str, list[tuple[str, int]]]] = {
    "blog-comments": ("rss", [("COMPLAINTS", 30), ("PRAISE", 15), ("MARKETING", 10), ("ODD", 1)]),
    "community-forum": ("atom", [("COMPLAINTS", 25), ("LEADS", 20), ("COMPETITOR", 15)]),
    "news-mentions": ("rss", [("NEWS", 25), ("MARKETING", 15)]),
    "reviews": ("jsonfeed", [("COMPLAINTS", 25), ("PRAISE", 25)]),
    "client-mail": ("atom", [("CLIENT", 30)]),
    "local-board": ("rdf", [("JOBS", 15), ("NEWS", 10), ("LEADS", 8)]),
    "acme-blog": ("jsonfeed", [("OWN_POSTS", 18)]),
    "partner-feed": ("broken", []),
}


@dataclass
class Entry:
    guid: str
    title: str
    text: str
    author: str
    url: str
    published: datetime


def build_entries(source: str, now: datetime, seed: int = 7) -> list[Entry]:
    rng = random.Random(f"{seed}:{source}")
    themes = PLAN[source][1]
    entries = []
    for theme, count in themes:
        templates = getattr(data, theme)
        for n in range(count):
            title, text = templates[n % len(templates)]
            product = rng.choice(data.PRODUCTS)
            # Most talk is recent: ages skew towards the last two days, a tail reaches two weeks back.
            age = timedelta(minutes=int(rng.expovariate(1 / 1800)) % (14 * 24 * 60) + 5)
            who = "acme" if theme == "OWN_POSTS" else rng.choice(data.PEOPLE)
            slug = hashlib.sha1(f"{source}{theme}{n}".encode(), usedforsecurity=False).hexdigest()[:10]
            entries.append(Entry(guid=f"{source}-{slug}", title=title.format(product=product),
                                 text=text.format(product=product, who=who), author=who,
                                 url=f"https://{source}.example.net/p/{slug}?utm_source=feed#c{n}",
                                 published=(now - age).replace(microsecond=0)))
    entries.sort(key=lambda e: e.published, reverse=True)
    return entries


def render_feed(source: str, now: datetime) -> tuple[bytes, str]:
    kind = PLAN[source][0]
    entries = build_entries(source, now)
    if kind == "rss":
        items = "".join(
            f"<item><title>{escape(e.title)}</title><link>{escape(e.url)}</link><guid isPermaLink='false'>{e.guid}</guid>"
            f"<pubDate>{format_datetime(e.published)}</pubDate><dc:creator>{escape(e.author)}</dc:creator>"
            f"<description>{escape('<p>' + escape(e.text) + '</p>')}</description></item>" for e in entries)
        doc = (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
               f"<channel><title>{source}</title><link>https://{source}.example.net/</link>"
               f"<description>Demo feed</description>{items}</channel></rss>")
        return doc.encode("utf-8"), "application/rss+xml"
    if kind == "atom":
        items = "".join(
            f"<entry><id>urn:demo:{e.guid}</id><title>{escape(e.title)}</title><link href='{escape(e.url)}'/>"
            f"<published>{utc_iso(e.published)}</published><updated>{utc_iso(e.published)}</updated>"
            f"<author><name>{escape(e.author)}</name></author><content type='html'>{escape(escape(e.text))}</content>"
            "</entry>" for e in entries)
        doc = (f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>{source}</title>"
               f"<id>urn:demo:{source}</id><updated>{utc_iso(now)}</updated>{items}</feed>")
        return doc.encode("utf-8"), "application/atom+xml"
    if kind == "rdf":
        items = "".join(
            f"<item rdf:about='{escape(e.url)}'><title>{escape(e.title)}</title><link>{escape(e.url)}</link>"
            f"<description>{escape(e.text)}</description><dc:date>{utc_iso(e.published)}</dc:date>"
            f"<dc:creator>{escape(e.author)}</dc:creator></item>" for e in entries)
        doc = ("<?xml version='1.0' encoding='utf-8'?><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' "
               "xmlns='http://purl.org/rss/1.0/' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
               f"<channel rdf:about='https://{source}.example.net/'><title>{source}</title>"
               f"<link>https://{source}.example.net/</link><description>Demo</description></channel>{items}</rdf:RDF>")
        return doc.encode("utf-8"), "application/rdf+xml"
    if kind == "jsonfeed":
        version = "https://jsonfeed.org/version/1.1" if source == "reviews" else "https://jsonfeed.org/version/1"
        author_key = "authors" if version.endswith("1.1") else "author"
        feed: dict[str, Any] = {"version": version, "title": source, "home_page_url": f"https://{source}.example.net/",
                                "items": []}
        for e in entries:
            author: Any = [{"name": e.author}] if author_key == "authors" else {"name": e.author}
            feed["items"].append({"id": e.guid, "url": e.url, "title": e.title, "content_text": e.text,
                                  "date_published": e.published.isoformat(), author_key: author})
        return json.dumps(feed).encode("utf-8"), "application/feed+json"
    # A partner whose feed URL now answers with a maintenance page: not a feed, so the pull reports
    # that source's error in one line and stores all the others.
    return b"<!DOCTYPE html><html><body><h1>Partner portal down for maintenance</h1></body></html>", \
        "application/rss+xml"


@contextmanager
def serve(now: datetime) -> Iterator[str]:
    """Serve every demo feed from 127.0.0.1 on a free port; yields the base URL."""
    documents = {f"/{name}.xml" if PLAN[name][0] != "jsonfeed" else f"/{name}.json": render_feed(name, now)
                 for name in PLAN}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            found = documents.get(self.path)
            if found is None:
                self.send_error(404)
                return
            body, content_type = found
            etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def config_yaml(base_url: str, database: str) -> str:
    """The demo's socialscale.yaml: the same format a user writes."""
    sources = "\n".join(
        f"  - {{name: {name}, type: feed, url: \"{base_url}/{name}.{'json' if fmt == 'jsonfeed' else 'xml'}\"}}"
        for name, (fmt, _) in PLAN.items())
    return f"""# Written by `socialscale demo`: an imaginary coffee roaster and what the web says about it.
database: {json.dumps(database)}
timezone: Europe/London
default_lane: listening
fetch:
  allow_private: [127.0.0.1]   # the demo's feeds are served on this machine
team:
  alice: {{}}
  bob: {{}}
  carol: {{}}
lanes:
  listening:         {{respond: false}}
  customer_service:  {{sla: 2h, owner: alice}}
  client_relations:  {{sla: 4h, owner: carol}}
  social_marketing:  {{sla: 1d, owner: bob}}
  sales_prospecting: {{sla: 1d, owner: bob}}
  publishing:        {{respond: false}}
sources:
{sources}
{data.DEMO_RULES}"""
