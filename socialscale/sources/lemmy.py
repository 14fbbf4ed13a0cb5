"""`type: lemmy` — posts and comments matching a search on one Lemmy instance (`/api/v3/search`).

`GET {instance}/api/v3/search?q=…&type_=All&sort=New&listing_type=All&page=N&limit=50` is Lemmy
0.19's search, which Lemmy 1.0 still serves through its v3 compatibility layer. Posts and
comments come newest first, each list a page of up to 50; a first pull reads back to
`backfill`, later pulls stop at the first page reaching the newest item seen.

Ids are local to the instance, so guids are `host:post:ID` and `host:comment:ID`. A comment's
`path` (`0.<ancestor ids>.<id>`) names its parent comment; a top-level comment answers its post:
a post and its comments are one conversation. Lemmy 1.0's own search (api v4: `search_term`,
`page_cursor`) is detected and reported, not guessed at.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from socialscale.errors import FetchError, ParseError
from socialscale.fetch import RateLimited
from socialscale.models import Item
from socialscale.sources import api
from socialscale.sources.base import Collected, SourceContext, make_item
from socialscale.text import redact_url
from socialscale.timeutil import utc_iso

PAGE = 50
RATE_HOLD_S = 60.0  # a rate_limit_error names no wait; the search bucket refills within minutes
OPTION_KEYS: tuple[str, ...] = (*api.COMMON_KEYS, "instance", "query", "community", "token_env")
_INSTANCE = re.compile(r"^https?://[^\s/]+/?$", re.IGNORECASE)
_AUTH_ERRORS = ("not_logged_in", "incorrect_login", "invalid_auth_token")
_V1_KEYS = ("persons", "next_page", "prev_page", "multi_communities", "search_term")


def validate(url: str | None, options: dict[str, Any]) -> list[tuple[str, str]]:
    problems = api.validate_common(options, token=True)
    instance = options.get("instance")
    if instance is None:
        problems.append(("instance", "is required (the server's address, such as https://lemmy.world)"))
    elif not (isinstance(instance, str) and _INSTANCE.match(instance)):
        problems.append(("instance", f"expected the server's address such as https://lemmy.world, got {instance!r}"))
    problems += api.require_string(options, "query", "the words to search for")
    problems += api.optional_string(options, "community")
    return problems


def _host(ctx: SourceContext) -> str:
    return (urlsplit(str(ctx.source.options["instance"])).hostname or "").lower()


@api.collector(token=True)
async def collect(run: api.Run, token: str | None) -> Collected:
    ctx = run.ctx
    opts = ctx.source.options
    host = _host(ctx)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    fp = api.fingerprint("lemmy", host, opts["query"], opts.get("community"))
    prev = run.previous(fp)
    known = prev.get("newest") if prev and isinstance(prev.get("newest"), str) else None
    stop_at = known or utc_iso(run.cutoff)
    newest = known
    url = api.base_url(ctx, str(opts["instance"])) + "/api/v3/search"
    params: dict[str, Any] = {"q": str(opts["query"]), "type_": "All", "sort": "New", "listing_type": "All",
                              "limit": PAGE}
    if opts.get("community"):
        params["community_name"] = str(opts["community"])
    pages = api.max_pages(ctx)
    for page in range(1, pages + 1):
        if not await run.ready():
            break
        try:
            res, doc = await run.get_json(url, params={**params, "page": page}, headers=headers, error_of=_error,
                                          accept_status=(400, 401, 404, 429))
        except RateLimited as exc:
            api.held_off(run, exc, "the Lemmy instance")
            break
        if res.status >= 400 and not _refused(run, res.status, doc, redact_url(res.final_url)):
            break
        where = redact_url(res.final_url)
        body = api.expect_dict(doc, where, "a SearchResponse")
        if any(k in body for k in _V1_KEYS):
            raise ParseError(f"{where}: the instance answered with Lemmy 1.0's search (api v4: search_term, "
                             "page_cursor); this source reads the Lemmy 0.19 search (/api/v3/search), which "
                             "Lemmy 1.0 also serves unless its admin turned it off")
        posts = api.expect_list(body.get("posts"), where, "`posts`")
        comments = api.expect_list(body.get("comments"), where, "`comments`")
        more = False
        for views, to_item in ((posts, _post), (comments, _comment)):
            found = [i for i in (to_item(ctx.source.name, v, host) for v in views) if i is not None]
            # Each list is newest first: another page is worth asking for while this one was full and new.
            more = more or (len(views) == PAGE and all(not i.published_at or i.published_at > stop_at for i in found))
            newest = _keep(run, found, stop_at, known, newest)
        if not more:
            break
        run.page_limit(page, pages, "older posts and comments were not fetched")
    cursor: dict[str, Any] = {"query": fp}
    if newest:
        cursor["newest"] = newest
    return run.finish(cursor)


def _keep(run: api.Run, found: list[Item], stop_at: str, known: str | None, newest: str | None) -> str | None:
    """Add the items to the run (on a first pull, not those older than the backfill); the newest time so far."""
    for item in found:
        if known is None and item.published_at and item.published_at <= stop_at:
            continue  # older than the backfill
        run.items.append(item)
        if item.published_at and (newest is None or item.published_at > newest):
            newest = item.published_at
    return newest


def _refused(run: api.Run, status: int, doc: Any, where: str) -> bool:
    """An error answer: a rate limit is remembered (False: stop here); the rest raise one clear line."""
    code = api.s(doc, "error")
    if status == 429 or code == "rate_limit_error":
        run.hold(RATE_HOLD_S)
        run.warn(f"Lemmy rate limit (rate_limit_error); stopped here, the next pull continues after "
                 f"{utc_iso(run.not_before or run.ctx.now)}")
        return False
    if code in _AUTH_ERRORS or status == 401:
        name = run.ctx.source.options.get("token_env")
        hint = f"check the token in {name} (token_env)" if name else "the instance wants a login (token_env)"
        raise FetchError(f"the Lemmy instance refused the search ({code or f'HTTP {status}'}): {hint}")
    if status == 404:
        raise FetchError(f"{where}: HTTP 404: this instance has no Lemmy 0.19 search (/api/v3/search); a Lemmy 1.0 "
                         "server without the v3 API (search_term, page_cursor) is not supported yet")
    raise FetchError(api.scrub(f"{where}: HTTP {status}: {code or 'no reason given'}", run.secrets))


def _error(doc: Any) -> str | None:
    return api.s(doc, "error") or api.s(doc, "message")


def _author(creator: Any) -> str | None:
    """`name@host` from the person's actor id, so people of other instances are told apart."""
    name = api.s(creator, "name")
    host = urlsplit(api.s(creator, "actor_id") or "").hostname
    return f"{name}@{host.lower()}" if name and host else name


