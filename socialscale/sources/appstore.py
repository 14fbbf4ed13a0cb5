"""`type: appstore` — an app's customer reviews from Apple's review feed, in its JSON form.

`GET {api_url}/{country}/rss/customerreviews/page=N/id={app_id}/sortby=mostrecent/json`: 50
reviews a page, newest first, at most 10 pages. The first pull follows pages until the reviews
are older than `backfill`; later pulls stop at the first page that reaches the newest review
seen. No account or key is needed. A review is a first contact: it never replies to anything,
and developer responses are not in the feed.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from socialscale.fetch import RateLimited
from socialscale.models import Item
from socialscale.sources import api
from socialscale.sources.base import Collected, make_item
from socialscale.text import redact_url
from socialscale.timeutil import utc_iso

DEFAULT_API = "https://itunes.apple.com"
APPS = "https://apps.apple.com"
LAST_PAGE = 10  # the feed serves no more than 10 pages of 50
OPTION_KEYS: tuple[str, ...] = (*api.COMMON_KEYS, "app_id", "country")
_APP_ID = re.compile(r"^(id)?\d{5,12}$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_PAGE = re.compile(r"/page=(\d+)/")


def validate(url: str | None, options: dict[str, Any]) -> list[tuple[str, str]]:
    problems = api.validate_common(options, token=False)
    app_id = options.get("app_id")
    if app_id is None:
        problems.append(("app_id", "is required (the number in the app's App Store URL, …/id1234567890)"))
    elif isinstance(app_id, bool) or not _APP_ID.match(str(app_id)):
        problems.append(("app_id", f"expected the app's numeric id such as 1234567890, got {app_id!r}"))
    country = options.get("country")
    if country is not None and not (isinstance(country, str) and _COUNTRY.match(country)):
        problems.append(("country", f"expected a two-letter store country code such as us or gb, got {country!r}"))
    return problems


def _app_id(options: dict[str, Any]) -> str:
    return str(options["app_id"]).removeprefix("id")


@api.collector()
async def collect(run: api.Run, _token: str | None) -> Collected:
    ctx = run.ctx
    opts = ctx.source.options
    app_id, country = _app_id(opts), str(opts.get("country") or "us").lower()
    fp = api.fingerprint("appstore", app_id, country)
    prev = run.previous(fp)
    known = prev.get("newest") if prev and isinstance(prev.get("newest"), str) else None
    stop_at = known or utc_iso(run.cutoff)
    newest = known
    base = api.base_url(ctx, DEFAULT_API)
    pages = min(api.max_pages(ctx), LAST_PAGE)
    last = LAST_PAGE
    for page in range(1, pages + 1):
        url = f"{base}/{quote(country)}/rss/customerreviews/page={page}/id={app_id}/sortby=mostrecent/json"
        try:
            res, doc = await run.get_json(url, error_of=_error)
        except RateLimited as exc:
            api.held_off(run, exc, "the App Store feed")
            break
        where = redact_url(res.final_url)
        feed = api.d(api.expect_dict(doc, where, "a review feed"), "feed")
        entries = _entries(feed, where)
        if page == 1 and not entries and known is None:
            run.warn(f"no reviews for app {app_id} in the {country.upper()} store (is app_id right?)")
        older = False
        for entry in entries:
            item = _item(ctx.source.name, entry, app_id, country)
            if item is None:
                continue
            if item.published_at and item.published_at <= stop_at:
                older = True
                if known is None:  # past the backfill: not wanted
                    continue
            run.items.append(item)
            if item.published_at and (newest is None or item.published_at > newest):
                newest = item.published_at
        last = min(last, _last_page(feed))
        if older or not entries or page >= last:
            break
        run.page_limit(page, pages, "older reviews were not fetched")
    cursor: dict[str, Any] = {"query": fp}
    if newest:
        cursor["newest"] = newest
    return run.finish(cursor)


def _entries(feed: dict[str, Any], where: str) -> list[Any]:
    entries = feed.get("entry")
    if entries is None:
        return []  # an app without reviews: the feed has no `entry`
    if isinstance(entries, dict):
        return [entries]  # one review: the JSON form gives the object itself
    return api.expect_list(entries, where, "`feed.entry`")


def _last_page(feed: dict[str, Any]) -> int:
    links = feed.get("link")
    for link in links if isinstance(links, list) else []:
        attrs = api.d(link, "attributes")
        if attrs.get("rel") == "last":
            found = _PAGE.search(api.s(attrs, "href") or "")
            if found:
                return max(1, int(found.group(1)))
    return LAST_PAGE


def _error(doc: Any) -> str | None:
    return api.s(doc, "errorMessage") or api.s(doc, "message")


def _label(entry: Any, key: str) -> str | None:
    return api.s(api.d(entry, key), "label")


def _item(source: str, entry: Any, app_id: str, country: str) -> Item | None:
    review_id = _label(entry, "id")
    rating = api.n(api.d(entry, "im:rating"), "label")
    if not review_id or rating is None:  # older feeds listed the app itself first: no rating
        return None
    author = api.d(entry, "author")
    votes, vote_sum = api.n(api.d(entry, "im:voteCount"), "label"), api.n(api.d(entry, "im:voteSum"), "label")
    extra: dict[str, Any] = {"rating": int(rating), "version": _label(entry, "im:version"), "app_id": app_id,
                             "country": country, "review_id": review_id,
                             "author_uri": _label(author, "uri"),
                             "counts": api.counts(vote_count=votes),
                             "vote_sum": int(vote_sum) if vote_sum is not None else None,
                             "app_url": f"{APPS}/{country}/app/id{app_id}?see-all=reviews"}
    return make_item(source, guid=review_id, title=_label(entry, "title") or "",
                     text=_label(entry, "content") or "", author=_label(author, "name"),
                     published_at=api.from_text(_label(entry, "updated")),
                     extra={k: v for k, v in extra.items() if v not in (None, "")}, html=False)
