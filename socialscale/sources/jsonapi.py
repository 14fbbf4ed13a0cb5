"""`type: json` — any other JSON endpoint, mapped to Items with dotted paths.

`items:` is the path to the list (empty for a top-level list), `fields:` maps guid, url, title,
author, text, published_at, in_reply_to, reach (a number) and lang to paths inside each element, and `next:` (optional)
is the path to the next page: a URL (followed only on the same origin, so a token never leaves
it) or a token sent back as `next_param`. The cursor is the newest published_at seen: paging
stops at a page with nothing newer, items older than `backfill:` are skipped on a first pull, and
`since_param` (optional) sends the cursor to APIs that can filter by time.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

from socialscale.errors import ParseError
from socialscale.insight import reach
from socialscale.models import Item
from socialscale.sources import api
from socialscale.sources.base import Collected, SourceContext, make_item
from socialscale.text import redact_url
from socialscale.timeutil import parse_iso, utc_iso

FIELDS = ("guid", "url", "title", "author", "text", "published_at", "in_reply_to", "reach", "lang")
SINCE_FORMATS = ("iso", "unix")
OPTION_KEYS: tuple[str, ...] = (*api.COMMON_KEYS, "items", "fields", "next", "next_param", "since_param",
                                "since_format", "html", "token_env", "token_header")
_PATH = re.compile(r"^[^\s]*$")
_HEADER = re.compile(r"^[A-Za-z0-9-]+$")


def validate(url: str | None, options: dict[str, Any]) -> list[tuple[str, str]]:
    problems = api.validate_common(options, token=True)
    if not url:
        problems.append(("url", "is required for a json source (the endpoint's URL)"))
    items = options.get("items")
    if items is not None and not (isinstance(items, str) and _PATH.match(items)):
        problems.append(("items", f"expected a dotted path such as data.results, got {items!r}"))
    problems += _validate_fields(options.get("fields"))
    for key in ("next", "next_param", "since_param"):
        problems += api.optional_string(options, key)
    if options.get("since_format") not in (None, *SINCE_FORMATS):
        problems.append(("since_format", f"expected one of {', '.join(SINCE_FORMATS)}"))
    if options.get("html") not in (None, True, False):
        problems.append(("html", "expected true or false"))
    header = options.get("token_header")
    if header is not None and not (isinstance(header, str) and _HEADER.match(header)):
        problems.append(("token_header", f"expected an HTTP header name such as X-Api-Key, got {header!r}"))
    if header and not options.get("token_env"):
        problems.append(("token_header", "needs token_env (the variable holding the token)"))
    return problems


def _validate_fields(fields: Any) -> list[tuple[str, str]]:
    if not isinstance(fields, dict) or not fields:
        return [("fields", "is required: a mapping of item fields to dotted paths, e.g. {guid: id, "
                           "title: title, published_at: created}")]
    problems = []
    for key, path in fields.items():
        if key not in FIELDS:
            problems.append((f"fields.{key}", f"unknown field (expected one of: {', '.join(FIELDS)})"))
        elif not isinstance(path, str) or not path.strip():
            problems.append((f"fields.{key}", f"expected a dotted path, got {path!r}"))
    if not any(k in fields for k in ("guid", "url")):
        problems.append(("fields.guid", "give a path for guid (or at least url) so items can be told apart"))
    return problems


def dig(value: Any, path: str) -> Any:
    """The value at a dotted path (`data.items`, `results.0.id`); None when any step is missing."""
    for step in (p for p in path.split(".") if p != ""):
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and step.lstrip("-").isdigit():
            index = int(step)
            value = value[index] if -len(value) <= index < len(value) else None
        else:
            return None
    return value


def _endpoint(ctx: SourceContext) -> str:
    url = str(ctx.source.url)
    override = ctx.source.options.get("api_url")
    if not override:
        return url
    parts, base = urlsplit(url), urlsplit(str(override).rstrip("/"))
    return urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query, ""))


@api.collector(token=True)
async def collect(run: api.Run, token: str | None) -> Collected:
    ctx = run.ctx
    opts = ctx.source.options
    headers: dict[str, str] = {"Accept": "application/json"}
    if token:
        header = opts.get("token_header")
        headers[str(header) if header else "Authorization"] = token if header else f"Bearer {token}"
    url = _endpoint(ctx)
    fp = api.fingerprint("json", url, opts.get("items"), opts.get("fields"), opts.get("next"))
    prev = run.previous(fp) or {}
    known = prev.get("newest") if isinstance(prev.get("newest"), str) else None
    floor = known or utc_iso(run.cutoff)
    params: dict[str, Any] = {}
    if opts.get("since_param") and known:
        stamp = parse_iso(known) - timedelta(seconds=api.INDEX_LAG_S)
        params[str(opts["since_param"])] = (int(stamp.timestamp()) if opts.get("since_format") == "unix"
                                            else utc_iso(stamp))
    newest = known
    target: str | None = url
    pages = api.max_pages(ctx)
    for page in range(1, pages + 1):
        assert target is not None
        bare, merged = _split(target, params)
        res, doc = await run.get_json(bare, params=merged or None, headers=headers,
                                      error_of=lambda d: api.s(d, "message") or api.s(d, "error"))
        where = redact_url(res.final_url)
        listed = dig(doc, str(opts.get("items") or ""))
        entries = api.expect_list(listed, where, f"a list at `items: {opts.get('items') or '(top level)'}`")
        fresh = 0
        for entry in entries:
            item = _item(ctx.source.name, entry, opts, where)
            if item is None:
                continue
            if item.published_at and item.published_at < floor and not known:
                continue  # older than the backfill on a first pull
            if item.published_at is None or item.published_at > floor:
                fresh += 1
            run.items.append(item)
            if item.published_at and (newest is None or item.published_at > newest):
                newest = item.published_at
        target, params = _next(run, doc, opts, url, res.final_url, params)
        if target is None or not entries or fresh == 0:
            break
        if page == pages:
            run.warn(f"stopped after {pages} pages (max_pages)")
    cursor: dict[str, Any] = {"query": fp}
    if newest:
        cursor["newest"] = newest
    return run.finish(cursor)


def _split(url: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The URL without its query, and its query merged with `params` (httpx would drop one of them)."""
    parts = urlsplit(url)
    merged: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
    merged.update(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), merged


