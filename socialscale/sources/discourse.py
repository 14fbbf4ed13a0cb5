"""`type: discourse` — posts matching a search on one Discourse forum, through `/search.json`.

The search asks `q=<query> order:latest` (newest first) and pages with `page` while
`grouped_search_result.more_full_page_results` says there is more. A first pull reads back to
`backfill`; later pulls add `after:<date>` (a day before the newest post seen: Discourse filters
by date) and stop at the first post already seen.

A post's guid and URL are `{forum}/t/{topic_id}/{post_number}`, so every post of a topic can
point at its first post (`…/1`) without knowing its id: a topic is one conversation. The topic's
title is every post's title. Search returns each post's `blurb` (an excerpt around the match),
not the whole post.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from socialscale.errors import FetchError
from socialscale.fetch import RateLimited
from socialscale.models import Item
from socialscale.sources import api
from socialscale.sources.base import Collected, SourceContext, make_item
from socialscale.text import redact_url
from socialscale.timeutil import parse_iso, utc_iso

OPTION_KEYS: tuple[str, ...] = (*api.COMMON_KEYS, "forum", "query", "api_key_env", "api_username")
_FORUM = re.compile(r"^https?://[^\s/]+(/[^\s?#]*)?$", re.IGNORECASE)


def validate(url: str | None, options: dict[str, Any]) -> list[tuple[str, str]]:
    problems = api.validate_common(options, token=False)
    forum = options.get("forum")
    if forum is None:
        problems.append(("forum", "is required (the forum's address, such as https://forum.example.org)"))
    elif not (isinstance(forum, str) and _FORUM.match(forum)):
        problems.append(("forum", f"expected the forum's address such as https://forum.example.org, got {forum!r}"))
    problems += api.require_string(options, "query", "the words to search for, as in the forum's search box")
    problems += api.env_name(options, "api_key_env", "DISCOURSE_API_KEY", required=False)
    problems += api.optional_string(options, "api_username")
    if options.get("api_key_env") and not options.get("api_username"):
        problems.append(("api_username", "is required with api_key_env (Discourse reads a key together with "
                                         "the user it acts as, such as system)"))
    return problems


def _forum(ctx: SourceContext) -> str:
    return str(ctx.source.options["forum"]).rstrip("/")


@api.collector()
async def collect(run: api.Run, _token: str | None) -> Collected:
    ctx = run.ctx
    opts = ctx.source.options
    headers = {"Accept": "application/json"}
    if opts.get("api_key_env"):
        key = api.read_secret(ctx, "api_key_env")
        run.secrets = (*run.secrets, key)
        headers.update({"Api-Key": key, "Api-Username": str(opts["api_username"])})
    forum = _forum(ctx)
    query = str(opts["query"])
    fp = api.fingerprint("discourse", forum, query)
    prev = run.previous(fp)
    known = prev.get("newest") if prev and isinstance(prev.get("newest"), str) else None
    stop_at = known or utc_iso(run.cutoff)
    after = (parse_iso(stop_at) - timedelta(days=1)).date().isoformat()
    newest = known
    url = api.base_url(ctx, forum) + "/search.json"
    pages = api.max_pages(ctx)
    for page in range(1, pages + 1):
        if not await run.ready():
            break
        try:
            res, doc = await run.get_json(url, params={"q": f"{query} after:{after} order:latest", "page": page},
                                          headers=headers, error_of=_error, accept_status=(403, 429))
        except RateLimited as exc:
            api.held_off(run, exc, "the forum")
            break
        if res.status in (403, 429):
            if not _refused(run, res.status, doc):
                break
        where = redact_url(res.final_url)
        body = api.expect_dict(doc, where, "a search result")
        posts = api.expect_list(body.get("posts") if "posts" in body else [], where, "`posts`")
        topics = {api.s(t, "id"): t for t in api.expect_list(body.get("topics") or [], where, "`topics`")}
        reached, newest = _keep_posts(run, posts, topics, forum, stop_at, known, newest)
        more = api.d(body, "grouped_search_result").get("more_full_page_results") is True
        if reached or not posts or not more:
            break
        run.page_limit(page, pages, "older posts were not fetched")
    cursor: dict[str, Any] = {"query": fp}
    if newest:
        cursor["newest"] = newest
    return run.finish(cursor)


def _keep_posts(run: api.Run, posts: list[Any], topics: dict[Any, Any], forum: str, stop_at: str,
                known: str | None, newest: str | None) -> tuple[bool, str | None]:
    """Add a page's posts to the run: whether it reached what was seen before, and the newest time so far."""
    reached = False
    for post in posts:
        item = _item(run.ctx.source.name, post, topics.get(api.s(post, "topic_id")), forum)
        if item is None:
            continue
        if item.published_at and item.published_at <= stop_at:
            reached = True
            if known is None:  # older than the backfill
                continue
        run.items.append(item)
        if item.published_at and (newest is None or item.published_at > newest):
            newest = item.published_at
    return reached, newest


