"""`type: youtube` — the comments under a channel's videos, through the Data API's `commentThreads`.

`GET {api_url}/youtube/v3/commentThreads?part=snippet,replies&allThreadsRelatedToChannelId=…&order=time`
lists threads newest first, 100 a page (`pageToken`). A first pull reads back to `backfill`;
later pulls stop at the first page with nothing newer than the newest comment seen. A thread
carries only some of its replies: when it has more, and something new, `comments.list?parentId=`
fetches them all.

Every reply links to its thread's top comment (YouTube threads are one level deep), so a thread
is one conversation. The channel's own replies are ours through a team handle
`youtube:CHANNEL_ID` (matched on the author's channel id). The API key comes from the variable
named by `key_env`, travels as the `key` parameter, and is masked in every message. Quota errors
are a note, not a failure: the daily quota resets at midnight Pacific time.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from socialscale.errors import FetchError
from socialscale.fetch import FetchResult, RateLimited
from socialscale.models import Item
from socialscale.sources import api
from socialscale.sources.base import Collected, make_item
from socialscale.text import redact_url
from socialscale.timeutil import utc_iso

DEFAULT_API = "https://www.googleapis.com"
WATCH = "https://www.youtube.com/watch"
PAGE = 100
RATE_HOLD_S = 60.0  # rateLimitExceeded names no wait
OPTION_KEYS: tuple[str, ...] = (*api.COMMON_KEYS, "channel_id", "key_env")
_CHANNEL = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
_QUOTA = ("quotaExceeded", "dailyLimitExceeded")
_RATE = ("rateLimitExceeded", "userRateLimitExceeded")
PACIFIC = ZoneInfo("America/Los_Angeles")


def validate(url: str | None, options: dict[str, Any]) -> list[tuple[str, str]]:
    problems = api.validate_common(options, token=False)
    channel = options.get("channel_id")
    if channel is None:
        problems.append(("channel_id", "is required (the channel's id, UC followed by 22 letters and digits)"))
    elif not (isinstance(channel, str) and _CHANNEL.match(channel)):
        problems.append(("channel_id", f"expected a channel id such as UCxxxxxxxxxxxxxxxxxxxxxx, got {channel!r}"))
    problems += api.env_name(options, "key_env", "YOUTUBE_API_KEY", required=True)
    return problems


@api.collector()
async def collect(run: api.Run, _token: str | None) -> Collected:
    ctx = run.ctx
    key = api.read_secret(ctx, "key_env")
    run.secrets = (*run.secrets, key)
    channel = str(ctx.source.options["channel_id"])
    fp = api.fingerprint("youtube", channel)
    prev = run.previous(fp)
    known = prev.get("newest") if prev and isinstance(prev.get("newest"), str) else None
    stop_at = known or utc_iso(run.cutoff)
    newest = known
    base = api.base_url(ctx, DEFAULT_API) + "/youtube/v3"
    params: dict[str, Any] = {"part": "snippet,replies", "allThreadsRelatedToChannelId": channel, "order": "time",
                              "maxResults": PAGE, "textFormat": "plainText", "key": key}
    pages = api.max_pages(ctx)
    for page in range(1, pages + 1):
        got = await _call(run, base + "/commentThreads", params)
        if got is None:
            break
        res, doc = got
        where = redact_url(res.final_url)
        body = api.expect_dict(doc, where, "a commentThread list")
        threads = api.expect_list(body.get("items"), where, "`items`")
        fresh = stopped = False
        for thread in threads:
            found = await _thread(run, base, key, thread, stop_at, known is None)
            if found is None:  # a quota or rate limit stopped us
                stopped = True
                break
            for item in found:
                run.items.append(item)
                fresh = fresh or bool(item.published_at and item.published_at > stop_at)
                if item.published_at and (newest is None or item.published_at > newest):
                    newest = item.published_at
        following = api.s(body, "nextPageToken")
        if stopped or not fresh or not following:
            break
        if run.page_limit(page, pages, "older comments were not fetched"):
            break
        params["pageToken"] = following
    cursor: dict[str, Any] = {"query": fp}
    if newest:
        cursor["newest"] = newest
    return run.finish(cursor)


async def _thread(run: api.Run, base: str, key: str, thread: Any, stop_at: str, first: bool) -> list[Item] | None:
    """A thread's top comment and replies as items; the replies it lacks are fetched when something is new."""
    snippet = api.d(thread, "snippet")
    top = _item(run.ctx.source.name, api.d(snippet, "topLevelComment"), None, api.n(snippet, "totalReplyCount"))
    if top is None:
        return []
    replies = api.d(thread, "replies").get("comments")
    shown = replies if isinstance(replies, list) else []
    total = api.n(snippet, "totalReplyCount") or 0
    found = [top, *(i for i in (_item(run.ctx.source.name, c, top.guid) for c in shown) if i is not None)]
    if total > len(shown) and any(i.published_at and i.published_at > stop_at for i in found):
        got = await _call(run, base + "/comments", {"part": "snippet", "parentId": top.guid, "maxResults": PAGE,
                                                     "textFormat": "plainText", "key": key})
        if got is None:
            return None
        res, doc = got
        more = api.expect_list(api.expect_dict(doc, redact_url(res.final_url), "a comment list").get("items"),
                               redact_url(res.final_url), "`items`")
        found = [top, *(i for i in (_item(run.ctx.source.name, c, top.guid) for c in more) if i is not None)]
    if first:  # a first pull keeps only what is within the backfill
        found = [i for i in found if not i.published_at or i.published_at > stop_at]
    return found


