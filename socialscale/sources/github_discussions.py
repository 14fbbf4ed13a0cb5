"""GitHub Discussions for `type: github` with `discussions: true`, read from the GraphQL API.

Discussions exist only in GitHub's GraphQL API: `POST {api_url}/graphql`, which refuses anonymous
requests, so without a token this is a note, not an error. Each page is one `search(type:
DISCUSSION)` for `<query> repo:<repo> updated:>=<time> sort:updated-asc`, every discussion with its
first comments and their threaded replies. The bound is *updated*, not created, because a new
comment updates its discussion: a discussion a team member answers after it was first pulled comes
back with the answer. Oldest change first, so a pull cut short by `max_pages` continues next time.
Things created before the source's first pull (less `backfill`) are not stored: an old discussion
that gets a new comment brings the comment, not a years-old backlog item.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from socialscale.errors import FetchError
from socialscale.fetch import parse_retry_after
from socialscale.insight import reach
from socialscale.models import Item
from socialscale.sources import api
from socialscale.sources.base import make_item
from socialscale.sources.github_api import call, since_bound
from socialscale.text import redact_url
from socialscale.timeutil import parse_iso, utc_iso

PAGE = 25  # discussions per request; with their comments and replies well inside GitHub's node limit
COMMENTS = 50  # the first comments of each discussion: where the first answer is
REPLIES = 20  # threaded replies read under each of those comments
LIMIT_WAIT_S = 60.0  # GitHub: "otherwise, wait for at least one minute before retrying"

_AUTHORED = "url bodyText createdAt author { login }"
QUERY = f"""query($q: String!, $first: Int!, $after: String, $comments: Int!, $replies: Int!) {{
  rateLimit {{ cost remaining resetAt }}
  search(type: DISCUSSION, query: $q, first: $first, after: $after) {{
    discussionCount
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      ... on Discussion {{
        id number title updatedAt upvoteCount {_AUTHORED}
        category {{ name }}
        repository {{ nameWithOwner }}
        comments(first: $comments) {{
          totalCount
          nodes {{
            id isAnswer upvoteCount {_AUTHORED}
            replyTo {{ url }}
            replies(first: $replies) {{ totalCount nodes {{ id {_AUTHORED} replyTo {{ url }} }} }}
          }}
        }}
      }}
    }}
  }}
}}"""


def graphql_url(base: str) -> str:
    """`{api_url}/graphql`; GitHub Enterprise Server serves REST at /api/v3 and GraphQL at /api/graphql."""
    return base[: -len("/v3")] + "/graphql" if base.endswith("/api/v3") else base + "/graphql"


async def pull(run: api.Run, base: str, token: str | None, query: Any, repo: str | None,
               stored: Any) -> dict[str, Any] | None:
    """Pull discussions into `run.items`; returns the discussion cursor to keep (None: none)."""
    prev = stored if isinstance(stored, dict) else {}
    if token is None:
        run.warn("discussions not pulled: GitHub's GraphQL API, the only one that lists discussions, "
                 "requires a token; set token_env")
        return prev or None
    origin = _origin(prev.get("origin")) or run.cutoff
    q = " ".join(x for x in (str(query) if query else None, f"repo:{repo}" if repo else None,
                              f"updated:>={since_bound(run, prev.get('updated'))}", "sort:updated-asc") if x)
    url = graphql_url(base)
    headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
    newest: str | None = None
    after: str | None = None
    cut = 0
    pages = api.max_pages(run.ctx)
    for page in range(1, pages + 1):
        variables = {"q": q, "first": PAGE, "after": after, "comments": COMMENTS, "replies": REPLIES}
        got = await _query(run, url, headers, {"query": QUERY, "variables": variables})
        if got is None:
            break
        where, data = got
        search = api.expect_dict(data.get("search"), where, "`data.search`")
        for node in api.expect_list(search.get("nodes"), where, "`data.search.nodes`"):
            cut += _collect(run, node, origin)
            updated = api.from_text(api.s(node, "updatedAt"))
            if updated and (newest is None or updated > newest):
                newest = updated
        info = api.d(search, "pageInfo")
        after = api.s(info, "endCursor")
        if info.get("hasNextPage") is not True or not after:
            break
        run.page_limit(page, pages, "the next pull continues from here", "pages of discussions")
    if cut:
        run.warn(f"{cut} discussion(s) or comment(s) had more comments or replies than are read "
                 f"({COMMENTS} comments per discussion, {REPLIES} replies per comment); the rest were not pulled")
    cursor: dict[str, Any] = {"origin": utc_iso(origin)}
    known = [x for x in (newest, prev.get("updated")) if isinstance(x, str)]
    if known:
        cursor["updated"] = max(known)  # the overlap may re-read only older changes: never step back
    return cursor


async def _query(run: api.Run, url: str, headers: dict[str, str],
                 body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """One GraphQL request: its `data`, a rate limit waited out (or None: stop), an error raised."""
    for _ in range(3):
        got = await call(run, url, None, headers, body=body)
        if got is None:
            return None
        res, doc = got
        where = redact_url(res.final_url)
        doc = api.expect_dict(doc, where, "a GraphQL response")
        errors = doc.get("errors")
        if not errors:
            data = api.expect_dict(doc.get("data"), where, "`data`")
            _budget(run, api.d(data, "rateLimit"))
            return where, data
        messages = _messages(errors)
        if not _rate_limited(errors):
            raise FetchError(api.scrub(f"{where}: GraphQL error: {'; '.join(messages) or 'unknown error'}",
                                       run.secrets))
        # A spent limit comes as HTTP 200 with an error; the headers (read by `_get`) say until when.
        if run.pending is None:
            retry_after = parse_retry_after(res.headers.get("retry-after"), run.ctx.now)
            run.limit_hit(retry_after if retry_after is not None else LIMIT_WAIT_S,
                          f"GitHub GraphQL rate limit ({messages[0] if messages else 'RATE_LIMITED'})")
    return None


def _budget(run: api.Run, rate: dict[str, Any]) -> None:
    """`rateLimit { cost remaining resetAt }`: too few points left for another page waits for the reset."""
    remaining = api.n(rate, "remaining")
    if remaining is None or remaining >= max(api.n(rate, "cost") or 1, 1) or run.pending is not None:
        return
    reset = rate.get("resetAt")
    # The schema says DateTime; the docs' table says epoch seconds: take either.
    when = _origin(reset if isinstance(reset, str) else api.from_unix(api.n(rate, "resetAt")))
    seconds = (when - run.ctx.now).total_seconds() if when else LIMIT_WAIT_S
    run.limit_hit(seconds, f"GitHub GraphQL rate limit (rateLimit.remaining is {int(remaining)})")


def _rate_limited(errors: Any) -> bool:
    found = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    return bool(found) and all(api.s(e, "type") == "RATE_LIMITED" or "rate limit" in (api.s(e, "message") or "").lower()
                               for e in found)


def _messages(errors: Any) -> list[str]:
    if not isinstance(errors, list):
        return [str(errors)[:200]]
    out = []
    for error in errors[:3]:
        text = api.s(error, "message") or api.s(error, "type")
        if text:
            out.append(" ".join(text.split())[:300])
    return out


def _origin(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_iso(value)
    except (ValueError, OverflowError):
        return None


def _collect(run: api.Run, node: Any, origin: datetime) -> int:
    """Add a discussion and its comments (those not older than `origin`); returns how many lists were cut."""
    url = api.s(node, "url")
    if not url:  # `... on Discussion` leaves other result types empty
        return 0
    source = run.ctx.source.name
    repo = api.s(api.d(node, "repository"), "nameWithOwner")
    number = api.s(node, "number")
    found = reach.counts(upvoteCount=reach.count(node, "upvoteCount"),
                         comments=reach.count(node, "comments", "totalCount"))
    extra = {"number": number, "repo": repo, "kind": "discussion", "category": api.s(api.d(node, "category"), "name"),
             "counts": found or None}
    _keep(run, origin, make_item(source, guid=url, url=url, title=api.s(node, "title") or "",
                                 text=api.s(node, "bodyText") or "", author=api.s(api.d(node, "author"), "login"),
                                 published_at=api.from_text(api.s(node, "createdAt")), extra=_present(extra),
                                 html=False, reach=reach.total(found)))
    comments = api.d(node, "comments")
    cut = _was_cut(comments)
    for comment in _nodes(comments):
        parent = _comment(run, origin, comment, url, repo, number)
        replies = api.d(comment, "replies")
        cut += _was_cut(replies)
        for reply in _nodes(replies):
            _comment(run, origin, reply, parent or url, repo, number)
    return cut


def _comment(run: api.Run, origin: datetime, node: Any, parent: str, repo: str | None,
             number: str | None) -> str | None:
    """A comment or reply: it answers what it replies to (`replyTo`), else its discussion."""
    url = api.s(node, "url")
    if not url:
        return None
    found = reach.counts(upvoteCount=reach.count(node, "upvoteCount"),
                         replies=reach.count(node, "replies", "totalCount"))
    extra = {"repo": repo, "number": number, "comment_id": api.s(node, "id"), "kind": "discussion_comment",
             "answer": True if node.get("isAnswer") is True else None, "counts": found or None}
    _keep(run, origin, make_item(run.ctx.source.name, guid=url, url=url, title="", text=api.s(node, "bodyText") or "",
                                 author=api.s(api.d(node, "author"), "login"),
                                 published_at=api.from_text(api.s(node, "createdAt")),
                                 in_reply_to=api.s(api.d(node, "replyTo"), "url") or parent, extra=_present(extra),
                                 html=False, reach=reach.total(found)))
    return url


def _present(extra: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in extra.items() if v is not None}


def _keep(run: api.Run, origin: datetime, item: Item) -> None:
    if not api.is_older(item.published_at, origin):
        run.items.append(item)


def _nodes(connection: dict[str, Any]) -> list[Any]:
    nodes = connection.get("nodes")
    return nodes if isinstance(nodes, list) else []


def _was_cut(connection: dict[str, Any]) -> int:
    total = api.n(connection, "totalCount")
    return 1 if total is not None and total > len(_nodes(connection)) else 0
