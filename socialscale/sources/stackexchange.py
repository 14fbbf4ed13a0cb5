"""`type: stackexchange` — questions from one Stack Exchange site via `/search/advanced`.

Questions are asked for oldest first from a `fromdate`: the newest creation date seen (less a few
minutes for the search index), or `backfill:` ago on a first pull. So a pull cut short by
max_pages or a rate limit leaves no gap: the next one continues where it stopped.
Every answer carries `quota_remaining` and sometimes `backoff` (seconds to leave the method
alone); both are honoured, and a throttle error becomes a remembered wait, not a failure.
"""

from __future__ import annotations

import re
from typing import Any

from socialscale.errors import FetchError
from socialscale.insight import reach
from socialscale.models import Item
from socialscale.sources import api
from socialscale.sources.base import Collected, make_item
from socialscale.text import redact_url

DEFAULT_API = "https://api.stackexchange.com/2.3"
PAGE = 100
LOW_QUOTA = 20
OPTION_KEYS: tuple[str, ...] = (*api.COMMON_KEYS, "site", "query", "tagged", "key", "token_env")
_THROTTLE_IDS = {502}  # throttle_violation; its message says how long until requests are allowed again
_SECONDS = re.compile(r"(\d+)\s*seconds")


def validate(url: str | None, options: dict[str, Any]) -> list[tuple[str, str]]:
    problems = api.validate_common(options, token=True)
    problems += api.require_string(options, "site", "the site's API name, such as stackoverflow or superuser")
    problems += api.optional_string(options, "query") + api.optional_string(options, "key")
    tagged = options.get("tagged")
    if tagged is not None and not (isinstance(tagged, str) or
                                   (isinstance(tagged, list) and all(isinstance(x, str) for x in tagged))):
        problems.append(("tagged", "expected a tag or a list of tags"))
    if not options.get("query") and not tagged:
        problems.append(("query", "is required (the words to search for), unless `tagged` is given"))
    if options.get("token_env") and not options.get("key"):
        problems.append(("key", "is required with token_env (Stack Exchange only accepts an access token "
                                "together with the app's key)"))
    return problems


def _tagged(value: Any) -> str | None:
    if not value:
        return None
    return ";".join(value) if isinstance(value, list) else str(value)


@api.collector(token=True)
async def collect(run: api.Run, token: str | None) -> Collected:
    ctx = run.ctx
    opts = ctx.source.options
    site, query, tagged = str(opts["site"]), opts.get("query"), _tagged(opts.get("tagged"))
    fp = api.fingerprint("stackexchange", site, query, tagged)
    prev = run.previous(fp)
    newest = int(prev["creation_date"]) if prev and isinstance(prev.get("creation_date"), int) else None
    fromdate = newest - api.INDEX_LAG_S if newest is not None else int(run.cutoff.timestamp())
    params = _params(opts, site, fromdate, token)
    url = api.base_url(ctx, DEFAULT_API) + "/search/advanced"
    pages = api.max_pages(ctx)
    for page in range(1, pages + 1):
        if not await run.ready():
            break
        res, doc = await run.get_json(url, params={**params, "page": page}, error_of=_error,
                                      accept_status=(400,))
        where = redact_url(res.final_url)
        body = api.expect_dict(doc, where, "a Stack Exchange response wrapper")
        if res.status >= 400 or body.get("error_id") is not None:
            if not _throttled(run, body):
                raise FetchError(api.scrub(f"{where}: HTTP {res.status}: {_error(body)}", run.secrets))
            break
        newest = _keep_items(run, api.expect_list(body.get("items"), where, "`items`"), site, newest)
        _quota(run, body)
        if not body.get("has_more"):
            break
        run.page_limit(page, pages, "the next pull continues from here")
    cursor: dict[str, Any] = {"query": fp}
    if newest is not None:
        cursor["creation_date"] = newest
    return run.finish(cursor)