def _next(run: api.Run, doc: Any, opts: dict[str, Any], origin: str, current: str,
          params: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    path = opts.get("next")
    if not path:
        return None, params
    value = dig(doc, str(path))
    if value in (None, "", False) or isinstance(value, (dict, list)):
        return None, params
    text = str(value)
    if text.startswith(("http://", "https://", "/")):
        target = urljoin(current, text)
        if not api.same_origin(target, origin):
            run.warn(f"not following the next page on another host ({redact_url(target)})")
            return None, params
        return target, {}
    return origin, {**params, str(opts.get("next_param") or "cursor"): text}


def _item(source: str, entry: Any, opts: dict[str, Any], where: str) -> Item | None:
    if not isinstance(entry, dict):
        return None
    fields: dict[str, str] = opts["fields"]

    def get(key: str) -> Any:
        value = dig(entry, fields[key]) if key in fields else None
        if isinstance(value, (dict, list)):
            raise ParseError(f"{where}: fields.{key} ({fields[key]}) points at {'an object' if isinstance(value, dict) else 'a list'}, "
                             "not a value")
        return value

    when = get("published_at")
    if isinstance(when, bool):
        when = None
    if isinstance(when, (int, float)) or (isinstance(when, str) and when.strip().isdigit()):
        stamp = float(when)
        published = api.from_unix(stamp / 1000 if stamp > 1e11 else stamp)  # milliseconds are common too
    else:
        published = api.from_text(str(when)) if when else None
    guid, url = get("guid"), get("url")
    if guid in (None, "") and url in (None, ""):
        return None
    return make_item(source, guid=guid if guid not in (None, "") else url, url=url if isinstance(url, str) else None,
                     title=get("title") or "", text=get("text") or "", author=get("author"),
                     published_at=published, in_reply_to=get("in_reply_to"), html=opts.get("html", True) is not False,
                     lang=get("lang"), reach=reach.count({"n": get("reach")}, "n"))
