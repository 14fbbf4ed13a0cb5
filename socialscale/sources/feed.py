"""`type: feed` — RSS 0.9x/1.0/2.0, Atom and JSON Feed (YouTube channel feeds included)."""

from __future__ import annotations

from typing import Any

from socialscale.sources.base import Collected, SourceContext

OPTION_KEYS: tuple[str, ...] = ()


def validate(url: str | None, options: dict[str, Any]) -> list[tuple[str, str]]:
    return [] if url else [("url", "is required for a feed (the feed's own URL)")]


async def collect(ctx: SourceContext) -> Collected:
    url = ctx.state.get("redirected_to") or ctx.source.url
    assert url
    res = await ctx.get(url, etag=ctx.state.get("etag"), last_modified=ctx.state.get("last_modified"))
    out = Collected(http_status=res.status, etag=res.headers.get("etag"),
                    last_modified=res.headers.get("last-modified"), permanent_redirect=res.permanent_redirect,
                    waited_s=res.waited_s)
    if res.not_modified:  # a 304 costs no parsing
        out.not_modified = True
        out.etag = out.etag or ctx.state.get("etag")
        out.last_modified = out.last_modified or ctx.state.get("last_modified")
        return out
    out.items, out.warnings, scores, decided = await ctx.parse("socialscale.sources.parsing:parse_feed_scored",
                                                               res.body, ctx.source.name, res.final_url)
    out.sentiments = {(i.title, i.text, i.lang): score for i, score in zip(out.items, scores, strict=True)}
    if decided is not None:
        # Imported here: the pull has it loaded already, and other commands never get this far.
        from socialscale.rules.matcher import item_fields

        out.decided = {item_fields(i): d for i, d in zip(out.items, decided, strict=True)}
    return out