def _params(opts: dict[str, Any], site: str, fromdate: int, token: str | None) -> dict[str, Any]:
    query, tagged = opts.get("query"), _tagged(opts.get("tagged"))
    params: dict[str, Any] = {"site": site, "sort": "creation", "order": "asc", "fromdate": fromdate,
                              "pagesize": PAGE, "filter": "withbody"}
    if query:
        params["q"] = str(query)
    if tagged:
        params["tagged"] = tagged
    if opts.get("key"):
        params["key"] = str(opts["key"])
    if token:
        params["access_token"] = token
    return params


def _keep_items(run: api.Run, entries: list[Any], site: str, newest: int | None) -> int | None:
    """Add the page's questions to the run; the newest creation time seen so far."""
    for entry in entries:
        item = _item(run.ctx.source.name, entry, site)
        if item is None:
            continue
        run.items.append(item)
        stamp = api.n(entry, "creation_date")
        if stamp is not None and (newest is None or stamp > newest):
            newest = int(stamp)
    return newest


def _quota(run: api.Run, body: dict[str, Any]) -> None:
    backoff = api.n(body, "backoff")
    remaining = api.n(body, "quota_remaining")
    if backoff:
        run.limit_hit(backoff, "Stack Exchange backoff")
    if remaining is not None and remaining <= 0:
        run.warn("Stack Exchange daily quota used up (quota_remaining is 0); it resets at midnight UTC")
        run.limit_hit(_seconds_to_utc_midnight(run), "Stack Exchange daily quota used up (quota_remaining is 0)")
    elif remaining is not None and remaining < LOW_QUOTA and not any("quota" in w for w in run.warnings):
        run.warn(f"Stack Exchange quota nearly used up: {int(remaining)} requests left today "
                 "(a `key:` raises the daily quota)")


def _seconds_to_utc_midnight(run: api.Run) -> float:
    now = run.ctx.now
    return float(86400 - (now.hour * 3600 + now.minute * 60 + now.second))


def _throttled(run: api.Run, body: dict[str, Any]) -> bool:
    """A throttle error: remember the wait it names (or a minute) and end this pull quietly."""
    error_id = api.n(body, "error_id")
    if error_id is None or int(error_id) not in _THROTTLE_IDS:
        return False
    match = _SECONDS.search(api.s(body, "error_message") or "")
    seconds = float(match.group(1)) if match else 60.0
    run.hold(seconds)
    run.warn(f"Stack Exchange throttled this client ({_error(body)}); not asking again before the wait is over")
    return True


def _error(doc: Any) -> str | None:
    name, message = api.s(doc, "error_name"), api.s(doc, "error_message")
    error_id = api.s(doc, "error_id")
    if not (name or message):
        return None
    return " ".join(x for x in (f"error {error_id}" if error_id else None, name, f"({message})" if message else None)
                    if x)


def _item(source: str, entry: Any, site: str) -> Item | None:
    question_id = api.s(entry, "question_id")
    if not question_id:
        return None
    owner = api.d(entry, "owner")
    tags = entry.get("tags") if isinstance(entry.get("tags"), list) else []
    extra: dict[str, Any] = {"site": site, "question_id": question_id,
                             "tags": [t for t in tags[:50] if isinstance(t, str)],
                             "author_id": api.s(owner, "user_id"),
                             "counts": reach.counts(score=reach.count(entry, "score"),
                                                    answer_count=reach.count(entry, "answer_count"),
                                                    view_count=reach.count(entry, "view_count")) or None}
    return make_item(source, guid=question_id, url=api.s(entry, "link"), title=api.s(entry, "title") or "",
                     text=api.s(entry, "body") or "", author=api.s(owner, "display_name"),
                     published_at=api.from_unix(api.n(entry, "creation_date")),
                     extra={k: v for k, v in extra.items() if v not in (None, "", [])},
                     reach=reach.total(extra["counts"] or {}))
