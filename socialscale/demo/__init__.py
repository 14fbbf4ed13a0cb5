"""The offline demo: realistic sample feeds served from 127.0.0.1, and the config that reads them."""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
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
    "bluesky": ("bluesky", [("COMPLAINTS", 12), ("PRAISE", 8), ("LEADS", 6), ("MARKETING", 6)]),
    "app-store": ("appstore", [("APP_REVIEWS", 24)]),
}
# The demo's Bluesky account: the handle and app password the local server accepts. The demo puts
# them in the environment (the only place a source reads secrets from) for its own run only.
BSKY_ENV = {"SOCIALSCALE_DEMO_BSKY_HANDLE": "acmeroasters.bsky.social",
            "SOCIALSCALE_DEMO_BSKY_PASSWORD": "demo-demo-demo-demo"}
OUR_BSKY = "acmeroasters.bsky.social"
APP_ID = "1234567890"


@dataclass
class Entry:
    guid: str
    title: str
    text: str
    author: str
    url: str
    published: datetime
    theme: str = ""
    rating: int = 5
    reply_to: str | None = None  # the parent's guid (Atom `thr:in-reply-to`, RFC 4685)


THREAD_SOURCE = "community-forum"  # carries data.THREAD


def build_entries(source: str, now: datetime, seed: int = 7) -> list[Entry]:
    rng = random.Random(f"{seed}:{source}")
    themes = PLAN[source][1]
    entries = []
    for theme, count in themes:
        templates = getattr(data, theme)
        for n in range(count):
            title, text, *stars = templates[n % len(templates)]
            product = rng.choice(data.PRODUCTS)
            # Most talk is recent: ages skew towards the last two days, a tail reaches two weeks back.
            age = timedelta(minutes=int(rng.expovariate(1 / 1800)) % (14 * 24 * 60) + 5)
            who = "acme" if theme == "OWN_POSTS" else rng.choice(data.PEOPLE)
            slug = hashlib.sha1(f"{source}{theme}{n}".encode(), usedforsecurity=False).hexdigest()[:10]
            entries.append(Entry(guid=f"{source}-{slug}", title=title.format(product=product),
                                 text=text.format(product=product, who=who), author=who,
                                 url=f"https://{source}.example.net/p/{slug}?utm_source=feed#c{n}",
                                 published=(now - age).replace(microsecond=0), theme=theme,
                                 rating=int(stars[0]) if stars else 5))
    if source == THREAD_SOURCE:
        for key, who, hours, parent, title, text in data.THREAD:
            entries.append(Entry(guid=f"{source}-{key}", title=title, text=text, author=who,
                                 url=f"https://{source}.example.net/t/{key}",
                                 published=(now - timedelta(hours=hours)).replace(microsecond=0),
                                 reply_to=f"urn:demo:{source}-{parent}" if parent else None))
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
            + (f"<thr:in-reply-to ref='{escape(e.reply_to)}'/>" if e.reply_to else "") + "</entry>" for e in entries)
        doc = ("<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom' "
               f"xmlns:thr='http://purl.org/syndication/thread/1.0'><title>{source}</title>"
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
    if kind == "bluesky":
        return json.dumps({"posts": _bluesky_posts(entries)}).encode("utf-8"), "application/json"
    if kind == "appstore":
        last = f"https://itunes.apple.com/us/rss/customerreviews/page=1/id={APP_ID}/sortby=mostrecent/xml"
        return json.dumps({"feed": {"author": {"name": {"label": "iTunes Store"}},
                                    "link": [{"attributes": {"rel": "last", "href": last}}], "entry": [
            {"author": {"name": {"label": e.author}, "uri": {"label": f"https://itunes.apple.com/us/reviews/id{n}"}},
             "updated": {"label": e.published.astimezone(timezone(timedelta(hours=-8))).isoformat()},
             "im:rating": {"label": str(e.rating)}, "im:version": {"label": "4.2"}, "id": {"label": f"9{n:09d}"},
             "title": {"label": e.title}, "content": {"label": e.text, "attributes": {"type": "text"}},
             "im:voteSum": {"label": "0"}, "im:voteCount": {"label": "0"}}
            for n, e in enumerate(entries)]}}).encode("utf-8"), "application/json"
    # A partner whose feed URL now answers with a maintenance page: not a feed, so the pull reports
    # that source's error in one line and stores all the others.
    return b"<!DOCTYPE html><html><body><h1>Partner portal down for maintenance</h1></body></html>", \
        "application/rss+xml"


def _bluesky_posts(entries: list[Entry]) -> list[dict[str, Any]]:
    """searchPosts' postViews; the shop's account answers every third complaint within the hour."""
    posts: list[dict[str, Any]] = []

    def view(rkey: str, handle: str, text: str, at: datetime, reply_to: str | None, likes: int) -> dict[str, Any]:
        uri = f"at://did:plc:{hashlib.sha1(handle.encode(), usedforsecurity=False).hexdigest()[:24]}" \
              f"/app.bsky.feed.post/{rkey}"
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": text, "createdAt": utc_iso(at)}
        if reply_to:
            record["reply"] = {"root": {"uri": reply_to, "cid": "bafy"}, "parent": {"uri": reply_to, "cid": "bafy"}}
        return {"uri": uri, "cid": "bafy" + rkey, "author": {"did": uri.split("/")[2], "handle": handle},
                "record": record, "likeCount": likes, "repostCount": likes // 3, "replyCount": 0, "quoteCount": 0,
                "indexedAt": utc_iso(at)}

    for n, e in enumerate(entries):
        handle = f"{e.author.replace('_', '').replace('.', '')}.bsky.social"
        post = view(f"3l{n:011d}", handle, e.text, e.published, None, (n * 7) % 23)
        posts.append(post)
        if e.theme == "COMPLAINTS" and n % 3 == 0:
            posts.append(view(f"3m{n:011d}", OUR_BSKY, f"@{handle} So sorry! DM us your order number and we'll "
                              "put it right today.", e.published + timedelta(minutes=25 + n), post["uri"], 1))
    posts.sort(key=lambda p: p["record"]["createdAt"], reverse=True)
    return posts


@contextmanager
def serve(now: datetime) -> Iterator[str]:
    """Serve every demo feed from 127.0.0.1 on a free port; yields the base URL."""
    documents = {_path(name): render_feed(name, now) for name in PLAN}
    session = json.dumps({"did": "did:plc:acmeroastersdemo0000000", "handle": OUR_BSKY,
                          "accessJwt": "demo-access", "refreshJwt": "demo-refresh"}).encode("utf-8")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            sent = json.loads(self.rfile.read(length) or b"{}")
            wanted = {"identifier": BSKY_ENV["SOCIALSCALE_DEMO_BSKY_HANDLE"],
                      "password": BSKY_ENV["SOCIALSCALE_DEMO_BSKY_PASSWORD"]}
            if self.path != "/xrpc/com.atproto.server.createSession" or sent != wanted:
                self.send_error(401)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(session)))
            self.end_headers()
            self.wfile.write(session)

        def do_GET(self) -> None:  # noqa: N802
            found = documents.get(self.path.split("?", 1)[0])
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


