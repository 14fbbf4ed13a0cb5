"""`type: lobsters` — new stories on Lobsters (or one tag), and the comments under the ones kept.

Lobsters has no search API: the source reads `/newest.json` (or `/t/{tag}.json`) and its pages
(`/newest/page/N.json`) back to the newest story seen (`backfill` on a first pull), and `keep:`
decides what is stored. For the stories `keep` lets through, the comments come from
`/s/{short_id}.json`: when a story is new with comments, and on later pulls while it is younger
than `follow` (3 days: a story's talk is mostly over by then), at most ten stories a pull.

A comment replies to its `parent_comment`, or to the story: a story is one conversation.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from socialscale.fetch import FetchResult, RateLimited
from socialscale.models import Item
from socialscale.rules.keep import kept
from socialscale.sources import api
from socialscale.sources.base import Collected, make_item
from socialscale.text import redact_url
from socialscale.timeutil import parse_duration, utc_iso

DEFAULT_API = "https://lobste.rs"
FOLLOW_S = 3 * 86400  # by default, comments are followed this long after a story is posted
MAX_THREADS = 10  # story pages (with comments) asked for in one pull
OPTION_KEYS: tuple[str, ...] = (*api.COMMON_KEYS, "tag", "follow")
_TAG = re.compile(r"^[a-z0-9_+-]{1,25}$")


def validate(url: str | None, options: dict[str, Any]) -> list[tuple[str, str]]:
    problems = api.validate_common(options, token=False)
    tag = options.get("tag")
    if tag is not None and not (isinstance(tag, str) and _TAG.match(tag)):
        problems.append(("tag", f"expected a Lobsters tag such as rust or devops, got {tag!r}"))
    if options.get("follow") is not None:
        try:
            parse_duration(options["follow"])
        except ValueError:
            problems.append(("follow", f"expected a duration such as 3d or 12h, got {options['follow']!r}"))
    return problems


@api.collector()
async def collect(run: api.Run, _token: str | None) -> Collected:
    ctx = run.ctx
    tag = ctx.source.options.get("tag")
    base = api.base_url(ctx, DEFAULT_API)
    fp = api.fingerprint("lobsters", tag)
    prev = run.previous(fp) or {}
    known = prev.get("newest") if isinstance(prev.get("newest"), str) else None
    stop_at = known or utc_iso(run.cutoff)
    newest = known
    listing = f"{base}/t/{quote(str(tag))}" if tag else f"{base}/newest"
    stories: list[Item] = []
    counts: dict[str, int] = {}  # comment counts of every story listed, known ones too
    pages = api.max_pages(ctx)
    for page in range(1, pages + 1):
        got = await _get(run, f"{listing}.json" if page == 1 else f"{listing}/page/{page}.json")
        if got is None:
            break
        res, doc = got
        entries = api.expect_list(doc, redact_url(res.final_url), "a list of stories")
        reached = False
        for entry in entries:
            item = _story(ctx.source.name, entry)
            if item is None:
                continue
            counts[item.guid] = int(api.n(entry, "comment_count") or 0)
            if item.published_at and item.published_at <= stop_at:
                reached = True
                continue  # seen before, or older than the backfill
            stories.append(item)
            if item.published_at and (newest is None or item.published_at > newest):
                newest = item.published_at
        if reached or not entries:
            break
        run.page_limit(page, pages, "older stories were not fetched")
    run.items.extend(stories)
    threads = await _comments(run, base, stories, counts, prev.get("threads"))
    cursor: dict[str, Any] = {"query": fp, "threads": threads}
    if newest:
        cursor["newest"] = newest
    return run.finish(cursor)


async def _comments(run: api.Run, base: str, stories: list[Item], counts: dict[str, int],
                    stored: Any) -> dict[str, Any]:
    """Fetch the comments of kept stories that have new ones (or may have); returns the threads to
    follow next time: short_id -> [story time, comments seen]."""
    threads: dict[str, list[Any]] = {}
    if isinstance(stored, dict):
        for short_id, value in stored.items():
            if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
                threads[str(short_id)] = value
    follow = run.ctx.source.options.get("follow")
    horizon = utc_iso(run.ctx.now - timedelta(seconds=parse_duration(follow) if follow is not None else FOLLOW_S))
    for item in kept(run.ctx.source, stories, lambda refs: set()):
        if item.published_at and item.published_at > horizon:
            threads.setdefault(item.guid, [item.published_at, 0])
    threads = {k: v for k, v in threads.items() if v[0] > horizon}
    # A listed story shows its comment count: ask only when it grew. One not listed this time may have
    # new comments: ask, newest first, within the budget.
    due = sorted((k for k, v in threads.items() if counts.get(k, v[1] + 1) > v[1]), key=lambda k: threads[k][0],
                 reverse=True)
    for short_id in due[:MAX_THREADS]:
        got = await _get(run, f"{base}/s/{quote(short_id)}.json", gone_ok=True)
        if got is None:
            break
        res, doc = got
        if res.status == 404:  # the story was deleted or merged: nothing more to follow
            del threads[short_id]
            continue
        story = api.expect_dict(doc, redact_url(res.final_url), "a story")
        comments = api.expect_list(story.get("comments") or [], redact_url(res.final_url), "`comments`")
        for entry in comments:
            reply = _comment(run.ctx.source.name, entry, short_id)
            if reply is not None:
                run.items.append(reply)
        threads[short_id][1] = int(api.n(story, "comment_count") or len(comments))
    if len(due) > MAX_THREADS:
        run.warn(f"{len(due) - MAX_THREADS} stories with new comments wait for the next pull "
                 f"(at most {MAX_THREADS} a pull)")
    return threads


async def _get(run: api.Run, url: str, gone_ok: bool = False) -> tuple[FetchResult, Any] | None:
    if not await run.ready():
        return None
    try:
        return await run.get_json(url, accept_status=(404,) if gone_ok else ())
    except RateLimited as exc:
        api.held_off(run, exc, "Lobsters")
        return None


def _user(value: Any) -> str | None:
    """A user name: current Lobsters sends a string, older versions an object with `username`."""
    return value if isinstance(value, str) else api.s(value, "username")


def _story(source: str, entry: Any) -> Item | None:
    short_id = api.s(entry, "short_id")
    if not short_id:
        return None
    tags = entry.get("tags") if isinstance(entry.get("tags"), list) else []
    extra: dict[str, Any] = {"counts": api.counts(score=api.n(entry, "score"),
                                                  reply_count=api.n(entry, "comment_count")),
                             "flags": _count(entry, "flags"), "link": api.s(entry, "url"),
                             "tags": [t for t in tags[:20] if isinstance(t, str)]}
    plain = api.s(entry, "description_plain")
    return make_item(source, guid=short_id, url=api.s(entry, "short_id_url"), title=api.s(entry, "title") or "",
                     text=plain if plain is not None else api.s(entry, "description") or "",
                     author=_user(entry.get("submitter_user")),
                     published_at=api.from_text(api.s(entry, "created_at")),
                     extra={k: v for k, v in extra.items() if v not in (None, "", [])}, html=plain is None)


def _comment(source: str, entry: Any, story: str) -> Item | None:
    short_id = api.s(entry, "short_id")
    if not short_id or entry.get("is_deleted") is True:
        return None
    plain = api.s(entry, "comment_plain")
    extra: dict[str, Any] = {"story": story, "counts": api.counts(score=api.n(entry, "score")),
                             "flags": _count(entry, "flags"),
                             "depth": _count(entry, "depth")}
    return make_item(source, guid=short_id, url=api.s(entry, "short_id_url"),
                     text=plain if plain is not None else api.s(entry, "comment") or "",
                     author=_user(entry.get("commenting_user")),
                     published_at=api.from_text(api.s(entry, "created_at")),
                     in_reply_to=api.s(entry, "parent_comment") or story,
                     extra={k: v for k, v in extra.items() if v is not None}, html=plain is None)


def _count(obj: Any, key: str) -> int | None:
    value = api.n(obj, key)
    return int(value) if value is not None else None
