"""`type: bluesky` — posts matching a search, through `app.bsky.feed.searchPosts`.

Search is often closed to anonymous callers, so the source signs in with an app password
(`createSession`) at the start of each pull and searches with the session's access token. An
access token that expires during a pull is renewed with `refreshSession` (or, if that is refused,
a new session). Neither token nor the password is ever stored, logged or printed: they live in
this pull's memory only, and every message is scrubbed of them.

Results come newest first. The first pull asks `since=` the backfill; later pulls ask from a few
minutes before the newest post seen (the search index lags), paging with `cursor`. Posts are
stored by their `at://` URI, so asking again costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from socialscale.errors import FetchError, ParseError
from socialscale.fetch import FetchResult
from socialscale.models import Item
from socialscale.sources import api
from socialscale.sources.base import Collected, make_item
from socialscale.text import redact_url
from socialscale.timeutil import parse_iso, utc_iso

DEFAULT_API = "https://bsky.social"
APP = "https://bsky.app"
PAGE = 100
DEFAULT_HOLD_S = 300.0  # a 429 without RateLimit-Reset: the PDS limits are per 5 minutes
OPTION_KEYS: tuple[str, ...] = (*api.COMMON_KEYS, "query", "handle_env", "password_env")
_TOKEN_ERRORS = ("ExpiredToken", "InvalidToken")


def validate(url: str | None, options: dict[str, Any]) -> list[tuple[str, str]]:
    problems = api.validate_common(options, token=False)
    problems += api.require_string(options, "query", "the words to search for, as on bsky.app")
    problems += api.env_name(options, "handle_env", "BSKY_HANDLE", required=True)
    problems += api.env_name(options, "password_env", "BSKY_APP_PASSWORD", required=True)
    return problems


@dataclass
class _Session:
    """One sign-in's tokens: held in memory for this pull only."""

    access: str
    refresh: str


@api.collector()
async def collect(run: api.Run, _token: str | None) -> Collected:
    ctx = run.ctx
    handle = api.read_secret(ctx, "handle_env", masked=False)
    password = api.read_secret(ctx, "password_env")
    run.secrets = (*run.secrets, password)
    base = api.base_url(ctx, DEFAULT_API)
    query = str(ctx.source.options["query"])
    fp = api.fingerprint("bluesky", query)
    prev = run.previous(fp) or {}
    newest = prev.get("since") if isinstance(prev.get("since"), str) else None
    since = _since(run, newest)
    session = await _sign_in(run, base, handle, password)
    if session is None:
        return run.finish({"query": fp, **({"since": newest} if newest else {})})
    url = base + "/xrpc/app.bsky.feed.searchPosts"
    params: dict[str, Any] = {"q": query, "sort": "latest", "since": since, "limit": PAGE}
    pages = api.max_pages(ctx)
    for page in range(1, pages + 1):
        got = await _search(run, base, url, params, session, handle, password)
        if got is None:
            break
        res, doc = got
        where = redact_url(res.final_url)
        body = api.expect_dict(doc, where, "a searchPosts output")
        posts = api.expect_list(body.get("posts"), where, "`posts`")
        for post in posts:
            item = _item(ctx.source.name, post)
            if item is None:
                continue
            run.items.append(item)
            stamp = _sort_at(post)
            if stamp and (newest is None or stamp > newest):
                newest = stamp
        _rate_limit(run, res.headers)
        following = api.s(body, "cursor")
        if not posts or not following:
            break
        if run.page_limit(page, pages, "older posts in this window were not fetched"):
            break
        params["cursor"] = following
    cursor: dict[str, Any] = {"query": fp}
    if newest:
        cursor["since"] = newest
    return run.finish(cursor)


def _since(run: api.Run, newest: str | None) -> str:
    if newest:
        try:
            return utc_iso(parse_iso(newest) - timedelta(seconds=api.INDEX_LAG_S))
        except ValueError:
            pass
    return utc_iso(run.cutoff)


async def _sign_in(run: api.Run, base: str, handle: str, password: str) -> _Session | None:
    """createSession with the app password; None when a rate limit stops the pull."""
    if not await run.ready():
        return None
    res, doc = await run.post_json(base + "/xrpc/com.atproto.server.createSession",
                                   {"identifier": handle, "password": password},
                                   error_of=_error, accept_status=(400, 401, 429))
    if res.status == 429:
        await _limited(run, res, "Bluesky rate limit on sign-in (createSession)")
        return None
    if res.status >= 400:
        opts = run.ctx.source.options
        raise FetchError(api.scrub(f"Bluesky refused the sign-in (HTTP {res.status}: "
                                   f"{_error(doc) or 'no reason given'}): check the handle in "
                                   f"{opts['handle_env']} (handle_env) and the app password in "
                                   f"{opts['password_env']} (password_env)", run.secrets))
    return _session(run, res, doc)