def _path(name: str) -> str:
    kind = PLAN[name][0]
    if kind == "bluesky":
        return "/xrpc/app.bsky.feed.searchPosts"
    if kind == "appstore":
        return f"/us/rss/customerreviews/page=1/id={APP_ID}/sortby=mostrecent/json"
    return f"/{name}.json" if kind == "jsonfeed" else f"/{name}.xml"


def _source_yaml(name: str, base_url: str) -> str:
    kind = PLAN[name][0]
    if kind == "bluesky":
        handle, password = BSKY_ENV
        return (f"  - {{name: {name}, type: bluesky, api_url: \"{base_url}\", query: acme, handle_env: {handle}, "
                f"password_env: {password}, backfill: 14d}}")
    if kind == "appstore":
        return f"  - {{name: {name}, type: appstore, api_url: \"{base_url}\", app_id: {APP_ID}, country: us, backfill: 14d}}"
    return f"  - {{name: {name}, type: feed, url: \"{base_url}{_path(name)}\"}}"


def config_yaml(base_url: str, database: str) -> str:
    """The demo's socialscale.yaml: the same format a user writes."""
    sources = "\n".join(_source_yaml(name, base_url) for name in PLAN)
    return f"""# Written by `socialscale demo`: an imaginary coffee roaster and what the web says about it.
database: {json.dumps(database)}
timezone: Europe/London
default_lane: listening
fetch:
  allow_private: [127.0.0.1]   # the demo's feeds are served on this machine
  concurrency: 1               # one source after another: the same item ids on every run
team:
  alice: {{handles: ["bluesky:{OUR_BSKY}"]}}
  bob: {{handles: ["feed:acme_bob"]}}   # his forum account: his replies answer conversations
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
