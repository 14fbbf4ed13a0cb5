"""`type: hackernews` — stories and comments from the Algolia HN Search API (`search_by_date`).

The cursor is the newest `created_at_i` seen; the next pull asks only for items created after
it (less a few minutes, for the search index's lag). A first pull goes back `backfill:`.
"""

from __future__ import annotations

import re
from typing import Any

from socialscale.insight import reach
from socialscale.models import Item
from socialscale.sources import api
from socialscale.sources.base import Collected, make_item
from socialscale.text import redact_url

DEFAULT_API = "https://hn.algolia.com/api/v1"
ITEM_URL = "https://news.ycombinator.com/item?id="
HITS_PER_PAGE = 100
_USER = re.compile(r"^[A-Za-z0-9_-]+$")
OPTION_KEYS: tuple[str, ...] = (*api.COMMON_KEYS, "query", "tags", "authors")


def validate(url: str | None, options: dict[str, Any]) -> list[tuple[str, str]]:
    problems = api.validate_common(options, token=False)
    problems += api.optional_string(options, "query") + api.optional_string(options, "tags")
    authors = options.get("authors")
    if authors is not None and not (isinstance(authors, list) and authors
                                    and all(isinstance(a, str) and _USER.match(a) for a in authors)):
        problems.append(("authors", "expected a list of Hacker News user names (letters, digits, - and _)"))
    if not options.get("query") and not authors:
        problems.append(("query", "is required (the words to search for), unless `authors` is given"))
    return problems


def _tags(options: dict[str, Any]) -> str:
    tags = str(options.get("tags") or "(story,comment)")
    authors = options.get("authors") or []
    if authors:
        # Algolia: comma = AND, parentheses = OR.
        tags += ",(" + ",".join(f"author_{a.strip()}" for a in authors) + ")"
    return tags


@api.collector()
async def collect(run: api.Run, _token: str | None) -> Collected:
    ctx = run.ctx
    opts = ctx.source.options
    query, tags = str(opts.get("query") or ""), _tags(opts)
    fp = api.fingerprint("hackernews", query, tags)
    prev = run.previous(fp)
    newest = int(prev["created_at_i"]) if prev and isinstance(prev.get("created_at_i"), int) else None
    since = newest - api.INDEX_LAG_S if newest is not None else int(run.cutoff.timestamp())
    url = api.base_url(ctx, DEFAULT_API) + "/search_by_date"
    pages = api.max_pages(ctx)
    page = 0
    while True:
        params = {"query": query, "tags": tags, "numericFilters": f"created_at_i>{since}",
                  "hitsPerPage": HITS_PER_PAGE, "page": page}
        res, doc = await run.get_json(url, params=params, error_of=_error)
        where = redact_url(res.final_url)
        body = api.expect_dict(doc, where, "a search result")
        hits = api.expect_list(body.get("hits"), where, "`hits`")
        for hit in hits:
            item = _item(ctx.source.name, hit)
            if item is None:
                continue
            run.items.append(item)
            stamp = api.n(hit, "created_at_i")
            if stamp is not None and (newest is None or stamp > newest):
                newest = int(stamp)
        nb_pages = api.n(body, "nbPages") or 0
        page += 1
        if not hits or page >= nb_pages:
            break
        if run.page_limit(page, pages, "older matches in this window were not fetched"):
            break
    cursor: dict[str, Any] = {"query": fp}
    if newest is not None:
        cursor["created_at_i"] = newest
    return run.finish(cursor)


def _error(doc: Any) -> str | None:
    return api.s(doc, "message") or api.s(doc, "error")


def _item(source: str, hit: Any) -> Item | None:
    object_id = api.s(hit, "objectID")
    if not object_id:
        return None
    tags = hit.get("_tags") if isinstance(hit.get("_tags"), list) else []
    is_comment = "comment" in tags or api.s(hit, "comment_text") is not None
    parent = api.s(hit, "parent_id")
    extra: dict[str, Any] = {"type": "comment" if is_comment else "story"}
    for key in ("story_id", "parent_id", "story_title"):
        value = api.s(hit, key)
        if value:
            extra[key] = value
    link = api.s(hit, "url")
    if link:
        extra["link"] = link
    extra["counts"] = reach.counts(points=reach.count(hit, "points"), num_comments=reach.count(hit, "num_comments")) or None
    return make_item(
        source, guid=object_id, url=ITEM_URL + object_id,
        title=api.s(hit, "title") or "",
        text=(api.s(hit, "comment_text") if is_comment else api.s(hit, "story_text")) or "",
        author=api.s(hit, "author"),
        published_at=api.from_unix(api.n(hit, "created_at_i")) or api.from_text(api.s(hit, "created_at")),
        in_reply_to=parent if is_comment else None, extra={k: v for k, v in extra.items() if v is not None},
        reach=reach.total(extra["counts"] or {}))