async def _refresh(run: api.Run, base: str, session: _Session, handle: str, password: str) -> _Session | None:
    """refreshSession with the refresh token; a new sign-in if the refresh token is refused too."""
    res, doc = await run.post_json(base + "/xrpc/com.atproto.server.refreshSession", None,
                                   headers={"Authorization": f"Bearer {session.refresh}"},
                                   error_of=_error, accept_status=(400, 401, 429))
    if res.status == 429:
        await _limited(run, res, "Bluesky rate limit on refreshSession")
        return None
    if res.status >= 400:
        return await _sign_in(run, base, handle, password)
    return _session(run, res, doc)


def _session(run: api.Run, res: FetchResult, doc: Any) -> _Session:
    body = api.expect_dict(doc, redact_url(res.final_url), "a session")
    access, refresh = api.s(body, "accessJwt"), api.s(body, "refreshJwt")
    if not access or not refresh:
        raise ParseError(f"{redact_url(res.final_url)}: the session has no accessJwt/refreshJwt")
    run.secrets = (*run.secrets, access, refresh)
    run.ctx.secrets += [access, refresh]  # the pipeline masks them in everything this source returns
    return _Session(access, refresh)


async def _search(run: api.Run, base: str, url: str, params: dict[str, Any], session: _Session, handle: str,
                  password: str) -> tuple[FetchResult, Any] | None:
    """One search page; an expired access token is renewed once. None when a rate limit stops us."""
    for attempt in (1, 2):
        if not await run.ready():
            return None
        res, doc = await run.get_json(url, params=params, headers={"Authorization": f"Bearer {session.access}"},
                                      error_of=_error, accept_status=(400, 401, 429))
        if res.status == 429:
            if await _limited(run, res, "Bluesky rate limit (RateLimitExceeded)"):
                continue
            return None
        if res.status in (400, 401) and _code(doc) in _TOKEN_ERRORS and attempt == 1:
            renewed = await _refresh(run, base, session, handle, password)
            if renewed is None:
                return None
            session.access, session.refresh = renewed.access, renewed.refresh
            continue
        if res.status >= 400:
            raise FetchError(api.scrub(f"{redact_url(res.final_url)}: HTTP {res.status}: "
                                       f"{_error(doc) or 'no reason given'}", run.secrets))
        return res, doc
    return None


async def _limited(run: api.Run, res: FetchResult, why: str) -> bool:
    """A 429: wait for RateLimit-Reset (True: ask again) or stop and remember it (False)."""
    reset = api.n(res.headers, "ratelimit-reset")
    seconds = reset - run.ctx.now.timestamp() if reset is not None else DEFAULT_HOLD_S
    return await run.wait(seconds, why)


def _rate_limit(run: api.Run, headers: dict[str, str]) -> None:
    """RateLimit-Remaining 0: the next request waits for RateLimit-Reset (Unix seconds)."""
    remaining, reset = api.n(headers, "ratelimit-remaining"), api.n(headers, "ratelimit-reset")
    if remaining is not None and remaining < 1 and reset is not None:
        run.limit_hit(reset - run.ctx.now.timestamp(), "Bluesky rate limit (RateLimit-Remaining is 0)")


def _code(doc: Any) -> str | None:
    return api.s(doc, "error")


def _error(doc: Any) -> str | None:
    code, message = api.s(doc, "error"), api.s(doc, "message")
    return f"{code}: {message}" if code and message else code or message


def _sort_at(post: Any) -> str | None:
    """The time searchPosts' `since` compares with: the earlier of createdAt and indexedAt."""
    stamps = [x for x in (api.from_text(api.s(api.d(post, "record"), "createdAt")),
                          api.from_text(api.s(post, "indexedAt"))) if x]
    return min(stamps) if stamps else None


def _item(source: str, post: Any) -> Item | None:
    uri = api.s(post, "uri")
    if not uri or not uri.startswith("at://"):
        return None
    author, record = api.d(post, "author"), api.d(post, "record")
    handle, did = api.s(author, "handle"), api.s(author, "did")
    reply = api.d(record, "reply")
    rkey = uri.rstrip("/").rsplit("/", 1)[-1]
    who = handle if handle and handle != "handle.invalid" else did
    url = f"{APP}/profile/{who}/post/{rkey}" if who and "/app.bsky.feed.post/" in uri else None
    raw_langs = record.get("langs")
    langs: list[Any] = raw_langs if isinstance(raw_langs, list) else []
    extra: dict[str, Any] = {
        "cid": api.s(post, "cid"), "author_id": did, "display_name": api.s(author, "displayName"),
        "root_uri": api.s(api.d(reply, "root"), "uri"), "indexed_at": api.from_text(api.s(post, "indexedAt")),
        "counts": api.counts(like_count=api.n(post, "likeCount"), repost_count=api.n(post, "repostCount"),
                             reply_count=api.n(post, "replyCount"), quote_count=api.n(post, "quoteCount")),
        "langs": [x for x in langs[:3] if isinstance(x, str)]}
    return make_item(source, guid=uri, url=url, text=api.s(record, "text") or "", author=handle or did,
                     published_at=api.from_text(api.s(record, "createdAt")) or extra["indexed_at"],
                     in_reply_to=api.s(api.d(reply, "parent"), "uri"),
                     extra={k: v for k, v in extra.items() if v not in (None, "", [])}, html=False,
                     lang=extra["langs"][0] if len(extra["langs"]) == 1 else None)  # several: no one language

