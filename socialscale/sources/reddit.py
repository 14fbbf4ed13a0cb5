"""`type: reddit` — a subreddit's new posts or comments, or a search, via Reddit's public JSON listings.

Listings are newest first. A first pull pages back with `after` until `backfill:`; later pulls
ask with `before=<newest fullname seen>` for what is newer, paging forward. If that anchor was
deleted Reddit answers an empty listing forever, so an empty answer is checked once against the
newest page. Reddit asks every client for a descriptive User-Agent; it is sent as a header.
"""

from __future__ import annotations

import re
from typing import Any

from socialscale import __version__
from socialscale.insight import reach
from socialscale.models import Item
from socialscale.sources import api
from socialscale.sources.base import Collected, SourceContext, make_item
from socialscale.text import redact_url

DEFAULT_API = "https://www.reddit.com"
SITE = "https://www.reddit.com"  # permalinks are relative to the public site, whatever api_url is
PAGE = 100
DEFAULT_USER_AGENT = f"python:socialscale:{__version__} (+https://github.com/socialscale/socialscale)"
LISTINGS = ("new", "comments")
_SUBREDDIT = re.compile(r"^[A-Za-z0-9_]{2,21}$")
OPTION_KEYS: tuple[str, ...] = (*api.COMMON_KEYS, "subreddit", "listing", "search", "user_agent")


def validate(url: str | None, options: dict[str, Any]) -> list[tuple[str, str]]:
    problems = api.validate_common(options, token=False)
    problems += api.optional_string(options, "search") + api.optional_string(options, "user_agent")
    sub = options.get("subreddit")
    if sub is not None and not (isinstance(sub, str) and _SUBREDDIT.match(_bare(sub))):
        problems.append(("subreddit", f"expected a subreddit name such as smallbusiness, got {sub!r}"))
    if not sub and not options.get("search"):
        problems.append(("subreddit", "give a subreddit (its new posts or comments) or a search query"))
    listing = options.get("listing")
    if listing is not None and listing not in LISTINGS:
        problems.append(("listing", f"expected one of {', '.join(LISTINGS)}, got {listing!r}"))
    if listing is not None and options.get("search"):
        problems.append(("listing", "does not apply to a search (a search lists posts)"))
    return problems


def _bare(name: str) -> str:
    return name.strip().removeprefix("/").removeprefix("r/")


def _endpoint(ctx: SourceContext) -> tuple[str, dict[str, Any]]:
    opts = ctx.source.options
    base = api.base_url(ctx, DEFAULT_API)
    sub = _bare(str(opts["subreddit"])) if opts.get("subreddit") else None
    if opts.get("search"):
        params: dict[str, Any] = {"q": str(opts["search"]), "sort": "new", "type": "link"}
        if sub:
            return f"{base}/r/{sub}/search.json", {**params, "restrict_sr": "1"}
        return f"{base}/search.json", params
    return f"{base}/r/{sub}/{opts.get('listing') or 'new'}.json", {}


@api.collector()
async def collect(run: api.Run, _token: str | None) -> Collected:
    ctx = run.ctx
    url, fixed = _endpoint(ctx)
    headers = {"User-Agent": str(ctx.source.options.get("user_agent") or DEFAULT_USER_AGENT)}
    fp = api.fingerprint("reddit", url, fixed)
    prev = run.previous(fp)
    anchor = prev.get("before") if prev and isinstance(prev.get("before"), str) else None
    anchor_time = api.n(prev, "created") if prev else None
    lister = _Lister(run, url, fixed, headers, api.max_pages(ctx))
    if anchor and anchor_time is not None:
        lister.newest = (anchor_time, anchor)
        await lister.forward(anchor, anchor_time)
    else:
        await lister.back(run.cutoff.timestamp(), first=True)
    cursor: dict[str, Any] = {"query": fp}
    if lister.newest is not None:
        cursor.update(created=lister.newest[0], before=lister.newest[1])
    return run.finish(cursor)