def _counts(view: Any, replies: str) -> dict[str, Any]:
    """Score and replies as the attention counts; up- and downvotes beside them."""
    counts = api.d(view, "counts")
    return {"counts": api.counts(score=api.n(counts, "score"), reply_count=api.n(counts, replies)),
            "upvote_count": _whole(api.n(counts, "upvotes")), "downvote_count": _whole(api.n(counts, "downvotes"))}


def _whole(value: float | None) -> int | None:
    return int(value) if value is not None else None


def _post(source: str, view: Any, host: str) -> Item | None:
    post = api.d(view, "post")
    post_id = api.s(post, "id")
    if not post_id:
        return None
    extra: dict[str, Any] = {"post_id": post_id, "community": api.s(api.d(view, "community"), "name"),
                             "link": api.s(post, "url"), "ap_id": api.s(post, "ap_id"),
                             **_counts(view, "comments")}
    return make_item(source, guid=f"{host}:post:{post_id}", url=api.s(post, "ap_id"), title=api.s(post, "name") or "",
                     text=api.s(post, "body") or "", author=_author(api.d(view, "creator")),
                     published_at=api.from_text(api.s(post, "published")),
                     extra={k: v for k, v in extra.items() if v not in (None, "")}, html=False)


def _comment(source: str, view: Any, host: str) -> Item | None:
    comment = api.d(view, "comment")
    comment_id, post_id = api.s(comment, "id"), api.s(comment, "post_id")
    if not comment_id or not post_id:
        return None
    path = [p for p in (api.s(comment, "path") or "").split(".") if p.isdigit()]
    # path is 0, the ancestors, then the comment itself: the one before it is the parent.
    parent = f"{host}:comment:{path[-2]}" if len(path) >= 3 and path[-1] == comment_id else f"{host}:post:{post_id}"
    extra: dict[str, Any] = {"comment_id": comment_id, "post_id": post_id, "path": api.s(comment, "path"),
                             "post_title": api.s(api.d(view, "post"), "name"),
                             "community": api.s(api.d(view, "community"), "name"), "ap_id": api.s(comment, "ap_id"),
                             **_counts(view, "child_count")}
    return make_item(source, guid=f"{host}:comment:{comment_id}", url=api.s(comment, "ap_id"),
                     text=api.s(comment, "content") or "", author=_author(api.d(view, "creator")),
                     published_at=api.from_text(api.s(comment, "published")), in_reply_to=parent,
                     extra={k: v for k, v in extra.items() if v not in (None, "")}, html=False)