async def _call(run: api.Run, url: str, params: dict[str, Any]) -> tuple[FetchResult, Any] | None:
    """One API call; None when a quota or rate limit stops the pull (remembered, noted)."""
    if not await run.ready():
        return None
    try:
        res, doc = await run.get_json(url, params=params, error_of=_error, accept_status=(400, 403))
    except RateLimited as exc:
        api.held_off(run, exc, "the YouTube API")
        return None
    if res.status < 400:
        return res, doc
    reasons = _reasons(doc)
    if any(r in _QUOTA for r in reasons):
        run.hold(_to_pacific_midnight(run.ctx.now))
        run.warn("YouTube API daily quota used up (quotaExceeded); it resets at midnight Pacific time, "
                 f"the next pull continues after {utc_iso(run.not_before or run.ctx.now)}")
        return None
    if any(r in _RATE for r in reasons):
        run.hold(RATE_HOLD_S)
        run.warn("YouTube API rate limit (rateLimitExceeded); stopped here, the next pull continues after "
                 f"{utc_iso(run.not_before or run.ctx.now)}")
        return None
    if res.status == 400 and ("API_KEY_INVALID" in reasons or "keyInvalid" in reasons):
        raise FetchError(api.scrub(f"YouTube refused the API key in {run.ctx.source.options['key_env']} (key_env): "
                                   f"{_error(doc) or 'invalid'}", run.secrets))
    raise FetchError(api.scrub(f"{redact_url(res.final_url)}: HTTP {res.status}: {_error(doc) or 'no reason given'}",
                               run.secrets))


def _to_pacific_midnight(now: datetime) -> float:
    local = now.astimezone(PACIFIC)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - local).total_seconds()


def _reasons(doc: Any) -> list[str]:
    error = api.d(doc, "error")
    out: list[str | None] = []
    for key in ("errors", "details"):
        entries = error.get(key)
        out += [api.s(e, "reason") for e in (entries if isinstance(entries, list) else [])]
    return [r for r in out if r]


def _error(doc: Any) -> str | None:
    message = api.s(api.d(doc, "error"), "message")
    return re.sub(r"<[^>]+>", "", message) if message else None


def _item(source: str, comment: Any, top: str | None, replies: float | None = None) -> Item | None:
    comment_id = api.s(comment, "id")
    snippet = api.d(comment, "snippet")
    if not comment_id:
        return None
    video = api.s(snippet, "videoId")
    url = f"{WATCH}?v={video}&lc={comment_id}" if video else None
    extra: dict[str, Any] = {"video_id": video, "channel_id": api.s(snippet, "channelId"),
                             "author_id": api.s(api.d(snippet, "authorChannelId"), "value"),
                             "author_channel_url": api.s(snippet, "authorChannelUrl"),
                             "counts": api.counts(like_count=api.n(snippet, "likeCount"),
                                                  reply_count=replies if top is None else None),
                             "updated_at": api.from_text(api.s(snippet, "updatedAt"))}
    return make_item(source, guid=comment_id, url=url,
                     text=api.s(snippet, "textDisplay") or api.s(snippet, "textOriginal") or "",
                     author=api.s(snippet, "authorDisplayName"),
                     published_at=api.from_text(api.s(snippet, "publishedAt")), in_reply_to=top,
                     extra={k: v for k, v in extra.items() if v not in (None, "")}, html=False)

