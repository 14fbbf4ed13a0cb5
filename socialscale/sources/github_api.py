"""What `github` and `github_discussions` share: one GitHub API call that honours the rate limits, and the
time bound a pull asks from."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from socialscale.errors import FetchError
from socialscale.fetch import FetchResult, parse_retry_after
from socialscale.sources import api
from socialscale.text import redact_url
from socialscale.timeutil import parse_iso, utc_iso


def since_bound(run: api.Run, stored: Any) -> str:
    if isinstance(stored, str):
        try:
            return utc_iso(parse_iso(stored) - timedelta(seconds=api.INDEX_LAG_S))
        except ValueError:
            pass
    return utc_iso(run.cutoff)


async def call(run: api.Run, url: str, params: dict[str, Any] | None, headers: dict[str, str], *,
               body: Any = None) -> tuple[FetchResult, Any] | None:
    """One API call (a POST of `body` when given), waiting out a spent rate limit when it is short;
    None when we must stop."""
    for _ in range(3):
        if not await run.ready():
            return None
        if body is not None:
            res, doc = await run.post_json(url, body, headers=headers, error_of=error_of, accept_status=(403, 429))
        else:
            res, doc = await run.get_json(url, params=params, headers=headers, error_of=error_of,
                                          accept_status=(403, 429))
        rate_limit(run, res.headers)
        if res.status not in (403, 429):
            return res, doc
        if run.pending is None:
            retry_after = parse_retry_after(res.headers.get("retry-after"), run.ctx.now)
            if retry_after is None:  # a plain 403: no access, not a rate limit
                raise FetchError(api.scrub(f"{redact_url(res.final_url)}: HTTP {res.status} Forbidden"
                                           f"{f': {error_of(doc)}' if error_of(doc) else ''}", run.secrets))
            run.limit_hit(retry_after, "GitHub secondary rate limit (Retry-After)")
    return None


def rate_limit(run: api.Run, headers: dict[str, str]) -> None:
    remaining = headers.get("x-ratelimit-remaining")
    reset = headers.get("x-ratelimit-reset")
    if remaining is None or reset is None:
        return
    try:
        if int(remaining) > 0:
            return
        seconds = float(reset) - run.ctx.now.timestamp()
    except ValueError:
        return
    run.limit_hit(seconds, "GitHub rate limit (X-RateLimit-Remaining is 0)")


def error_of(doc: Any) -> str | None:
    message = api.s(doc, "message")
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if isinstance(errors, list):
        details = [api.s(e, "message") for e in errors[:3]]
        found = [x for x in details if x]
        if found:
            message = f"{message or 'error'}: {'; '.join(found)}"
    return message
