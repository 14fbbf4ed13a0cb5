"""`type: mastodon` — a hashtag, an account, a search or your notifications on one instance.

Statuses come newest first. A first pull pages back (`max_id`) until `backfill:`; later pulls ask
with `min_id=<newest id seen>` for the statuses just newer, then page forward. Page positions are
read from the Link header's ids, but the next request is always built on our own base URL, so a
token is never sent to a host named in a response.

Status ids are local to the instance, so guids are `host:id` and a reply's in_reply_to is
`host:in_reply_to_id`: a reply and its parent pulled from the same instance link up.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from socialscale.errors import ParseError
from socialscale.insight import reach
from socialscale.models import Item
from socialscale.sources import api
from socialscale.sources.base import Collected, SourceContext, make_item
from socialscale.text import http_url_problem, redact_url
from socialscale.timeutil import parse_iso

PAGE = 40
MODES = ("tag", "account", "search", "notifications")
NEED_TOKEN = ("search", "notifications")
OPTION_KEYS: tuple[str, ...] = (*api.COMMON_KEYS, "instance", *MODES, "local", "token_env")
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([a-z]+)"?', re.IGNORECASE)


def validate(url: str | None, options: dict[str, Any]) -> list[tuple[str, str]]:
    problems = api.validate_common(options, token=True)
    instance = options.get("instance")
    if instance is None:
        problems.append(("instance", "is required (the server's address, such as https://mastodon.social)"))
    elif not (isinstance(instance, str) and re.match(r"^https?://[^\s/]+/?$", instance, re.IGNORECASE)
              and http_url_problem(instance) is None):
        problems.append(("instance", f"expected the server's address such as https://mastodon.social, got {instance!r}"))
    chosen = [m for m in MODES if options.get(m) not in (None, False)]
    if len(chosen) != 1:
        problems.append(("tag", f"give exactly one of {', '.join(MODES)} (got {', '.join(chosen) or 'none'})"))
    for mode in ("tag", "account", "search"):
        problems += api.optional_string(options, mode)
    if options.get("notifications") not in (None, True, False):
        problems.append(("notifications", "expected true or false"))
    if options.get("local") not in (None, True, False):
        problems.append(("local", "expected true or false"))
    for mode in NEED_TOKEN:
        if options.get(mode) and not options.get("token_env"):
            problems.append(("token_env", f"is required for `{mode}` (the API only answers it with a token)"))
    return problems


def _mode(options: dict[str, Any]) -> str:
    return next(m for m in MODES if options.get(m) not in (None, False))


def _host(ctx: SourceContext) -> str:
    return (urlsplit(str(ctx.source.options["instance"])).hostname or "").lower()


@api.collector(token=True)
async def collect(run: api.Run, token: str | None) -> Collected:
    ctx = run.ctx
    opts = ctx.source.options
    mode = _mode(opts)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    base = api.base_url(ctx, str(opts["instance"]))
    fp = api.fingerprint("mastodon", mode, opts.get(mode), opts.get("local"), _host(ctx))
    prev = run.previous(fp) or {}
    cursor: dict[str, Any] = {"query": fp}
    url, params = base, {"limit": str(PAGE)}
    if mode == "tag":
        url += "/api/v1/timelines/tag/" + quote(str(opts["tag"]).lstrip("#"), safe="")
        if opts.get("local"):
            params["local"] = "true"
    elif mode == "account":
        account_id = prev.get("account_id") if isinstance(prev.get("account_id"), str) else None
        if not account_id:
            account_id = await _lookup(run, base, headers, str(opts["account"]))
        cursor["account_id"] = account_id
        url += f"/api/v1/accounts/{quote(account_id, safe='')}/statuses"
        params["exclude_reblogs"] = "true"
    elif mode == "search":
        url += "/api/v2/search"
        params.update(q=str(opts["search"]), type="statuses", resolve="false")
    else:
        url += "/api/v1/notifications"
        params["types[]"] = "mention"
    walker = _Walker(run, url, params, headers, _host(ctx), mode)
    since = prev.get("min_id") if isinstance(prev.get("min_id"), str) else None
    if since:
        walker.newest = since
        await walker.forward(since)
    else:
        await walker.back(run.cutoff)
    if walker.newest:
        cursor["min_id"] = walker.newest
    return run.finish(cursor)


async def _lookup(run: api.Run, base: str, headers: dict[str, str], account: str) -> str:
    acct = account.strip().lstrip("@")
    res, doc = await run.get_json(base + "/api/v1/accounts/lookup", params={"acct": acct}, headers=headers,
                                  error_of=_error)
    found = api.s(api.expect_dict(doc, redact_url(res.final_url), "an Account"), "id")
    if not found:
        raise ParseError(f"{redact_url(res.final_url)}: the account lookup for {acct!r} returned no id")
    return found


def _id_key(value: str) -> tuple[int, str]:
    """Mastodon ids are numeric strings of varying length: compare by length, then text."""
    return (len(value), value)


class _Walker:
    def __init__(self, run: api.Run, url: str, params: dict[str, Any], headers: dict[str, str], host: str,
                 mode: str) -> None:
        self.run, self.url, self.params, self.headers, self.host, self.mode = run, url, params, headers, host, mode
        self.newest: str | None = None
        self.pages = api.max_pages(run.ctx)

    async def page(self, extra: dict[str, str]) -> tuple[list[tuple[str, Item | None]], dict[str, str]] | None:
        """(page id, item) pairs and the Link header's next/prev ids; None when a rate limit stops us."""
        if not await self.run.ready():
            return None
        res, doc = await self.run.get_json(self.url, params={**self.params, **extra}, headers=self.headers,
                                           error_of=_error)
        where = redact_url(res.final_url)
        if self.mode == "search":
            entries = api.expect_list(api.expect_dict(doc, where, "search results").get("statuses"), where,
                                      "`statuses`")
        else:
            entries = api.expect_list(doc, where, "a list of statuses")
        out: list[tuple[str, Item | None]] = []
        for entry in entries:
            entry_id = api.s(entry, "id")
            if not entry_id:
                continue
            status = api.d(entry, "status") if self.mode == "notifications" else entry
            out.append((entry_id, _item(self.run.ctx.source.name, status, self.host) if status else None))
        _rate_limit(self.run, res.headers)
        return out, _links(res.headers.get("link", ""))

    def keep(self, entries: list[tuple[str, Item | None]]) -> None:
        for entry_id, item in entries:
            if self.newest is None or _id_key(entry_id) > _id_key(self.newest):
                self.newest = entry_id
            if item is not None:
                self.run.items.append(item)

    async def forward(self, since: str) -> None:
        min_id = since
        for count in range(1, self.pages + 1):
            got = await self.page({"min_id": min_id})
            if got is None:
                return
            entries, links = got
            self.keep(entries)
            if len(entries) < PAGE:  # a short page: nothing newer yet
                return
            following = links.get("prev") or max((e for e, _ in entries), key=_id_key)
            if _id_key(following) <= _id_key(min_id):
                return
            self.run.page_limit(count, self.pages, "the next pull continues from here")
            min_id = following

    async def back(self, cutoff: datetime) -> None:
        max_id: str | None = None
        for count in range(1, self.pages + 1):
            got = await self.page({"max_id": max_id} if max_id else {})
            if got is None:
                return
            entries, links = got
            fresh = [(e, i) for e, i in entries if i is None or not api.is_older(i.published_at, cutoff)]
            self.keep(fresh)
            if len(entries) < PAGE or len(fresh) < len(entries):  # the end, or back past the backfill
                return
            following = links.get("next") or min((e for e, _ in entries), key=_id_key)
            if max_id is not None and _id_key(following) >= _id_key(max_id):
                return
            self.run.page_limit(count, self.pages, "older statuses within backfill were not fetched")
            max_id = following