def _refused(run: api.Run, status: int, doc: Any) -> bool:
    """A 403 is a refused key (an error naming the variable); a 429 the forum's rate limit: remember
    its wait and stop (False)."""
    if status == 403:
        opts = run.ctx.source.options
        hint = (f"check the key in {opts['api_key_env']} (api_key_env) and api_username"
                if opts.get("api_key_env") else "the forum may need an API key (api_key_env, api_username)")
        raise FetchError(api.scrub(f"the forum refused the search (HTTP 403: {_error(doc) or 'forbidden'}): {hint}",
                                   run.secrets))
    wait = api.n(api.d(doc, "extras"), "wait_seconds")
    run.hold(wait if wait is not None else 60.0)
    run.warn(f"the forum's rate limit ({_error(doc) or 'HTTP 429'}); stopped here, the next pull continues after "
             f"{utc_iso(run.not_before or run.ctx.now)}")
    return False


def _error(doc: Any) -> str | None:
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if isinstance(errors, list):
        found = [e for e in errors[:3] if isinstance(e, str)]
        if found:
            return " ".join(found)
    return api.s(doc, "error_type") or api.s(doc, "error")


def post_url(forum: str, topic_id: str, post_number: str) -> str:
    return f"{forum}/t/{topic_id}/{post_number}"


def _item(source: str, post: Any, topic: Any, forum: str) -> Item | None:
    topic_id, number = api.s(post, "topic_id"), api.s(post, "post_number")
    if not topic_id or not number:
        return None
    url = post_url(forum, topic_id, number)
    raw_tags = topic.get("tags") if isinstance(topic, dict) else None
    tags: list[Any] = raw_tags if isinstance(raw_tags, list) else []
    extra: dict[str, Any] = {"post_id": api.s(post, "id"), "topic_id": topic_id, "post_number": int(number)
                             if number.isdecimal() else number, "display_name": api.s(post, "name"),
                             "topic_slug": api.s(topic, "slug"), "topic_posts_count": _count(topic, "posts_count"),
                             # The topic's replies are the first post's attention; a later post has its likes.
                             "counts": api.counts(like_count=api.n(post, "like_count"),
                                                  reply_count=api.n(topic, "reply_count") if number == "1" else None),
                             "category_id": api.s(topic, "category_id"),
                             "tags": [t for t in tags[:20] if isinstance(t, str)]}
    return make_item(source, guid=url, url=url, title=api.s(topic, "title") or "",
                     text=api.s(post, "blurb") or "", author=api.s(post, "username"),
                     published_at=api.from_text(api.s(post, "created_at")),
                     in_reply_to=post_url(forum, topic_id, "1") if number != "1" else None,
                     extra={k: v for k, v in extra.items() if v not in (None, "", [])})


def _count(obj: Any, key: str) -> int | None:
    value = api.n(obj, key)
    return int(value) if value is not None and value >= 0 else None