class _Lister:
    """Pages through one listing, keeping the newest (created_utc, fullname) seen."""

    def __init__(self, run: api.Run, url: str, fixed: dict[str, Any], headers: dict[str, str], pages: int) -> None:
        self.run, self.url, self.fixed, self.headers, self.pages = run, url, fixed, headers, pages
        self.newest: tuple[float, str] | None = None

    async def page(self, extra: dict[str, Any], limit: int = PAGE) -> tuple[list[Item], dict[str, Any]] | None:
        if not await self.run.ready():
            return None
        res, doc = await self.run.get_json(self.url, params={**self.fixed, "limit": limit, "raw_json": 1, **extra},
                                           headers=self.headers, error_of=_error)
        where = redact_url(res.final_url)
        data = api.d(api.expect_dict(doc, where, "a Listing"), "data")
        children = api.expect_list(data.get("children"), where, "`data.children` of the Listing")
        _rate_limit(self.run, res.headers)
        return [i for i in (_item(self.run.ctx.source.name, c) for c in children) if i is not None], data

    def keep(self, items: list[Item]) -> None:
        for item in items:
            stamp = _created(item)
            if self.newest is None or stamp > self.newest[0]:
                self.newest = (stamp, item.guid)
        self.run.items.extend(items)

    async def forward(self, anchor: str, anchor_time: float) -> None:
        """Each page with `before=X` holds the items just newer than X, newest first."""
        before = anchor
        for count in range(1, self.pages + 1):
            got = await self.page({"before": before})
            if got is None:
                return
            items, data = got
            if not items and before == anchor:
                await self._anchor_check(anchor_time)
                return
            self.keep(items)
            if len(data.get("children") or []) < PAGE or not items:  # a short page: nothing newer yet
                return
            self.run.page_limit(count, self.pages, "the next pull continues from here")
            before = items[0].guid

    async def back(self, stop_at: float, first: bool,
                   got: tuple[list[Item], dict[str, Any]] | None = None) -> None:
        """Newest first with `after`, until items are older than `stop_at`, or max_pages."""
        after: str | None = None
        for count in range(1, self.pages + 1):
            if got is None or count > 1:
                got = await self.page({"after": after} if after else {})
            if got is None:
                return
            items, data = got
            fresh = [i for i in items if _created(i) > stop_at]
            self.keep(fresh)
            after = api.s(data, "after")
            if len(fresh) < len(items) or not after or not items:
                return
            if count == self.pages:
                what = "older posts within backfill" if first else "some posts since the last pull"
                self.run.warn(f"stopped after {self.pages} pages (max_pages); {what} were not fetched")

    async def _anchor_check(self, anchor_time: float) -> None:
        """An empty answer after `before=`: nothing new, or the anchor post is gone. The newest page tells."""
        got = await self.page({})
        if got is None or not got[0] or max(_created(i) for i in got[0]) <= anchor_time:
            return
        self.run.warn("the post the last pull stopped at is gone; listed from the newest back to it instead")
        await self.back(anchor_time, first=False, got=got)


def _created(item: Item) -> float:
    stamp = item.extra.get("created_utc")
    return float(stamp) if isinstance(stamp, (int, float)) else 0.0


def _rate_limit(run: api.Run, headers: dict[str, str]) -> None:
    """Reddit's x-ratelimit-remaining / -reset (seconds until the window resets)."""
    try:
        remaining = float(headers.get("x-ratelimit-remaining", "inf"))
        reset = float(headers.get("x-ratelimit-reset", "0"))
    except ValueError:
        return
    if remaining < 1:
        run.limit_hit(reset, "Reddit rate limit (x-ratelimit-remaining is 0)")


def _error(doc: Any) -> str | None:
    message = api.s(doc, "message")
    reason = api.s(doc, "reason")
    return f"{message} ({reason})" if message and reason else message or reason


def _item(source: str, child: Any) -> Item | None:
    kind = api.s(child, "kind")
    data = api.d(child, "data")
    if kind not in ("t1", "t3") or not data:
        return None
    fullname = api.s(data, "name") or (f"{kind}_{api.s(data, 'id')}" if api.s(data, "id") else None)
    if not fullname:
        return None
    created = api.n(data, "created_utc")
    permalink = api.s(data, "permalink")
    url = SITE + permalink if permalink and permalink.startswith("/") else permalink
    extra: dict[str, Any] = {"fullname": fullname, "subreddit": api.s(data, "subreddit")}
    if created is not None:
        extra["created_utc"] = created
    if kind == "t3":
        link = api.s(data, "url")
        if link and link != url and data.get("is_self") is not True:
            extra["link"] = link
        title, text, parent = api.s(data, "title") or "", api.s(data, "selftext") or "", None
    else:
        parent = api.s(data, "parent_id")
        extra.update(parent_id=parent, link_id=api.s(data, "link_id"), link_title=api.s(data, "link_title"))
        title, text = "", api.s(data, "body") or ""
    extra["counts"] = reach.counts(score=reach.count(data, "score"), num_comments=reach.count(data, "num_comments")) or None
    return make_item(source, guid=fullname, url=url, title=title, text=text, author=api.s(data, "author"),
                     published_at=api.from_unix(created), in_reply_to=parent,
                     extra={k: v for k, v in extra.items() if v is not None}, html=False,
                     reach=reach.total(extra["counts"] or {}))