def _links(header: str) -> dict[str, str]:
    """The id a Link header's next (max_id) and prev (min_id or since_id) page would start from."""
    out: dict[str, str] = {}
    for target, rel in _LINK.findall(header or ""):
        try:
            query = parse_qs(urlsplit(target).query)
        except ValueError:
            continue
        key = "max_id" if rel.lower() == "next" else "min_id"
        values = query.get(key) or (query.get("since_id") if key == "min_id" else None)
        if values and values[0]:
            out[rel.lower()] = values[0]
    return out


def _rate_limit(run: api.Run, headers: dict[str, str]) -> None:
    """Mastodon's X-RateLimit-Remaining and X-RateLimit-Reset (an ISO 8601 time)."""
    remaining = headers.get("x-ratelimit-remaining")
    if remaining is None:
        return
    try:
        if float(remaining) >= 1:
            return
        reset = parse_iso(headers.get("x-ratelimit-reset", ""))
    except ValueError:
        return
    run.limit_hit((reset - run.ctx.now).total_seconds(), "Mastodon rate limit (X-RateLimit-Remaining is 0)")


def _error(doc: Any) -> str | None:
    return api.s(doc, "error_description") or api.s(doc, "error")


def _item(source: str, status: dict[str, Any], host: str) -> Item | None:
    status_id = api.s(status, "id")
    if not status_id or status.get("reblog"):
        return None
    account = api.d(status, "account")
    acct = api.s(account, "acct") or api.s(account, "username")
    author = None
    if acct:
        author = "@" + (acct if "@" in acct else f"{acct}@{host}")
    parent = api.s(status, "in_reply_to_id")
    extra: dict[str, Any] = {"id": status_id, "uri": api.s(status, "uri"), "instance": host,
                             "display_name": api.s(account, "display_name"),
                             "in_reply_to_id": parent, "in_reply_to_account_id": api.s(status, "in_reply_to_account_id"),
                             "visibility": api.s(status, "visibility"), "language": api.s(status, "language")}
    extra["counts"] = reach.counts(favourites_count=reach.count(status, "favourites_count"),
                                   reblogs_count=reach.count(status, "reblogs_count"),
                                   replies_count=reach.count(status, "replies_count"),
                                   followers_count=reach.count(account, "followers_count")) or None
    tags = status.get("tags")
    if isinstance(tags, list):
        names = [api.s(t, "name") for t in tags[:50]]
        extra["tags"] = [x for x in names if x]
    return make_item(source, guid=f"{host}:{status_id}", url=api.s(status, "url") or api.s(status, "uri"),
                     title=api.s(status, "spoiler_text") or "", text=api.s(status, "content") or "",
                     author=author, published_at=api.from_text(api.s(status, "created_at")),
                     in_reply_to=f"{host}:{parent}" if parent else None,
                     extra={k: v for k, v in extra.items() if v not in (None, "", [])}, lang=api.s(status, "language"),
                     reach=reach.total(extra["counts"] or {}))
